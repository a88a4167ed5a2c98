"""The interpreter against the classic REPL's semantics (LANGUAGE.md sections 2 to 7)."""

import pytest
from helpers import run, run1, value
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar.errors import RaspError
from rasp.language.inputs import input_kind, input_kinds
from rasp.language.program import from_text

CLASSIC = """
hist = selector_width(select(tokens, tokens, ==));
frac = aggregate(select(1, 1, ==), indicator(tokens == "e"));
flip = select(indices, length - 1 - indices, ==);
reverse = aggregate(flip, tokens);
def sort(seq, key) {
  earlier = select(key, key, <) or (select(key, key, ==) and select(indices, indices, <));
  return aggregate(select(selector_width(earlier), indices, ==), seq);
}
sorted = sort(tokens, tokens);
"""


@pytest.fixture(scope="module")
def classic():
    return from_text(CLASSIC)


def test_section_6_hist(classic):
    assert value(classic, "hist", "hello") == [1, 1, 2, 2, 1]


def test_section_6_frac_is_float_mean(classic):
    out = value(classic, "frac", "hey")
    assert out == pytest.approx([1 / 3] * 3)
    assert all(isinstance(v, float) for v in out)


def test_section_6_reverse(classic):
    assert value(classic, "reverse", "abc") == ["c", "b", "a"]


def test_section_6_sort_keeps_ties(classic):
    assert value(classic, "sorted", "hello") == ["e", "h", "l", "l", "o"]


def test_default_output_is_last_assigned_sop(classic):
    assert classic.output_name == "sorted"


def test_select_entry_is_key_op_query():
    # select(indices, indices, <): query q selects keys k < q, so the width is q.
    assert run1("w = selector_width(select(indices, indices, <));", "abcd") == [0, 1, 2, 3]
    assert run1("w = selector_width(select(indices, 0, ==));", "abc") == [1, 1, 1]


def test_aggregate_defaults_and_single_values():
    text = "x = aggregate(select(indices, indices - 1, ==), tokens_int, 7);"
    assert run1(text, [5, 6, 7]) == [7, 5, 6]
    # default omitted: 0
    assert run1("x = aggregate(select(indices, indices - 1, ==), tokens_int);", [5, 6]) == [0, 5]
    # a plain value aggregated
    assert run1("x = aggregate(select(indices, 0, ==), 1, 0);", "ab") == [1, 1]


def test_mean_of_several_numbers():
    assert run1("x = aggregate(select(indices, indices, <=), tokens_int);", [2, 4, 6]) == [2, 3, 4]


def test_value_in_sop_is_same_everywhere():
    assert run1('x = "e" in tokens;', "hey") == [True, True, True]
    assert run1('x = "z" in tokens;', "hey") == [False, False, False]


def test_sop_in_list_is_elementwise():
    assert run1('x = tokens in ["a", "c"];', "abc") == [True, False, True]


def test_elementwise_operators_and_broadcast():
    text = "x = (tokens_int * 2 + 1) % 4;"
    assert run1(text, [0, 1, 2, 3]) == [1, 3, 1, 3]
    assert run1("x = tokens_int / 2;", [1, 4]) == [0.5, 2.0]
    assert run1('x = tokens + "!";', "ab") == ["a!", "b!"]
    assert run1("x = -tokens_int;", [1, -2]) == [-1, 2]
    assert run1("x = round(tokens_float);", ["1.4", "2.6"]) == [1, 3]
    assert run1("x = abs(tokens_int);", [-3, 3]) == [3, 3]
    assert run1("x = indicator(tokens == \"a\");", "aba") == [1, 0, 1]


def test_ternary_with_sop_condition():
    assert run1('x = "big" if tokens_int > 2 else "small";', [1, 3]) == ["small", "big"]
    # mixed types in the branches are kept as they are
    assert run1('x = tokens_int if tokens_int > 2 else "-";', [1, 3]) == ["-", 3]


def test_boolean_sops_and_selector_combinators():
    assert run1('x = tokens == "a" and not (indices == 0);', "aab") == [False, True, False]
    text = "w = selector_width(select(indices, indices, <) or select(indices, indices, ==));"
    assert run1(text, "abc") == [1, 2, 3]
    assert run1("w = selector_width(not select(indices, indices, ==));", "abc") == [2, 2, 2]


def test_sop_indexing_reads_one_position():
    assert run1("x = tokens[0];", "abc") == ["a", "a", "a"]
    assert run1("x = tokens[-1];", "abc") == ["c", "c", "c"]


def test_token_views():
    assert run1("x = tokens_int + 1;", "123") == [2, 3, 4]
    assert run1("x = tokens_str;", [1, 2]) == ["1", "2"]
    assert run1("x = tokens_bool;", [1, 0]) == [True, False]
    assert run1("tokens = tokens_int; x = tokens * 10;", "12") == [10, 20]


