"""The runner's interned pass (`compiler.interned`): equal to the plain pass input by input on
every compilable library program (padded batches and causal models included), split down to the
plain pass when its tables would be too large, and its numbering of rows exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiler import COMPILABLE

from compiler import compile_program, forward, interned
from compiler.interned import Stream, combine, distinct_rows, number
from compiler import runner as runner_module
from compiler import slim as slim_module
from compiler.runner import Runner
from grammar.errors import RaspError
from rasp.language.program import load_program

_runners: dict[str, Runner] = {}


def runner_of(name: str) -> Runner:
    if name not in _runners:
        vocab, max_len = COMPILABLE[name]
        _runners[name] = Runner(compile_program(load_program(name), vocab, max_len, verify=False).model)
    return _runners[name]


def draw_inputs(data, name: str, count: int) -> list[list]:
    vocab, max_len = COMPILABLE[name]
    distinct = load_program(name).tree.distinct
    top = min(max_len, len(vocab)) if distinct else max_len
    out = []
    for _ in range(count):
        n = data.draw(st.integers(1, top))
        out.append(data.draw(st.permutations(vocab))[:n] if distinct else
                   data.draw(st.lists(st.sampled_from(vocab), min_size=n, max_size=n)))
    return out


@pytest.mark.parametrize("name", sorted(COMPILABLE))
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_the_interned_pass_equals_the_plain_pass(name, data):
    runner = runner_of(name)
    inputs = draw_inputs(data, name, data.draw(st.integers(1, 12)))
    by_length: dict[int, list] = {}
    for tokens in inputs:
        by_length.setdefault(len(tokens), []).append(tokens)
    groups = list(by_length.values()) + [inputs]  # one batch per length, then all of them padded together
    outputs = runner.interned(runner.batches(groups))
    for group, out in zip(groups, outputs):
        for tokens, row in zip(group, out):
            plain = runner.raw([tokens])[0]
            n = len(tokens) + 1
            np.testing.assert_allclose(row[:n], plain[:n], rtol=1e-5, atol=1e-5)
            assert runner.decode(row[1:n]) == runner.decode(plain[1:n])
    assert any(runner_of(n).model.causal for n in COMPILABLE), "no causal model among those compared"


@pytest.mark.parametrize("cells", [1, 3_000])
def test_tables_too_large_split_the_inputs_down_to_the_plain_pass(monkeypatch, cells):
    """With tables capped, the inputs are halved until they fit; a single input that still does
    not fit takes the plain pass. The answers stay the interpreter's, progress reaches the end."""
    monkeypatch.setattr(interned, "MAX_TABLE_CELLS", cells)
    runner, program = runner_of("sort"), load_program("sort")
    rng = np.random.default_rng(cells)
    inputs = [[str(t) for t in rng.choice(list("abc"), size=int(n))] for n in rng.integers(1, 7, size=40)]
    plain, real = [], runner.raw
    monkeypatch.setattr(runner, "raw", lambda batch: plain.append(len(batch)) or real(batch))
    heard: list[tuple[int, int]] = []
    assert runner.run(inputs, lambda done, total: heard.append((done, total))) == program.run(inputs)
    assert plain == ([1] * len(inputs) if cells == 1 else []) or (cells > 1 and 0 < len(plain) < len(inputs))
    assert [d for d, _ in heard] == sorted(d for d, _ in heard) and heard[-1] == (len(inputs), len(inputs))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**40), min_size=1, max_size=30), st.booleans())
def test_numbering_tells_keys_apart_exactly(values, small):
    key = np.array([v % 7 for v in values] if small else values, np.int64)  # lookup array, or a sort
    codes, first = number(key)
    assert np.array_equal(key[first[codes]], key)
    assert len(first) == len(set(key.tolist())) and sorted(set(codes.tolist())) == list(range(len(first)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**35), st.integers(0, 5)), min_size=1, max_size=30))
def test_combined_codes_tell_tuples_apart_exactly(rows):
    columns = [np.array(c, np.int64) for c in zip(*rows)]
    codes, first = combine(columns)
    for i in range(len(rows)):
        assert rows[first[codes[i]]] == rows[i]
    assert len(first) == len(set(rows))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 1.0, 1.0, 0.5, -2.0]), min_size=4, max_size=4), min_size=1, max_size=12))
