"""Every library program against an independent Python reference, on random inputs of
every length from 1 to 32 (each Hypothesis example is a batch holding one input of each
length, so batching across lengths is exercised too)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rasp.language import library
from rasp.language.program import load_program

LENGTHS = range(1, 33)


def batch_of(token: st.SearchStrategy) -> st.SearchStrategy:
    """One random input of every length from 1 to 32."""
    return st.tuples(*[st.lists(token, min_size=n, max_size=n) for n in LENGTHS]).map(list)


def unique_batch(alphabet: list) -> st.SearchStrategy:
    return st.tuples(*[st.permutations(alphabet).map(lambda p, n=n: p[:n]) for n in LENGTHS]).map(list)


def check(name: str, batch: list[list], reference) -> None:
    program = load_program(name)
    got = program.run(batch)
    for tokens, out in zip(batch, got):
        expected = reference(tokens)
        assert out == pytest.approx(expected) if any(isinstance(v, float) for v in expected) else out == expected, (
            f"{name} on {tokens}: expected {expected}, got {out}")


LETTERS = st.sampled_from("abcde")
SMALL_INTS = st.integers(0, 9)
BITS = st.sampled_from("01")


# ---- references -----------------------------------------------------------------------


def ref_sort_by_frequency(x):
    counts = Counter(x)
    return [x[i] for i in sorted(range(len(x)), key=lambda i: (-counts[x[i]], i))]


def ref_most_frequent(x):
    counts = Counter(x)
    top = max(counts.values())
    first = next(t for t in x if counts[t] == top)
    return [first] * len(x)


def ref_dyck(x, pairs):
    closer_of = dict(pairs)
    out, stack, broken = [], [], False
    for t in x:
        if t in closer_of:
            stack.append(t)
        elif t in closer_of.values() and not broken:
            if not stack or closer_of[stack.pop()] != t:
                broken = True
        out.append("F" if broken else ("T" if not stack else "P"))
    return out


def ref_mode(x):
    out, counts, reached = [], Counter(), {}
    for i, t in enumerate(x):
        counts[t] += 1
        reached[(t, counts[t])] = i  # when token t reached this count
        top = max(counts.values())
        winner = min((reached[(u, top)], u) for u in counts if counts[u] == top)[1]
        out.append(winner)
    return out


def ref_count(x):
    out = []
    for q, t in enumerate(x):
        if q == 0:
            out.append(-1)
        elif q == 1:
            out.append(x[0])
        else:
            out.append(t + 1 if t < x[1] else -1)
    return out


def ref_copy(x):
    n = x.index("|")
    source = x[:n] + ["|"]
    return ["|" if q < n else source[q - n] for q in range(len(x))]


# ---- one test per program ----------------------------------------------------------------


@given(batch_of(LETTERS))
def test_length(batch):
    check("length", batch, lambda x: [len(x)] * len(x))


@given(batch_of(st.one_of(LETTERS, SMALL_INTS.map(str))))
def test_reverse(batch):
    check("reverse", batch, lambda x: x[::-1])


@given(batch_of(LETTERS))
def test_hist(batch):
    check("hist", batch, lambda x: [x.count(t) for t in x])


@given(batch_of(LETTERS), batch_of(SMALL_INTS))
def test_sort(letters, numbers):
    check("sort", letters, sorted)
    check("sort", numbers, sorted)


@given(unique_batch(list(range(40))))
def test_sort_unique(batch):
    check("sort_unique", batch, sorted)


@given(batch_of(LETTERS))
def test_sort_by_frequency(batch):
    check("sort_by_frequency", batch, ref_sort_by_frequency)


@given(batch_of(LETTERS))
def test_most_frequent(batch):
    check("most_frequent", batch, ref_most_frequent)


@given(batch_of(st.sampled_from("(()")))
def test_dyck1(batch):
    check("dyck1", batch, lambda x: ref_dyck(x, [("(", ")")]))


@given(batch_of(st.sampled_from("(){}")))
def test_dyck2(batch):
    check("dyck2", batch, lambda x: ref_dyck(x, [("(", ")"), ("{", "}")]))


@given(batch_of(st.sampled_from("xab")))
def test_frac_prevs(batch):
    check("frac_prevs", batch, lambda x: [x[:i + 1].count("x") / (i + 1) for i in range(len(x))])


@given(batch_of(LETTERS))
def test_shift_by(batch):
    check("shift_by", batch, lambda x: ["_"] + x[:-1])


@given(batch_of(st.integers(0, 20)))
def test_count(batch):
    check("count", batch, ref_count)


@given(batch_of(st.sampled_from("abc")))
def test_mode(batch):
    check("mode", batch, ref_mode)


@st.composite
def copy_inputs(draw):
    """[distinct letters] + "|" + a prefix of them, one of each total length 1 to 32."""
    batch = []
    for total in LENGTHS:
        n = draw(st.integers(max(0, (total - 1 + 1) // 2), min(total - 1, 26)))
        letters = draw(st.permutations("abcdefghijklmnopqrstuvwxyz"))[:n]
        batch.append(list(letters) + ["|"] + list(letters[: total - 1 - n]))
    return batch


@given(copy_inputs())
def test_copy(batch):
    check("copy", batch, ref_copy)


@given(batch_of(BITS))
def test_majority(batch):
    check("majority", batch, lambda x: [int(x.count("1") > len(x) / 2)] * len(x))


@given(batch_of(BITS))
def test_parity(batch):
    check("parity", batch, lambda x: [x.count("1") % 2] * len(x))


def test_every_library_program_has_a_test_and_a_summary():
    tested = {name[len("test_"):] for name in globals() if name.startswith("test_")}
    for name in library.names():
        assert name in tested, f"library program {name} has no reference test"
        assert library.summary(name), f"library program {name} has no comment saying what it computes"


def ref_copy_repeated(x):
    n = x.index("|")
    source = x[:n] + ["|"]
    return ["|" if q < n else source[q - n] for q in range(len(x))]


@st.composite
def copy_repeated_inputs(draw):
    """Tokens with repeats, "|", a prefix of them: one of each total length 1 to 32."""
    batch = []
    for total in LENGTHS:
        n = draw(st.integers(total // 2, total - 1))
        letters = draw(st.lists(st.sampled_from("ab"), min_size=n, max_size=n))
        batch.append(letters + ["|"] + letters[: total - 1 - n])
    return batch


@given(copy_repeated_inputs())
def test_copy_repeated(batch):
    check("copy_repeated", batch, ref_copy_repeated)


def ref_sort_ar(x):
    out = []
    for q, t in enumerate(x):
        seen_separator, candidates = False, []
        for k in range(q + 1):
            seen_separator = seen_separator or x[k] == 0
            if not seen_separator and x[k] > t:
                candidates.append(x[k])
        out.append(min(candidates) if candidates else 0)
    return out


@st.composite
def sort_ar_inputs(draw):
    """Distinct positive numbers, 0, then their sorted prefix: every total length 1 to 32."""
    batch = []
    for total in LENGTHS:
        n = draw(st.integers(total // 2, min(total - 1, 20)))
        numbers = draw(st.permutations(list(range(1, 21))))[:n]
        batch.append(numbers + [0] + sorted(numbers)[: total - 1 - n])
    return batch


@given(sort_ar_inputs())
def test_sort_ar(batch):
    check("sort_ar", batch, ref_sort_ar)


@st.composite
def addition_inputs(draw):
    """"a+b" with a and b of n digits: total lengths 3, 5, ..., 31 (addition needs odd lengths)."""
    return [draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)) + ["+"]
            + draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)) for n in range(1, 16)]


def ref_addition(x):
    n = x.index("+")
    total = (int("".join(x[:n])) + int("".join(x[n + 1:]))) % 10 ** n
    return ["-"] * (n + 1) + [int(d) for d in str(total).zfill(n)]


@given(addition_inputs())
def test_addition(batch):
    check("addition", batch, ref_addition)


def ref_addition_hints(x):
    """Next tokens of h1 x1 .. + h1 y1 .. = h1 z1 ..: reversed digits, index hints."""
    plus, equals = x.index("+"), x.index("=")
    hints, a, b = x[0:plus:2], [int(d) for d in x[1:plus:2]], [int(d) for d in x[plus + 2:equals:2]]
    total = (int("".join(map(str, a[::-1]))) + int("".join(map(str, b[::-1])))) % 10 ** len(a)
    z = [int(d) for d in str(total).zfill(len(a))[::-1]]
    answer = [t for h, d in zip(hints, z) for t in (h, str(d))] + ["."]
    return ["-"] * equals + answer[: len(x) - equals]


@st.composite
def addition_hints_inputs(draw):
    """Hinted reversed operands of 1 to 8 digits and a prefix of the answer, every prefix length."""
    batch = []
    for n in range(1, 9):
        hints = draw(st.permutations(list("abcdefghijkl")))[:n]
        a, b = (draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)) for _ in range(2))
        prompt = [t for p in zip(hints, a) for t in p] + ["+"] + [t for p in zip(hints, b) for t in p] + ["="]
        answer = ref_addition_hints(prompt + ["?"] * 2 * n)[len(prompt) - 1:-1]
        batch.append(prompt + answer[: draw(st.integers(0, 2 * n))])
    return batch


@given(addition_hints_inputs())
def test_addition_hints(batch):
    check("addition_hints", batch, ref_addition_hints)


def ref_parity_scratchpad(x):
    """Before "=" each position repeats its token; from "=" on, the next running parity, then "."."""
    if "=" not in x:
        return list(x)
    n = x.index("=")
    parities = [str(sum(int(t) for t in x[:k + 1]) % 2) for k in range(n)] + ["."]
    return list(x[:n]) + parities[: len(x) - n]


@st.composite
def parity_scratchpad_inputs(draw):
    batch = []
    for n in range(1, 17):
        bits = draw(st.lists(BITS, min_size=n, max_size=n))
        parities = ref_parity_scratchpad(bits + ["="] + ["0"] * n)[n:-1]
        batch.append(bits + ["="] + parities[: draw(st.integers(0, n))])
    return batch


@given(parity_scratchpad_inputs())
def test_parity_scratchpad(batch):
    check("parity_scratchpad", batch, ref_parity_scratchpad)