def test_functions_multiple_returns_nesting_and_closures():
    text = """
    offset = 1;
    def pair(a) {
        def inner(b) { return b + offset; }
        return inner(a), a * 2;
    }
    x, y = pair(tokens_int);
    """
    program = from_text(text)
    assert value(program, "x", [1, 2]) == [2, 3]
    assert value(program, "y", [1, 2]) == [2, 4]


def test_rebinding_does_not_change_earlier_values():
    text = "a = tokens_int + 1; b = a * 10; a = tokens_int;"
    program = from_text(text, "b")
    assert program.run([[1, 2]]) == [[20, 30]]


def test_lists_loops_and_comprehensions():
    text = """
    pairs = [[1, "a"], [2, "b"]];
    firsts = [p[0] for p in pairs];
    total = tokens_int * 0;
    for v in firsts { total = total + v; }
    d = {v: k for k, v in pairs};
    x = total + len(firsts) + d["a"];
    """
    assert run1(text, [0, 0]) == [6, 6]
    assert run1("r = range(1, 7, 2); x = tokens_int + r[2] + len(zip(r, r));", [0]) == [8]


def test_causal_mode_limits_selectors_and_length():
    text = "w = selector_width(select(1, 1, ==)); l = length;"
    assert run1(text, "abcd", output="w", causal=True) == [1, 2, 3, 4]
    assert run1(text, "abcd", output="l", causal=True) == [1, 2, 3, 4]
    assert run1(text, "abcd", output="w", causal=False) == [4, 4, 4, 4]
    # `not` of a causal selector stays causal
    assert run1("w = selector_width(not select(indices, indices, ==));", "abc", causal=True) == [0, 1, 2]


def test_file_can_ask_for_causal_mode():
    program = from_text("# rasp: causal\nw = selector_width(select(1, 1, ==));")
    assert program.causal
    assert program.run([list("abc")]) == [[1, 2, 3]]


def test_max_min_aggregation():
    text = "m = aggregate_max(select(indices, indices, <=), tokens_int, -1);"
    assert run1(text, [3, 1, 4, 1, 5]) == [3, 3, 4, 4, 5]
    text = "m = aggregate_min(select(indices, indices, <), tokens, \"-\");"
    assert run1(text, "dbca") == ["-", "d", "b", "b"]


@given(st.lists(st.lists(st.integers(-50, 50) | st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=12),
                min_size=1, max_size=6))
def test_max_min_equal_pythons_over_the_selected_keys(batch):
    text = ("hi = aggregate_max(select(tokens, tokens, <), tokens, -99);\n"
            "lo = aggregate_min(select(indices, indices, !=), tokens, 99);")
    for output, pick, default, best in (("hi", lambda x, k, q: x[k] < x[q], -99, max),
                                        ("lo", lambda x, k, q: k != q, 99, min)):
        got = from_text(text + f"\nout = {output};").run(batch)
        for tokens, row in zip(batch, got):
            want = [best([tokens[k] for k in range(len(tokens)) if pick(tokens, k, q)], default=default)
                    for q in range(len(tokens))]
            assert row == want


def test_rasp_l_library_forms():
    assert run1('x = kqv(indices, indices - 1, tokens, ==, "_");', "abc") == ["_", "a", "b"]
    assert run1('x = shift_by(tokens, 2, "_");', "abcd") == ["_", "_", "a", "b"]
    assert run1("x = numerical(tokens_int) + categorical(tokens_int);", [1, 2]) == [2, 4]


def test_classic_prelude_functions_are_available():
    assert run1('x = count(tokens, "l");', "hello") == [2] * 5
    assert run1("x = sort(tokens, tokens);", "cab") == ["a", "b", "c"]
    assert run1('x = shift(tokens, 1, "_");', "abc") == ["_", "a", "b"]


def test_user_definitions_shadow_the_prelude():
    assert run1("def count(a, b) { return tokens_int * 0 + 7; } x = count(1, 2);", [1]) == [7]


def test_applying_an_sop_to_an_input_in_the_program():
    program = from_text('h = selector_width(select(tokens, tokens, ==)); r = h("hello"); x = tokens;')
    assert program.env.vars["r"] == [1, 1, 2, 2, 1]


def test_load_exports_public_names(tmp_path):
    (tmp_path / "lib.rasp").write_text("def twice(x) { return x * 2; }\n_hidden = 3;\nlib_sop = tokens_int + 1;\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\nx = twice(lib_sop);\n')
    from rasp.language.program import load_program

    assert load_program(str(main)).run([[1, 2]]) == [[4, 6]]


def test_library_programs_load_each_other():
    from rasp.language.program import load_program

    assert load_program("most_frequent").run([list("abcbb")]) == [["b"] * 5]


def test_empty_input_gives_empty_output():
    assert run("x = tokens;", [[], "ab"]) == [[], ["a", "b"]]


def _reference_hist(tokens):
    return [tokens.count(t) for t in tokens]


@given(st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=20), min_size=1, max_size=12))
def test_batch_results_do_not_depend_on_batching(batch):
    program = from_text("h = selector_width(select(tokens, tokens, ==)); m = aggregate(select(tokens, tokens, ==), indices);", "m")
    together = program.run(batch)
    alone = [program.run([tokens])[0] for tokens in batch]
    assert together == alone
    hist = from_text(CLASSIC, "hist").run(batch)
    assert hist == [_reference_hist(t) for t in batch]


