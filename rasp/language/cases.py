"""Which inputs a check runs on: every input, when the space of inputs is small enough to try
them all, else structured cases (the inputs random sampling tends to miss) beside random ones.
The compiler's verification and the compiled check of `rasp check` both use these.

Structured cases: at the longest length, every token at every position
(`every_token_everywhere`); for each length in the range, one sorted and one reverse-sorted input
(in the vocabulary's order) and every constant sequence (one token repeated; not for
distinct-token programs).
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Iterator

import numpy as np

EXHAUSTIVE_LIMIT = 100_000  # inputs: up to this many, every input is checked
STRUCTURED_LIMIT = 8_192  # structured cases: above this many, a seeded sample of them


def space_size(vocab_size: int, min_len: int, max_len: int, distinct: bool) -> int:
    """How many inputs there are of lengths `min_len`..`max_len` (of distinct tokens when asked)."""
    if distinct:
        return sum(math.perm(vocab_size, n) for n in range(min_len, min(max_len, vocab_size) + 1))
    return sum(vocab_size ** n for n in range(min_len, max_len + 1))


def every_input(vocab: list[Any], min_len: int, max_len: int, distinct: bool) -> Iterator[list[Any]]:
    """Every input of lengths `min_len`..`max_len`, shortest first."""
    for n in range(min_len, max_len + 1):
        chosen = itertools.permutations(vocab, n) if distinct else itertools.product(vocab, repeat=n)
        yield from (list(tokens) for tokens in chosen)


def every_token_everywhere(vocab: list[Any], length: int, distinct: bool, rng: random.Random) -> list[list[Any]]:
    """One input per token, of `length` tokens, such that every token stands at every position
    in one of them: input j holds, at position p, token (order_p + j) mod V of the vocabulary
    (order_p a random shift per position; one shift for all positions when the tokens must be
    distinct, which keeps each input's tokens distinct). V inputs instead of V x length; without
    the distinct constraint each of them is a uniformly random input."""
    size = len(vocab)
    shuffled = rng.sample(vocab, size)
    shifts = [rng.randrange(size)] * length if distinct else [rng.randrange(size) for _ in range(length)]
    if distinct:
        shifts = [shifts[0] + p for p in range(length)]
    return [[shuffled[(shifts[p] + j) % size] for p in range(length)] for j in range(size)]


def structured(vocab: list[Any], min_len: int, max_len: int, distinct: bool, rng: random.Random) -> list[list[Any]]:
    """The structured cases above, every token everywhere first; at most `STRUCTURED_LIMIT` in
    all, the others a seeded sample when they do not fit (each drawn only once picked: lengths
    up to 4,096 make long lists). `structured_count` says how many there are before sampling."""
    top = min(max_len, len(vocab)) if distinct else max_len
    cases = every_token_everywhere(vocab, top, distinct, rng)[:STRUCTURED_LIMIT] if top >= max(min_len, 1) else []
    lengths = list(range(min_len, top + 1))
    constant_lengths = [n for n in lengths if not distinct or n == 1]
    others = 2 * len(lengths) + len(vocab) * len(constant_lengths)  # a sorted, a reverse-sorted per length; constants
    room = STRUCTURED_LIMIT - len(cases)
    table = _table(vocab)
    for k in range(others) if others <= room else sorted(rng.sample(range(others), room)):
        if k < 2 * len(lengths):  # sorted in the vocabulary's order: by index
            n = lengths[k // 2]
            picked = np.sort(np.array(rng.sample(range(len(vocab)), n), np.int64) if distinct
                             else _indices(len(vocab), n, 1, rng)[0])
            cases.append(table[picked[::-1] if k % 2 else picked].tolist())
        else:
            k -= 2 * len(lengths)
            cases.append([vocab[k % len(vocab)]] * constant_lengths[k // len(vocab)])
    return cases


def draw(vocab: list[Any], n: int, count: int, rng: random.Random) -> list[list[Any]]:
    """`count` inputs of `n` tokens drawn uniformly from `vocab` (repeats allowed), seeded by
    `rng`, as one array of indices (one Python call per token took 1.5 s for the 16.8M tokens of
    a check at length 4,096)."""
    return _table(vocab)[_indices(len(vocab), n, count, rng)].tolist()


def _indices(size: int, n: int, count: int, rng: random.Random) -> np.ndarray:
    return np.random.default_rng(rng.getrandbits(64)).integers(0, size, size=(count, n))


def _table(vocab: list[Any]) -> np.ndarray:
    """The tokens themselves, indexable by arrays (1, 1.0 and True stay apart)."""
    table = np.empty(len(vocab), dtype=object)
    table[:] = vocab
    return table


def structured_count(vocab_size: int, min_len: int, max_len: int, distinct: bool) -> int:
    """How many structured cases there are, before `structured` samples them."""
    top = min(max_len, vocab_size) if distinct else max_len
    lengths = max(0, top - max(min_len, 0) + 1)
    everywhere = vocab_size if top >= max(min_len, 1) else 0
    constants = vocab_size * (lengths if not distinct else int(min_len <= 1 <= top))
    return everywhere + 2 * lengths + constants
