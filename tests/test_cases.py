"""The inputs a check runs on: every input when there are few enough, else structured cases that
random sampling misses; a compile is never called correct on fewer inputs than it says."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_program
from rasp.language import cases
from rasp.language.program import from_text


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.booleans())
def test_the_space_size_counts_every_input(vocab_size, min_len, extra, distinct):
    vocab = list(range(vocab_size))
    every = list(cases.every_input(vocab, min_len, min_len + extra, distinct))
    assert cases.space_size(vocab_size, min_len, min_len + extra, distinct) == len(every)
    assert len({tuple(t) for t in every}) == len(every)
    assert all(min_len <= len(t) <= min_len + extra for t in every)
    assert not distinct or all(len(set(t)) == len(t) for t in every)


@pytest.mark.parametrize("max_len", [3, 7, 12])
def test_structured_cases_hold_constants_sorted_runs_and_every_token_everywhere(max_len):
    vocab = list("abcd")
    shaped = cases.structured(vocab, 1, max_len, False, random.Random(0))
    as_tuples = {tuple(t) for t in shaped}
    for n in range(1, max_len + 1):
        assert all((token,) * n in as_tuples for token in vocab)
        runs = [t for t in shaped if len(t) == n and list(t) == sorted(t, key=vocab.index)]
        assert runs and any(list(t) == sorted(t, key=vocab.index, reverse=True) for t in shaped if len(t) == n)
    longest = [t for t in shaped if len(t) == max_len]
    assert all(any(t[p] == token for t in longest) for p in range(max_len) for token in vocab)


def test_structured_cases_of_distinct_tokens_stay_distinct_and_are_bounded():
    vocab = list(range(90))
    shaped = cases.structured(vocab, 1, 60, True, random.Random(1))
    assert all(len(set(t)) == len(t) for t in shaped)
    assert len(shaped) <= cases.STRUCTURED_LIMIT  # 90 tokens x 60 positions, sampled


TWO_KEYS = """flag = 1 if (selector_width(select(tokens, tokens, !=)) == 0 and length >= 5) else 0;
two = select(indices, indices, ==) or (select(indices, 0, ==) and select(1, flag, ==));
out = aggregate(two, indices, 0);
"""


def test_a_categorical_aggregate_that_blends_only_on_constant_long_inputs_is_caught():
    """Random inputs over abc of lengths up to 11 almost never hold one token 5 times or more;
    the structured constant sequences do, and the blend is refused."""
    program = from_text(TWO_KEYS, path="two.rasp")
    with pytest.raises(CompileError, match="selects 2 positions on input \\['a', 'a', 'a', 'a', 'a'\\]"):
        compile_program(program, list("abc"), 11, samples=64)


def test_small_spaces_are_checked_exhaustively():
    program = from_text(TWO_KEYS, path="two.rasp")
    result = compile_program(program, list("abc"), 4, samples=8)  # 120 inputs; length 5 is never reached
    check = result.verification
    assert check.exhaustive and check.inputs == 3 + 9 + 27 + 81 == check.space
    assert check.describe().startswith("exhaustive: equal to the interpreter on every input of lengths 1 to 4")