def test_distinct_rows_rebuild_the_table(rows):
    table = np.array(rows, np.float32)
    distinct, numbers = distinct_rows(table)
    assert np.array_equal(distinct[numbers], table)
    assert len(distinct) == len({tuple(r) for r in rows})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 9), min_size=1, max_size=4), st.integers(0, 2**16)),
                min_size=1, max_size=6))
def test_a_stream_of_segments_adds_like_a_dense_one(writes):
    """Blocks writing overlapping dimensions: the segments hold what a dense stream holds, bit for bit."""
    positions, width = 12, 10
    stream, dense = Stream(width, positions), np.zeros((positions, width), np.float32)
    for columns, seed in writes:
        rng = np.random.default_rng(seed)
        columns = np.array(sorted(columns))
        distinct = int(rng.integers(1, 4))  # a constant block (one row) included
        table = rng.choice([0.0, 1.0, 0.25, -3.0], size=(distinct, len(columns))).astype(np.float32)
        codes = rng.integers(0, distinct, size=positions)
        stream.add(columns, table, codes)
        dense[:, columns] += table[codes]
        rows, at = stream.read(np.arange(width))
        assert np.array_equal(rows[at], dense)
        for _ in range(3):  # parts of segments (most or few of their columns), the same part twice
            part = np.flatnonzero(rng.random(width) < rng.random())
            for _ in range(2):
                rows, at = stream.read(part)
                assert np.array_equal(rows[at], dense[:, part])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(0, 2**16))
def test_softmax_in_place_is_the_plain_pass_softmax(width, batch, seed):
    """Under 8 keys (max and sum key by key) the same floats as `forward.softmax`; beyond, to rounding."""
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((batch, 2, width, width)) * 40).astype(np.float32)
    logits[..., rng.integers(0, width)] = np.float32(-1e30)  # a masked key
    want = forward.softmax(logits)
    got = interned.softmax_in_place(logits.copy())
    assert np.array_equal(got, want) if width < 8 else np.allclose(got, want, rtol=1e-6, atol=1e-7)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=400))
def test_buckets_hold_every_input_once_and_merge_lengths_only_under_the_cap(lengths):
    inputs = [["a"] * n for n in lengths]
    groups = Runner.buckets(inputs)
    assert sorted(i for g in groups for i in g) == list(range(len(inputs)))
    longest = [max(lengths[i] for i in g) for g in groups]
    assert longest == sorted(longest) and len(set(longest)) == len(longest)  # by length, shortest first
    for group, top in zip(groups, longest):
        assert len({lengths[i] for i in group}) == 1 or len(group) * (top + 1) ** 2 <= runner_module.BUCKET_CELLS
    assert len(groups) < len(set(lengths)) or all(  # a merge was possible only where it would pass the cap
        (len(a) + len(b)) * (lengths[b[0]] + 1) ** 2 > runner_module.BUCKET_CELLS for a, b in zip(groups, groups[1:]))


def test_the_sparse_pair_table_equals_the_plain_pass(monkeypatch):
    """Sort over 8 tokens at 32 pairs its keys into 256 values: a one-hot key wide enough for the
    gathered table of query x key scores (`Interned.pair_scores`), checked against the plain pass."""
    runner = Runner(compile_program(load_program("sort"), list(range(8)), 32, verify=False).model)
    widths, real = [], interned.Interned.pair_scores
    monkeypatch.setattr(interned.Interned, "pair_scores",
                        staticmethod(lambda q, k: widths.append(k.shape[-1]) or real(q, k)))
    rng = np.random.default_rng(3)
    inputs = [[int(t) for t in rng.integers(0, 8, size=int(n))] for n in rng.integers(1, 33, size=400)]
    by_length: dict[int, list] = {}
    for tokens in inputs:
        by_length.setdefault(len(tokens), []).append(tokens)
    groups = list(by_length.values())
    for group, out in zip(groups, runner.interned(runner.batches(groups))):
        for tokens, row in zip(group, out):
            np.testing.assert_allclose(row, runner.raw([tokens])[0], rtol=1e-5, atol=1e-5)
    assert max(widths) >= interned.SPARSE_ROWS, "the gathered table was not built"
    assert runner.run(inputs) == load_program("sort").run(inputs)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.sampled_from([1, 2, 1.0, 2.0, True, "1", 3, np.int64(2)]), max_size=5), min_size=1, max_size=6))
