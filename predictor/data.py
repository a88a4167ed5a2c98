"""Examples as arrays: token ids, labels, a loss mask, the true lengths and position offsets.

Id 0 is padding; ids 1-3 are the framing's `<bos>`, `<sep>` and `<eos>`, which no task token can
be. An autoregressive or answer example reaches the model as

    <bos> x1 .. xn <sep> y1 .. yk <eos>

(the sequences of Huang et al., ICLR 2025): the program's own separator and end token are not
shown, so the separator and the end are always distinct tokens, and the model predicts y1 at
`<sep>`, each next y, then `<eos>`. The loss and EM count those k + 1 predictions only.
Per-position examples are the input, labelled at every position.

Rows are padded at the end to a multiple of 8 (a handful of shapes, so a handful of
compilations). The output classes are every label seen when the task's examples are probed at
every train and held-out length; a label that shows up only later is encoded as -1, which no
prediction equals.

Position offsets (learned or sinusoidal positions): a training row may start at position
`offset` ~ U[0, max_len - row length] instead of 0 (Huang et al.), so that every row of the
position table is trained; evaluation always starts at 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from predictor.tasks import Example, Task, make_examples
from rasp.language.inputs import token_key as key
from rasp.language.program import Program

PAD, BOS, SEP, EOS = 0, 1, 2, 3
SPECIALS = ("<bos>", "<sep>", "<eos>")
UNKNOWN = -1


class Vocabulary:
    """Tokens <-> ids, after padding and the `reserved` special ids."""

    def __init__(self, tokens: list[Any], reserved: int = 0):
        unique: dict[tuple, Any] = {}
        for t in tokens:
            unique.setdefault(key(t), t)
        self.reserved = reserved
        self.tokens = [unique[k] for k in sorted(unique)]  # keys of one kind hold values of one type
        self.ids = {key(t): i + 1 + reserved for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens) + 1 + self.reserved

    def encode(self, tokens: list[Any]) -> list[int]:
        return [self.ids.get(key(t), UNKNOWN) for t in tokens]

    def decode(self, i: int) -> Any:
        """The token of an id (the special's name for 1-3 when reserved, None for padding)."""
        if i <= 0:
            return None
        if i <= self.reserved:
            return SPECIALS[i - 1]
        return self.tokens[i - 1 - self.reserved] if i - 1 - self.reserved < len(self.tokens) else None


@dataclass
class Encoding:
    """How a task's examples become arrays."""

    inputs: Vocabulary
    classes: Vocabulary  # per-position: the labels; autoregressive/answer: the same as inputs
    autoregressive: bool  # the model writes the output after the input (<bos> x <sep> y <eos>)
    max_len: int  # the longest row, at the longest held-out length (and so the position table)

    @classmethod
    def for_task(cls, task: Task, program: Program, per_length: int = 16) -> "Encoding":
        rng = random.Random(1)
        examples = [e for n in task.lengths for e in make_examples(task, program, n, per_length, rng)]
        inputs = [t for e in examples for t in e.input] + list(task.vocab)
        outputs = [t for e in examples for t in e.output]
        autoregressive = task.autoregressive
        longest = max(row_length(e, autoregressive) for e in examples)
        if autoregressive:
            vocab = Vocabulary(inputs + outputs, reserved=len(SPECIALS))
            return cls(vocab, vocab, True, padded(longest + 8))
        return cls(Vocabulary(inputs), Vocabulary(outputs), False, padded(longest))

    def sequence(self, e: Example) -> list[int]:
        """The whole framed sequence of an autoregressive or answer example, as ids."""
        return [BOS, *self.inputs.encode(e.input), SEP, *self.inputs.encode(e.output), EOS]

    def batch(self, examples: list[Example], length: int | None = None,
              offsets: random.Random | None = None) -> dict[str, np.ndarray]:
        """ids, labels, mask (1 where the loss and EM count), lengths and offsets, each (B, T) or
        (B,). Autoregressive rows are the framed sequence shifted by one: position i predicts
        token i + 1. With `offsets` (a generator), each row's positions start at a random offset."""
        rows = [row_length(e, self.autoregressive) for e in examples]
        t = length or padded(max(rows))
        ids = np.zeros((len(examples), t), np.int32)
        labels = np.full((len(examples), t), UNKNOWN, np.int32)
        mask = np.zeros((len(examples), t), np.float32)
        for r, e in enumerate(examples):
            if self.autoregressive:
                sequence = self.sequence(e)
                ids[r, : rows[r]] = np.maximum(sequence[:-1], PAD)
                labels[r, : rows[r]] = sequence[1:]
                mask[r, len(e.input) + 1: rows[r]] = 1
            else:
                ids[r, : rows[r]] = self.inputs.encode(e.input)
                labels[r, : rows[r]] = self.classes.encode(e.target)
                mask[r, : rows[r]] = 1
        shift = np.zeros(len(examples), np.int32)
        if offsets is not None:
            shift[:] = [offsets.randint(0, max(self.max_len - n, 0)) for n in rows]
        return {"ids": ids, "labels": labels, "mask": mask, "lengths": np.array(rows, np.int32), "offsets": shift}


def row_length(e: Example, autoregressive: bool) -> int:
    """Positions the model reads: <bos> x <sep> y (the <eos> is only predicted), or x."""
    return len(e.input) + len(e.output) + 2 if autoregressive else len(e.input)


def padded(n: int) -> int:
    return max(8, -(-n // 8) * 8)
