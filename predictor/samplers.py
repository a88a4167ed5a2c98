"""How a task's inputs are drawn: one function per sampler, (rng, n, vocab) -> one input of size n.

The size n is the task's length: tokens of input for most samplers, digits per operand for the
addition samplers, how many numbers to count for `count-range`.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Any, Callable

DIGITS = list("0123456789")


class Sampler(StrEnum):
    """How inputs are drawn; each name's function below says what it draws."""

    UNIFORM = "uniform"
    UNIQUE = "unique"
    BALANCED = "balanced"
    COUNT_RANGE = "count-range"
    DIGIT_SUM = "digit-sum"
    HINTED_SUM = "hinted-sum"
    DYCK = "dyck"


def uniform(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """n tokens drawn independently and uniformly from the vocabulary."""
    return [rng.choice(vocab) for _ in range(n)]


def unique(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """n distinct tokens in random order (needs n <= vocabulary size)."""
    return rng.sample(vocab, n)


def balanced(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """How many of the n tokens are the vocabulary's last token is uniform on 0..n, the rest are
    drawn uniformly from the other tokens, in random order (Huang et al.'s parity and binary
    majority data: every count of ones is as likely, so the answer is not a coin flip that a
    near-tie decides)."""
    ones = rng.randint(0, n)
    rest = vocab[:-1] or vocab
    tokens = [vocab[-1]] * ones + [rng.choice(rest) for _ in range(n - ones)]
    rng.shuffle(tokens)
    return tokens


def count_range(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """[a, b] with b - a + 1 = n, both in the (integer) vocabulary: count from a to b."""
    low, high = min(vocab), max(vocab)
    a = rng.randint(low, high - n + 1)
    return [a, a + n - 1]


def digits(vocab: list[Any]) -> list[Any]:
    """The vocabulary's decimal digits ("0".."9"), in its order: the addition samplers draw these."""
    return [t for t in vocab if t in DIGITS]


def digit_sum(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """Two n-digit numbers "a+b", most significant digit first (leading zeros allowed), digits
    from the vocabulary's."""
    drawn = digits(vocab)
    return uniform(rng, n, drawn) + ["+"] + uniform(rng, n, drawn)


def hint_letters(vocab: list[Any]) -> list[Any]:
    return [t for t in vocab if t not in DIGITS and t not in ("+", "=", ".")]


def hinted_sum(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """Two n-digit numbers, least significant digit first (digits from the vocabulary's), each
    digit after an index hint: n distinct hint letters (the vocabulary's non-digits, in random
    order), the same hints for both operands: h1 x1 h2 x2 .. + h1 y1 h2 y2 .."""
    hints = rng.sample(hint_letters(vocab), n)
    drawn = digits(vocab)
    a, b = uniform(rng, n, drawn), uniform(rng, n, drawn)
    return [t for pair in zip(hints, a) for t in pair] + ["+"] + [t for pair in zip(hints, b) for t in pair]


def dyck(rng: random.Random, n: int, vocab: list[Any]) -> list[Any]:
    """Half the inputs uniform over the vocabulary, half a random walk that never closes an
    unopened bracket (so balanced and pending prefixes are common, not just broken ones)."""
    if rng.random() < 0.5:
        return uniform(rng, n, vocab)
    out, depth = [], 0
    for _ in range(n):
        close = depth > 0 and rng.random() < 0.5
        out.append(vocab[1] if close else vocab[0])
        depth += -1 if close else 1
    return out


SAMPLERS: dict[Sampler, Callable[[random.Random, int, list[Any]], list[Any]]] = {
    Sampler.UNIFORM: uniform, Sampler.UNIQUE: unique, Sampler.BALANCED: balanced,
    Sampler.COUNT_RANGE: count_range, Sampler.DIGIT_SUM: digit_sum, Sampler.HINTED_SUM: hinted_sum,
    Sampler.DYCK: dyck,
}


# tokens a sampler writes beside the vocabulary's
EXTRA_TOKENS: dict[Sampler, tuple[Any, ...]] = {Sampler.DIGIT_SUM: ("+",), Sampler.HINTED_SUM: ("+",)}


def sampler_limit(sampler: Sampler, vocab: list[Any]) -> int | None:
    """The largest size the sampler can draw from this vocabulary (None: no limit; 0: none)."""
    if sampler in (Sampler.DIGIT_SUM, Sampler.HINTED_SUM) and not digits(vocab):
        return 0
    if sampler is Sampler.UNIQUE:
        return len(vocab)
    if sampler is Sampler.COUNT_RANGE:
        return max(vocab) - min(vocab) + 1
    if sampler is Sampler.HINTED_SUM:
        return len(hint_letters(vocab))
    return None


def draw_up_to(sampler: Sampler, vocab: list[Any], max_len: int, count: int,
               rng: random.Random) -> list[list[Any]]:
    """About `count` inputs from the sampler, spread evenly over every size whose inputs are at
    most `max_len` long (the compiler's verification on a program's own input domain)."""
    limit = sampler_limit(sampler, vocab)
    sizes = [n for n in range(1, max_len + 1) if (limit is None or n <= limit)
             and len(SAMPLERS[sampler](random.Random(n), n, list(vocab))) <= max_len]
    per_size = -(-count // max(1, len(sizes)))
    return [SAMPLERS[sampler](rng, n, list(vocab)) for n in sizes for _ in range(per_size)]
