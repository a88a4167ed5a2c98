"""The input sets the minimality and diversity searches compare programs on (`predictor.search`).

Without task inputs: every input over the vocabulary at the short lengths (while there are at most
`EXHAUSTIVE_INPUTS` of them), then `SAMPLES_PER_LENGTH` inputs drawn with a fixed seed at each
longer length, every output position compared. With a `TaskInputs` (a task's inputs as training
frames them, `predictor.tasks.inputs_of`): `SAMPLES_PER_LENGTH` framed sequences per sampler size,
and only the positions whose output the task reads are compared (for an autoregressive task, from
the end of the prompt on: the separator predicts the first output token).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from rasp.language.inputs import sample_inputs

EXHAUSTIVE_INPUTS = 1000  # every input of a length while the set holds at most this many
SAMPLES_PER_LENGTH = 16  # random inputs at each length past the exhaustive ones
SHORT_LENGTHS = 12  # a length range is covered in full for this many lengths...
SPREAD_LENGTHS = 4  # ...then at this many lengths spread up to its end


@dataclass(frozen=True)
class TaskInputs:
    """Where a search draws its inputs instead of the whole vocabulary: `draw(rng, size, count)`
    gives `count` sequences of one sampler size, each with the first position whose output counts."""

    name: str  # said in the report: "the copy_unique task's inputs"
    draw: Callable[[random.Random, int, int], list[tuple[list[Any], int]]]
    max_size: int | None = None  # the largest size the sampler can draw (None: no limit)


@dataclass(frozen=True)
class InputSet:
    """Token sequences, for each the first position whose output is compared, and the size it was
    drawn at (its length, without a domain)."""

    tokens: list[list[Any]]
    reads: list[int]
    sizes: list[int]

    def __add__(self, other: InputSet) -> InputSet:
        return InputSet(self.tokens + other.tokens, self.reads + other.reads, self.sizes + other.sizes)

    def pick(self, numbers: list[int]) -> InputSet:
        """These sequences (by their places in the set), in this order."""
        return InputSet([self.tokens[i] for i in numbers], [self.reads[i] for i in numbers],
                        [self.sizes[i] for i in numbers])

    def at(self, size: int) -> InputSet:
        """The sequences drawn at this size."""
        return self.pick([i for i, s in enumerate(self.sizes) if s == size])


def spread(first: int, last: int, full: int = SHORT_LENGTHS, more: int = SPREAD_LENGTHS) -> list[int]:
    """Lengths from first to last: the first `full` of them, then `more` spread up to `last`."""
    if last - first + 1 <= full + more:
        return list(range(first, last + 1))
    rest = np.linspace(first + full, last, more).round().astype(int).tolist()
    return sorted(set(range(first, first + full)) | set(rest))


def inputs_at(vocab: list[Any], lengths: Iterable[int], distinct: bool, rng: random.Random) -> list[list[Any]]:
    """Every input at each length while the count stays within EXHAUSTIVE_INPUTS, then
    SAMPLES_PER_LENGTH random ones per length (distinct tokens when asked)."""
    out: list[list[Any]] = []
    exhaustive = True
    for n in lengths:
        if distinct and n > len(vocab):
            break
        count = math.perm(len(vocab), n) if distinct else len(vocab) ** n
        if exhaustive and len(out) + count <= EXHAUSTIVE_INPUTS:
            every = itertools.permutations(vocab, n) if distinct else itertools.product(vocab, repeat=n)
            out += [list(t) for t in every]
        else:
            exhaustive = False
            out += sample_inputs(vocab, range(n, n + 1), SAMPLES_PER_LENGTH, distinct, rng)
    return out


def input_set(vocab: list[Any], lengths: Iterable[int], distinct: bool, rng: random.Random,
              domain: TaskInputs | None = None) -> InputSet:
    """The inputs at these lengths: over the vocabulary (`inputs_at`), or drawn from the domain."""
    if domain is None:
        tokens = inputs_at(vocab, lengths, distinct, rng)
        return InputSet(tokens, [0] * len(tokens), [len(t) for t in tokens])
    drawn = [(t, r, n) for n in lengths if domain.max_size is None or n <= domain.max_size
             for t, r in domain.draw(rng, n, SAMPLES_PER_LENGTH)]
    return InputSet([t for t, _, _ in drawn], [r for _, r, _ in drawn], [n for _, _, n in drawn])
