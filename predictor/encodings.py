"""The positional encodings a learned model can use (the schemes compared by Kazemnejad et al.,
NeurIPS 2023). Kept apart from the model so that the command line can list them without JAX."""

from __future__ import annotations

from enum import StrEnum

from grammar.errors import one_of


class PositionalEncoding(StrEnum):
    """How the model knows where a token is."""

    NOPE = "nope"  # no positional information (a causal mask still orders tokens)
    LEARNED = "learned"  # a learned absolute position table
    SINUSOIDAL = "sinusoidal"  # fixed absolute sinusoids
    ROTARY = "rotary"  # queries and keys rotated by position
    ALIBI = "alibi"  # a linear distance penalty per head
    T5 = "t5"  # learned relative-distance buckets per head


ENCODINGS = tuple(PositionalEncoding)


class Init(StrEnum):
    """How the learned model's weights start (and which of them weight decay shrinks)."""

    HAIKU = "haiku"  # haiku's defaults: Linear weights truncated normal, std 1 / sqrt(fan-in); an
    # output layer of its own with a bias; weight decay on every parameter
    GPT2 = "gpt2"  # GPT-2's (HuggingFace): every weight N(0, 0.02), the residual output projections
    # N(0, 0.02 / sqrt(2 * layers)), the output layer tied to the token embedding (no bias) where
    # the outputs are the input tokens; weight decay on matrices only (not biases, not LayerNorm)


def positional_encoding(name: str) -> PositionalEncoding:
    """The encoding a name stands for, or a SettingError that lists the known ones."""
    return one_of(PositionalEncoding, name, "positional encoding")