def test_token_ids_are_the_ones_token_by_token(inputs):
    """`Runner.check` looks tokens up by value where it can: the ids, and the error naming the
    first input and position outside the vocabulary, are those of the token-by-token lookup."""
    runner = runner_of("sort_unique")  # vocabulary [1, 2, 3, 4, 5]
    slow = [[runner.token_id(t) for t in tokens] for tokens in inputs]
    bad = next(((n, p) for n, row in enumerate(slow, start=1) for p, i in enumerate(row) if i is None), None)
    if bad is None:
        assert runner.check(inputs) == slow
    else:
        with pytest.raises(RaspError, match=f"input {bad[0]}: token .* at position {bad[1]} "):
            runner.check(inputs)


def test_no_inputs_and_empty_inputs():
    runner, program = runner_of("sort"), load_program("sort")
    assert runner.run([]) == []
    inputs = [[], ["a"], [], ["c", "a"]]
    assert runner.run(inputs) == program.run(inputs)


@pytest.mark.parametrize("name", sorted(COMPILABLE))
def test_the_compile_says_where_every_non_zero_weight_is(name):
    """`CompiledModel.support`: outside its rows x columns every matrix is zero, so the runner
    may read that part only; slimmed with it, the weights equal those slimmed by reading every
    matrix (a model loaded from a file has no support)."""
    model = runner_of(name).model
    assert model.support, "the compile recorded no support"
    for matrix_name, matrix in model.arrays.items():
        if matrix_name not in model.support:
            assert not (matrix_name.startswith("layer") and matrix_name.endswith(".w") and matrix.any()), matrix_name
            continue
        rows, columns = model.support[matrix_name]
        outside = matrix.copy()
        outside[np.ix_(rows, columns)] = 0
        assert not outside.any(), f"{matrix_name}: non-zeros outside the support"
    with_support = slim_module.slim(model)
    model.support, kept = None, model.support
    try:
        without = slim_module.slim(model)
    finally:
        model.support = kept
    assert with_support.keys() == without.keys()
    for key in without:
        np.testing.assert_array_equal(with_support[key], without[key], err_msg=key)
    assert model.nonzero_parameters() == sum(int(np.count_nonzero(a)) for a in model.arrays.values())


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.data())
def test_a_part_of_a_matrix_reads_as_the_matrix(height, width, data):
    """`slim.Part` (a view of a matrix's non-zero block) answers as the whole matrix does."""
    matrix = np.zeros((height, width), np.float32)
    rows = sorted(data.draw(st.sets(st.integers(0, height - 1), max_size=height)))
    columns = sorted(data.draw(st.sets(st.integers(0, width - 1), max_size=width)))
    for r in rows:
        for c in columns:
            matrix[r, c] = data.draw(st.sampled_from([0.0, 1.0, -2.5]))
    support = (np.array(rows, np.int64), np.array(columns, np.int64))
    part, whole = slim_module.Part.of(matrix, support), slim_module.Part.of(matrix, None)
    pick = lambda n: np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n))), np.int64)
    among_rows, among_columns = pick(height), pick(width)
    bias = np.array([data.draw(st.sampled_from([0.0, 1.0])) for _ in range(width)], np.float32)
    for axis in (0, 1):
        np.testing.assert_array_equal(part.any(axis), matrix.any(axis=axis))
        among = among_rows if axis == 0 else among_columns
        assert part.used(axis, among=among).tolist() == whole.used(axis, among=among).tolist() == \
            slim_module.lines_used(matrix, axis, among=among).tolist()
    assert part.used(0, bias).tolist() == slim_module.lines_used(matrix, 0, bias).tolist()
    sub = matrix[np.ix_(among_rows, among_columns)]
    np.testing.assert_array_equal(part.take(among_rows, among_columns), sub)
    is_selection = bool(len(among_rows) and len(among_columns)) and np.all(np.isin(sub, (0.0, 1.0))) \
        and (sub != 0).sum(axis=0).max() <= 1
    for found in (part.selection(among_rows, among_columns), whole.selection(among_rows, among_columns)):
        assert (found is not None) == is_selection
        if found is not None:  # x @ sub as a copy of columns
            pick, has = found
            x = np.arange(1, 1 + 3 * len(among_rows), dtype=np.float32).reshape(3, -1)
            np.testing.assert_array_equal(x[:, pick] * has, x @ sub)