@given(st.integers(1, 40), st.integers(0, 2**16))
def test_large_batches_are_chunked_without_changing_results(n, seed):
    import random

    from rasp.language import program as program_module

    rng = random.Random(seed)
    batch = [[rng.randint(0, 5) for _ in range(n)] for _ in range(30)]
    program = from_text(CLASSIC, "sorted")
    expected = [sorted(t) for t in batch]
    old = program_module.MAX_CELLS
    program_module.MAX_CELLS = n * n * 7  # force chunks of 7 inputs
    try:
        assert program.run(batch) == expected
    finally:
        program_module.MAX_CELLS = old


def test_a_default_of_another_type_matters_only_where_used():
    # tokens[0] is an aggregate with the default 0; no position uses it, so strings stay strings
    assert run1("x = tokens[0] + tokens[-1];", "abc") == ["ac"] * 3
    from grammar.errors import RaspError

    with pytest.raises(RaspError, match=r"cannot apply '\+' to 0 and 'a' \(on input 1 'abc' at position 0\)"):
        run1('x = aggregate(select(indices, indices - 1, ==), tokens, 0) + tokens;', "abc")


def test_selectors_are_freed_once_nothing_reads_them():
    """60 selectors of 1024 x 1024 (1 MiB each) in a row: only those still needed are held."""
    import tracemalloc

    lines = ["acc = tokens_int * 0;"] + [f"acc = acc + selector_width(select(tokens_int + {i}, tokens_int, <));"
                                         for i in range(60)]
    program = from_text("\n".join(lines))
    tokens = [i % 7 for i in range(1024)]
    tracemalloc.start()
    try:
        out = program.run([tokens])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    for q in (0, 6, 1000):  # key + i < query, counted over the 60 selectors
        assert out[q] == sum(sum(1 for k in tokens if k + i < tokens[q]) for i in range(60))
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MiB: the selectors were kept"


def test_inputs_whose_live_values_would_not_fit_are_refused_before_running(monkeypatch):
    from grammar.errors import RaspError
    from rasp.language import machine

    program = from_text("a = select(tokens_int, tokens_int, <);\nb = select(tokens_int, tokens_int, ==);\n"
                        "x = selector_width(a and b);")
    tokens = [i % 7 for i in range(1024)]
    assert program.run([tokens])[0][:3] == [0, 0, 0]
    monkeypatch.setattr(machine, "usable_memory", lambda: 2 * 2**20)  # three 1 MiB selectors at once do not fit
    with pytest.raises(RaspError) as info:
        program.run([tokens])
    assert "run inputs of at most about" in info.value.message
    short = int(info.value.message.split("at most about ")[1].split(" ")[0].replace(",", ""))
    assert 100 < short < 1024 and program.run([tokens[:short]])  # the advice works


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("ab"), min_size=1, max_size=6), max_size=40))
def test_the_accepted_inputs_are_those_that_run_alone_in_order_with_a_few_runs_per_failure(inputs):
    """`Program.run_accepted` keeps exactly the inputs that run alone without error, in order,
    with their outputs; the failing operation names every input of a length that fails there,
    so here (one operation fails) it takes one run more per length with a failure."""
    program = from_text('x = aggregate(select(tokens, "a", ==), tokens);\n')  # two a's: no mean of strings
    alone = []
    for tokens in inputs:
        try:
            alone.append((tokens, program.run([tokens])[0]))
        except RaspError:
            pass
    runs, real = [], program.run
    program.run = lambda batch, causal=None: runs.append(len(batch)) or real(batch, causal)
    kept, outputs = program.run_accepted(inputs)
    assert list(zip(kept, outputs)) == alone
    accepted = [tokens for tokens, _ in alone]
    failing_lengths = {len(tokens) for tokens in inputs if tokens not in accepted}
    assert len(runs) <= 1 + len(failing_lengths)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=6))
def test_integer_tokens_read_as_integers_and_numbers_as_one_by_one(tokens):
    """`tokens_int` / `tokens_float` of integer tokens (read in one array operation) are the
    tokens' `int` / `float`, token by token."""
    assert run1("x = tokens_int;", tokens) == tokens
    assert run1("x = tokens_float;", tokens) == [float(t) for t in tokens]
    assert run1("x = tokens_int;", [str(t) for t in tokens]) == tokens  # strings: one by one


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from([1, 2.5, True, "a", 3]), max_size=4), min_size=1, max_size=5))
def test_the_kinds_of_many_inputs_are_each_inputs_kind(inputs):
    try:
        want = [input_kind(tokens, i) for i, tokens in enumerate(inputs)]
    except RaspError as e:
        with pytest.raises(RaspError, match=str(e).split(" mixes")[0]):
            input_kinds(inputs)
        return
    assert input_kinds(inputs) == want
