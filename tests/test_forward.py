"""The compiled model's forward pass: its sparse paths give the products' results bit for bit, a
path that meets rows other than zeros and ones falls back to the product, and batches come in
one shape per width."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_program, forward
from compiler.forward import forward_fn
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
        out, exact = forward_fn(*runner.shape)[0](runner.arrays, ids, lengths)
    assert exact.size == 0
    return np.asarray(out)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, MAX_LEN), min_size=1, max_size=12), st.integers(0, 2**16))
def test_sparse_paths_equal_the_products_bit_for_bit(sort_runner, lengths, seed):
    rng = random.Random(seed)
    batch = [[rng.choice(VOCAB) for _ in range(n)] for n in lengths]
    got = sort_runner.raw(batch)
    assert sort_runner.checked, "no sparse path was taken: the test would compare products with products"
    ids, padded = sort_runner.encode(batch)
    assert np.array_equal(got, all_products(sort_runner, ids, padded)[:len(batch)])
    program = load_program("sort")
    assert sort_runner.run(batch) == program.run(batch)


def test_a_path_that_meets_other_values_becomes_a_product(monkeypatch):
    monkeypatch.setattr(forward, "SPARSE_ROWS", 1)  # every product tries the gather
    program = load_program("majority")  # a mean read by a table: rows that are not zeros and ones
    runner = Runner(compile_program(program, list("01"), 6, verify=False).model)
    rng = random.Random(0)
    batch = [[rng.choice("01") for _ in range(rng.randint(1, 6))] for _ in range(20)]
    got = runner.raw(batch)
    assert runner.dense, "no path fell back to the product"
    ids, lengths = runner.encode(batch)
    assert np.array_equal(got, all_products(runner, ids, lengths)[:len(batch)])
    for want, out in zip(program.run(batch), runner.run(batch)):
        assert out == pytest.approx(want, abs=NUMERICAL_TOLERANCE)


def test_batches_have_one_shape_per_width(sort_runner):
    rng = random.Random(1)
    inputs = [[rng.choice(VOCAB) for _ in range(n)] for n in range(1, MAX_LEN + 1) for _ in range(300)]
    batches = sort_runner.batches(inputs)
    assert sorted(i for group, _ in batches for i in group) == list(range(len(inputs)))
    rows_by_width: dict[int, set] = {}
    for group, rows in batches:
        width = sort_runner.width(max(len(inputs[i]) for i in group))
        assert all(sort_runner.width(len(inputs[i])) == width for i in group)
        assert rows is None or len(group) <= rows
        rows_by_width.setdefault(width, set()).add(rows or len(group))
    assert all(len(r) == 1 for r in rows_by_width.values()), rows_by_width
    assert max(rows_by_width) == MAX_LEN + 1  # the widest batch is exactly the model's width
