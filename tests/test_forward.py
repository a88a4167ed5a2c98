"""The compiled model's plain forward pass: its sparse paths give the products' results bit for
bit, and a batch whose rows are not zeros and ones takes the product."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_program, forward
from compiler.runner import Runner
from compiler.verify import NUMERICAL_TOLERANCE
from rasp.language.program import load_program

VOCAB, MAX_LEN = list(range(8)), 32  # sort's keys take 8 x 32 = 256 values: its query is sparse


@pytest.fixture(scope="module")
def sort_runner() -> Runner:
    return Runner(compile_program(load_program("sort"), VOCAB, MAX_LEN, verify=False).model)


def all_products(runner: Runner, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The forward pass with every product a product."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forward, "SPARSE_ROWS", 2**62)
        result = runner.forward(ids, lengths)
    assert not result.gathered
    return result.outputs


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, MAX_LEN), min_size=1, max_size=12), st.integers(0, 2**16))
def test_sparse_paths_equal_the_products_bit_for_bit(sort_runner, lengths, seed):
    rng = random.Random(seed)
    batch = [[rng.choice(VOCAB) for _ in range(n)] for n in lengths]
    ids, padded = sort_runner.encode(batch)
    got = sort_runner.forward(ids, padded)
    assert got.gathered, "no sparse path was taken: the test would compare products with products"
    assert np.array_equal(got.outputs, all_products(sort_runner, ids, padded))
    program = load_program("sort")
    assert sort_runner.run(batch) == program.run(batch)


def test_a_path_that_meets_other_values_becomes_a_product(monkeypatch):
    monkeypatch.setattr(forward, "SPARSE_ROWS", 1)  # every product tries the gather
    program = load_program("majority")  # a mean read by a table: rows that are not zeros and ones
    runner = Runner(compile_program(program, list("01"), 6, verify=False).model)
    rng = random.Random(0)
    batch = [[rng.choice("01") for _ in range(rng.randint(1, 6))] for _ in range(20)]
    ids, lengths = runner.encode(batch)
    seen: list[bool] = []
    real = forward.ones
    monkeypatch.setattr(forward, "ones", lambda x: seen.append(real(x) is not None) or real(x))
    got = runner.forward(ids, lengths)
    assert got.gathered and not all(seen), "no path gathered, or none fell back: the test would see nothing"
    assert np.array_equal(got.outputs, all_products(runner, ids, lengths))
    for want, out in zip(program.run(batch), runner.run(batch)):
        assert out == pytest.approx(want, abs=NUMERICAL_TOLERANCE)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0, 0.5, 2.0, -1.0, 1e-9]), min_size=5, max_size=5),
                min_size=1, max_size=6))
def test_ones_finds_exactly_the_rows_of_zeros_and_at_most_two_ones(rows):
    x = np.array(rows, dtype=np.float32)
    binary = bool(np.all((x == 0) | (x == 1)) and np.all((x == 1).sum(axis=-1) <= 2))
    found = forward.ones(x)
    assert (found is not None) == binary
    if found is not None:  # the rows again, from the columns found
        rebuilt = np.zeros_like(x)
        for column, present in found:
            rebuilt[np.arange(len(x))[present], column[present]] = 1
        assert np.array_equal(rebuilt, x)
