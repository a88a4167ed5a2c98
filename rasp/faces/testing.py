"""Property-based testing of RASP programs with Hypothesis.

    from hypothesis import given
    from rasp.faces.testing import inputs, assert_agrees

    @given(inputs("abc", min_len=1, max_len=12))
    def test_my_sort(tokens):
        ...

    def test_sort_agrees_with_sorted():
        assert_agrees("sort", sorted, vocab="abcde", min_len=1, max_len=16, compiled=True)

`assert_agrees` runs Hypothesis over every length from `min_len` to `max_len` and, when the
program and the reference differ, raises `Disagreement` for the *shrunk* counterexample: the
shortest, simplest input Hypothesis could find, with the first position that differs.
"""

from __future__ import annotations

import random
import signal
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grammar.errors import RaspError
from predictor.clock import OutOfTime, deadline
from rasp.language import cases
from rasp.language.inputs import MAX_INPUT_LENGTH, same_value, token_key
from rasp.language.program import Program, load_program

Reference = Callable[[list[Any]], Sequence[Any]]


def distinct_tokens(vocab: Sequence[Any]) -> int:
    """How many tokens of `vocab` the program can tell apart: the longest input of distinct tokens."""
    return len({token_key(t) for t in vocab})


def inputs(vocab: Sequence[Any] | str, min_len: int = 1, max_len: int = 10,
           unique: bool = False) -> st.SearchStrategy[list[Any]]:
    """Inputs of every length from `min_len` to `max_len` over `vocab` (a list of tokens, or a
    string of one-character tokens); with `unique`, no token twice (so at most as long as `vocab` has
    tokens the program can tell apart: `1` and `1.0` are one token, `1` and `"1"` two).
    Shrinks towards shorter inputs and earlier vocabulary tokens."""
    tokens = list(vocab)
    if not tokens:
        raise ValueError("the vocabulary is empty")
    if min_len < 0 or max_len < min_len:
        raise ValueError(f"lengths {min_len}-{max_len}: need 0 <= min_len <= max_len")
    if unique:
        distinct = distinct_tokens(tokens)
        if min_len > distinct:
            raise ValueError(f"cannot draw {min_len} distinct tokens from {distinct}")
        return st.lists(st.sampled_from(tokens), min_size=min_len, max_size=min(max_len, distinct),
                        unique_by=token_key)
    return st.lists(st.sampled_from(tokens), min_size=min_len, max_size=max_len)


@dataclass
class Counterexample:
    input: list[Any]
    position: int | None  # the first position that differs (None: the lengths differ, or an error)
    expected: Any
    actual: Any
    expected_output: list[Any] | None
    actual_output: list[Any] | str | None
    model: str  # "interpreter" or "compiled"

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "length": len(self.input), "position": self.position,
                "expected": self.expected, "actual": self.actual, "expected_output": self.expected_output,
                "actual_output": self.actual_output, "model": self.model}

    def describe(self) -> str:
        where = f"at position {self.position}" if self.position is not None else "in its output"
        return (f"the {self.model} disagrees with the reference on {self.input!r} (length {len(self.input)}) "
                f"{where}: expected {self.expected!r}, got {self.actual!r}\n"
                f"  expected output: {self.expected_output!r}\n  actual output:   {self.actual_output!r}")


class Disagreement(AssertionError):
    """A program and its reference differ; `.counterexample` says where."""

    def __init__(self, counterexample: Counterexample):
        super().__init__(counterexample.describe())
        self.counterexample = counterexample


class ReferenceFailed(RaspError):
    """The reference function itself failed (a bug in the test, not in the program)."""


REFERENCE_SECONDS = 10.0  # default time a reference may take on one input


def call_reference(reference: Reference, tokens: list[Any], seconds: float | None) -> list[Any]:
    """The reference's outputs for one input: a list (or tuple, or 1-D array) of one output per
    token. Anything else, an exception, `sys.exit` or running past `seconds` is `ReferenceFailed`
    naming the input (the test's own bug, never shrunk as the program's)."""
    outer = signal.getitimer(signal.ITIMER_REAL)[0] > 0  # an outer deadline stands; its OutOfTime is its own
    try:
        with deadline(seconds) if seconds else nullcontext():
            out = reference(list(tokens))
    except OutOfTime:
        if outer:
            raise
        raise ReferenceFailed(f"the reference took longer than {seconds:g} s on {tokens!r} (the limit is "
                              "set with --reference-timeout)") from None
    except (Exception, SystemExit) as e:  # SystemExit: a reference calling sys.exit must not pass the check
        raise ReferenceFailed(f"the reference raised {type(e).__name__}: {e} on {tokens!r}") from None
    if hasattr(out, "tolist") and getattr(out, "ndim", None) == 1:
        out = out.tolist()
    if not isinstance(out, (list, tuple)):
        raise ReferenceFailed(f"the reference returned {type(out).__name__} on {tokens!r}; it must return a "
                              f"list of {len(tokens)} outputs, one per token")
    if len(out) != len(tokens):
        raise ReferenceFailed(f"the reference returned {len(out)} outputs for the {len(tokens)} tokens of "
                              f"{tokens!r}; it must return one per token")
    return list(out)


