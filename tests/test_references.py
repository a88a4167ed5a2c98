"""The reference labellers (predictor/references.py) against the interpreter: for every program and
framing they cover, random inputs drawn by the task's sampler over a range of lengths get the same
targets from both, value for value and type for type (1, True and "1" differ). Inputs outside a
rule's domain go to the interpreter, so they agree too, errors included."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from grammar.errors import RaspError
from predictor import references
from predictor.references import reference
from predictor.samplers import SAMPLERS
from predictor.tasks import Task, labels, make_examples
from rasp.language.library import LIBRARY_DIR
from rasp.language.program import load_program

NUMBERS = tuple(str(i) for i in range(150))
HINTS = tuple(f"h{i}" for i in range(150))
DIGITS = tuple("0123456789")
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 21, 28, 34, 40)

# (program, vocab, framing, sampler, separator, end, longest length): the suite's tasks and a few
# other vocabularies; every input these samplers draw is inside its rule's domain
CASES = [
    ("copy", NUMBERS, "autoregressive", "unique", "|", "|", 40),
    ("copy", tuple("abcdefghijklmnopqrstuvwxyz"), "autoregressive", "unique", "|", "|", 26),
    ("copy_repeated", tuple("ab"), "autoregressive", "uniform", "|", "|", 40),
    ("copy_repeated", tuple("abcde"), "autoregressive", "uniform", "|", "|", 40),
    ("count", tuple(range(0, 156)), "autoregressive", "count-range", None, -1, 15),
    ("sort_ar", tuple(range(1, 151)), "autoregressive", "unique", 0, 0, 40),
    ("sort_ar", tuple(range(1, 6)), "autoregressive", "uniform", 0, 0, 40),
    ("parity_scratchpad", tuple("01"), "autoregressive", "uniform", "=", ".", 40),
    ("addition_hints", DIGITS + HINTS, "autoregressive", "hinted-sum", "=", ".", 40),
    ("addition_hints", DIGITS + tuple("abcdefghijkl"), "autoregressive", "hinted-sum", "=", ".", 12),
    ("addition_hints", DIGITS + tuple("abcdefghijkl") + HINTS, "autoregressive", "hinted-sum", "=", ".", 40),
    ("parity", tuple("01"), "answer", "balanced", None, None, 40),
    ("parity", tuple("01"), "answer", "uniform", None, None, 40),
    ("parity", tuple("01"), "per-position", "uniform", None, None, 40),
    ("parity", (0, 1, 2), "per-position", "uniform", None, None, 40),
    ("majority", tuple("01"), "answer", "balanced", None, None, 40),
    ("majority", tuple("01"), "per-position", "balanced", None, None, 40),
    ("majority", (0, 1), "answer", "uniform", None, None, 40),
    ("mode", tuple("abc"), "per-position", "uniform", None, None, 40),
    ("mode", (3, 1, 2), "per-position", "uniform", None, None, 40),
    ("mode", tuple("ab"), "answer", "uniform", None, None, 40),
    ("dyck1", tuple("()"), "per-position", "dyck", None, None, 40),
    ("dyck1", tuple("()x"), "per-position", "uniform", None, None, 40),
    ("reverse", tuple("abcde"), "per-position", "uniform", None, None, 40),
    ("reverse", (7, 8, 9), "per-position", "uniform", None, None, 40),
    ("hist", tuple("abcde"), "per-position", "uniform", None, None, 40),
    ("hist", (10, 20, 30), "per-position", "uniform", None, None, 40),
]


def make_task(program: str, vocab: tuple, framing: str, sampler: str = "uniform", separator: Any = None,
              end: Any = None, longest: int = 40) -> Task:
    half = max(longest // 2, 1)
    return Task(f"{program}-{framing}", program, vocab, framing, sampler, train_lengths=(1, half),
                heldout_lengths=(half + 1, max(longest, half + 1)), separator=separator, end=end)


def identical(a: list[list[Any]], b: list[list[Any]]) -> bool:
    """Equal rows of equal tokens, each of the same type."""
    return len(a) == len(b) and all(
        len(x) == len(y) and all(type(p) is type(q) and p == q for p, q in zip(x, y)) for x, y in zip(a, b))


def agree(task: Task, program: Any, inputs: list[list[Any]]) -> None:
    """The reference and the interpreter give identical targets, or both raise."""
    got = reference(task)(inputs)  # None: outside the rule's domain, left to the interpreter
    try:
        want = labels(task, program, inputs)
    except RaspError:
        assert got is None, (inputs, got)
        return
    assert got is None or identical(got, want), (inputs, got, want)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}-{type(c[1][0]).__name__}" for c in CASES])
def test_reference_equals_interpreter(case):
    program_name, vocab, framing, sampler, separator, end, longest = case
    task = make_task(program_name, vocab, framing, sampler, separator, end, longest)
    program = task.load()
    assert reference(task) is not None
    rng = random.Random(f"{program_name}-{framing}-{sampler}-{len(vocab)}")
    batches = [[SAMPLERS[task.sampler](rng, n, list(vocab)) for _ in range(8)] for n in LENGTHS if n <= longest]
    want = [labels(task, program, inputs) for inputs in batches]
    for inputs, expected in zip(batches, want):
        got = reference(task)(inputs)  # the rule itself, every time (None would mean the interpreter)
        assert got is not None and identical(got, expected), (inputs, got, expected)


def test_batches_of_mixed_lengths():
    task = make_task("copy", NUMBERS, "autoregressive", "unique", "|", "|", 40)
    rng = random.Random(3)
    inputs = [SAMPLERS[task.sampler](rng, rng.randint(1, 40), list(NUMBERS)) for _ in range(16)]
    agree(task, task.load(), inputs)


EDGES = [  # (program, framing, separator, end, inputs outside or at the edge of the rule's domain)
    ("copy", "autoregressive", "|", "|", [list("abca"), list("ab|c"), [1, 2, 3], ["a"]]),
    ("copy_repeated", "autoregressive", "|", "|", [list("a|ba"), list("||"), list("aaaa"), ["|"]]),
    ("count", "autoregressive", None, -1, [[5, 2], [0, 0], [0, 14], [3, 3], [-1, 2], [-3, -1], [2, 1, 3]]),
    ("sort_ar", "autoregressive", 0, 0, [[3, 3, 1], [2, -1, 5], [4, 0, 2], [7], [True, 2]]),
    ("parity_scratchpad", "autoregressive", "=", ".", [list("1a.0"), list("1=01"), list("0"), list("1")]),
    ("addition_hints", "autoregressive", "=", ".",
     [list("a9b9+a9b9"), list("a1b2+b3a4"), list("a1a2+a3a4"), list("1a+a1"), list("a1+a1"),
      list("^9a9+^9a9"), list("a1b2c+a1b2c"), ["+"]]),
    ("parity", "answer", None, None, [list("0110"), list("a1"), ["01", " 1", "1", "2"], [1, 1, 0], [True]]),
    ("parity", "per-position", None, None, [[1, 2, 1], ["1"], list("00"), ["9" * 30]]),
    ("majority", "answer", None, None, [list("0101"), list("011"), list("1"), list("0"), list("x1")]),
    ("majority", "per-position", None, None, [list("0110"), list("10"), [1, 1, 0, 0, 1], [2, 1]]),
    ("mode", "per-position", None, None, [list("abbaab"), list("a"), [2, 2, 1, 1, 1], [1.5, 2.0], [True, False]]),
    ("dyck1", "per-position", None, None, [list("())("), list("(()"), list(")"), list("x(y)"), [1, 2]]),
    ("reverse", "per-position", None, None, [list("abc"), [1, 2], ["a"], [True, False], ["a\x00", "b"]]),
    ("hist", "per-position", None, None, [list("hello"), [1, 1, 2], [0.5, 0.5], ["", ""]]),
]


@pytest.mark.parametrize("edge", EDGES, ids=[f"{e[0]}-{e[1]}-{i}" for i, e in enumerate(EDGES)])
def test_edges_agree_with_the_interpreter(edge):
    program_name, framing, separator, end, inputs = edge
    task = make_task(program_name, ("a", "b"), framing, separator=separator, end=end)
    program = load_program(program_name)  # as Task.load, without probing the vocabulary
    if framing == "autoregressive":
        program = replace(program, causal=True)
    for x in inputs:  # one at a time: an input the interpreter rejects fails its whole batch
        agree(task, program, [x])


# random inputs over tokens the programs treat apart (separators, "|", "=", "^", non-numbers,
# several kinds): whatever the rule's domain, reference and interpreter agree on each
TOKENS = [
    ("copy", "autoregressive", list("ab|=.c"), 6),
    ("copy_repeated", "autoregressive", list("ab|=."), 8),
    ("count", "autoregressive", list(range(-3, 20)), 3),
    ("sort_ar", "autoregressive", list(range(-2, 7)), 8),
    ("parity_scratchpad", "autoregressive", list("01=.a|"), 8),
    ("parity", "answer", ["0", "1", "01", " 1", "2", "+1", "1.0"], 8),
    ("majority", "per-position", [0, 1, 2, -1, 2**62], 8),
    ("mode", "per-position", ["a", "b", "", "ab"], 10),
    ("hist", "answer", [1, 2, -5, 2**62], 10),
    ("reverse", "per-position", [1, 2, "a"], 4),
    ("dyck1", "per-position", ["(", ")", "a", "(("], 10),
]


@pytest.mark.parametrize("case", TOKENS, ids=[f"{c[0]}-{c[1]}" for c in TOKENS])
def test_random_tokens_agree(case):
    program_name, framing, vocab, longest = case
    separator, end = references.AUTOREGRESSIVE.get(program_name, (None, None, None))[1:]
    task = make_task(program_name, ("a", "b"), framing, separator=separator, end=end)
    program = load_program(program_name)
    rng = random.Random(program_name)
    for _ in range(60):
        agree(task, program, [[rng.choice(vocab) for _ in range(rng.randint(1, longest))]])


def test_altered_hinted_sums_agree():
    task = make_task("addition_hints", ("a", "b"), "autoregressive", separator="=", end=".")
    program = load_program("addition_hints")
    rng = random.Random(5)
    for _ in range(80):
        x = SAMPLERS["hinted-sum"](rng, rng.randint(1, 5), list("0123456789abcdef^+=.-"))
        for _ in range(rng.randint(0, 2)):
            x[rng.randrange(len(x))] = rng.choice(["+", "=", ".", "^", "-", "a", "5", "h1"])
        agree(task, program, [x])


def test_make_examples_fast_and_interpreted_agree():
    task = make_task("addition_hints", DIGITS + HINTS, "autoregressive", "hinted-sum", "=", ".", 20)
    program = task.load()
    for n in (1, 7, 20):
        fast = make_examples(task, program, n, 6, random.Random(n), fast=True)
        slow = make_examples(task, program, n, 6, random.Random(n), fast=False)
        assert [e.input for e in fast] == [e.input for e in slow]
        assert identical([e.target for e in fast], [e.target for e in slow])


def test_no_reference():
    copy = make_task("copy", NUMBERS, "autoregressive", "unique", "|", "|")
    assert reference(copy) is not None
    assert reference(replace(copy, program=str(LIBRARY_DIR / "copy.rasp"))) is None
    assert reference(replace(copy, output="before")) is None
    assert reference(replace(copy, framing="per-position")) is None
    assert reference(replace(copy, framing="answer")) is None
    assert reference(replace(copy, separator="=")) is None
    assert reference(replace(copy, end=".")) is None
    assert reference(replace(copy, program="sort")) is None
    assert reference(make_task("parity", (0, 1), "per-position", sampler="dyck")) is not None  # any sampler


def test_no_reference_for_a_shadowed_library_name(tmp_path, monkeypatch):
    """A copy.rasp in the working folder or on $RASP_PATH is loaded instead of the library's."""
    copy = make_task("copy", NUMBERS, "autoregressive", "unique", "|", "|")
    for folder in ("here", "there"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "copy.rasp").write_text((LIBRARY_DIR / "copy.rasp").read_text())
    monkeypatch.chdir(tmp_path)
    assert reference(copy) is not None
    monkeypatch.setenv("RASP_PATH", str(tmp_path / "there"))
    assert reference(copy) is None
    monkeypatch.delenv("RASP_PATH")
    monkeypatch.chdir(tmp_path / "here")
    assert reference(copy) is None