def compare(tokens: list[Any], expected: Sequence[Any], actual: list[Any] | str, model: str,
            tolerance: float = 0.0) -> Counterexample | None:
    """None when `actual` equals `expected` everywhere, else where they first differ."""
    expected = list(expected)
    if isinstance(actual, str):  # the program failed on this input
        return Counterexample(tokens, None, expected, actual, expected, actual, model)
    for i, (e, a) in enumerate(zip(expected, actual)):
        if not same_value(e, a, abs_tol=tolerance or 1e-9):
            return Counterexample(tokens, i, e, a, expected, actual, model)
    if len(expected) != len(actual):
        i = min(len(expected), len(actual))
        return Counterexample(tokens, i, expected[i] if i < len(expected) else None,
                              actual[i] if i < len(actual) else None, expected, actual, model)
    return None


class Agreement:
    """A program (and optionally its compiled model) against a reference, one input at a time."""

    def __init__(self, program: Program | str, reference: Reference, vocab: Sequence[Any],
                 max_len: int, compiled: bool = False, output: str | None = None,
                 seconds: float | None = REFERENCE_SECONDS):
        self.program = load_program(program, output) if isinstance(program, str) else program
        self.reference, self.seconds = reference, seconds
        self.runner = None
        self.tolerance = 0.0  # how far a compiled model's numbers may stray from the interpreter's
        if compiled:
            from compiler import compile_program
            from compiler.runner import Runner
            from compiler.verify import NUMERICAL_TOLERANCE

            self.runner = Runner(compile_program(self.program, list(vocab), max_len, verify=False).model)
            self.tolerance = NUMERICAL_TOLERANCE

    def first_difference(self, tokens: list[Any]) -> Counterexample | None:
        expected = call_reference(self.reference, tokens, self.seconds)
        try:
            actual: list[Any] | str = self.program.run([list(tokens)])[0]
        except RaspError as e:
            actual = f"error: {e.message}"
        found = compare(tokens, expected, actual, "interpreter")
        if found is None and self.runner is not None and tokens:
            found = compare(tokens, expected, self.runner.run([list(tokens)])[0], "compiled model",
                            self.tolerance)
        return found


def find_counterexample(program: Program | str, reference: Reference, vocab: Sequence[Any] | str,
                        min_len: int = 1, max_len: int = 10, unique: bool = False, examples: int = 200,
                        compiled: bool = False, output: str | None = None,
                        seconds: float | None = REFERENCE_SECONDS) -> tuple[Counterexample | None, int]:
    """(the shrunk counterexample or None, how many inputs were tried). With `compiled`, the
    structured cases of the compiler's verification (`rasp.language.cases`) come first, shortest
    first; then `examples` inputs drawn and shrunk by Hypothesis. `seconds`: the time the
    reference may take on one input."""
    if not 0 <= min_len <= max_len or max_len > MAX_INPUT_LENGTH:
        raise RaspError(f"lengths {min_len}-{max_len}: need 0 <= min-len <= max-len <= {MAX_INPUT_LENGTH:,}")
    agreement = Agreement(program, reference, list(vocab), max_len, compiled, output, seconds)
    tried = 0
    if compiled:
        shaped = cases.structured(list(vocab), min_len, max_len, unique, random.Random(0))
        for tokens in sorted(shaped, key=len):
            tried += 1
            found = agreement.first_difference(tokens)
            if found is not None:
                return found, tried

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(inputs(vocab, min_len, max_len, unique))
    def prop(tokens: list[Any]) -> None:
        nonlocal tried, failed
        if failed is not None:  # the reference's own failure: not shrunk (a hang would be retried)
            return
        tried += 1
        try:
            found = agreement.first_difference(tokens)
        except ReferenceFailed as e:
            failed = e
            return
        if found is not None:
            raise Disagreement(found)

    failed: ReferenceFailed | None = None
    try:
        prop()
    except Disagreement as e:
        return e.counterexample, tried
    if failed is not None:
        raise failed
    return None, tried


def assert_agrees(program: Program | str, reference: Reference, vocab: Sequence[Any] | str,
                  min_len: int = 1, max_len: int = 10, unique: bool = False, examples: int = 200,
                  compiled: bool = False, output: str | None = None) -> None:
    """Raise `Disagreement` (an AssertionError) with the shrunk counterexample unless the program
    (and, with `compiled`, its compiled model at `max_len`) agrees with `reference` on inputs of
    every length from `min_len` to `max_len`."""
    found, _ = find_counterexample(program, reference, vocab, min_len, max_len, unique, examples, compiled, output)
    if found is not None:
        raise Disagreement(found)


__all__ = ["inputs", "distinct_tokens", "assert_agrees", "find_counterexample", "Disagreement", "Counterexample"]
