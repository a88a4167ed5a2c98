"""The Python API for notebooks: `Program.trace`, and the short reprs and HTML of programs, traces,
compile results and analyses."""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grammar.errors import RaspError
from rasp.language import library, sops
from rasp.language.program import from_text, from_tree, load_program
from rasp.language.values import Kind

PROGRAMS = library.names()
VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr"}


@pytest.fixture(scope="module")
def built():
    """Each library program, and each of its top-level s-op and selector names assigned once
    (under the name the value carries) built again as its own output."""
    found = {}
    for name in PROGRAMS:
        program = load_program(name)
        once = [n for n, c in Counter(n for n, v in program.env.assigned if isinstance(v, sops.Value)).items()
                if c == 1 and program.env.vars[n].label == n]
        found[name] = program, once
    return found


def width_program(program, selector: str):
    """The program's text with the width of one of its selectors as the output."""
    text = program.tree.source.text + f"\n__width = selector_width({selector});\n"
    return from_text(text, "__width", path=program.path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(PROGRAMS), length=st.integers(0, 7), seed=st.integers(0, 2**16))
def test_trace_values_are_what_the_interpreter_gives(built, name, length, seed):
    import random

    program, once = built[name]
    vocab = program.sample_vocab()
    rng = random.Random(seed)
    tokens = [rng.choice(vocab) for _ in range(length)]
    try:
        expected_output = program.run([tokens])[0]
    except RaspError:  # outside the program's domain: the trace refuses it the same way
        with pytest.raises(RaspError):
            program.trace(tokens)
        return
    trace = program.trace(tokens)
    outputs = [e for e in trace.entries if e.output]
    assert len(outputs) == 1 and outputs[0].value == expected_output
    for n in once:
        entry = trace[n]
        value = program.env.vars[n]
        if isinstance(value, sops.SOp):
            assert entry.kind is Kind.SOP
            assert entry.value == from_tree(program.tree, n).run([tokens])[0], n
        else:
            assert entry.kind is Kind.SELECTOR
            assert len(entry.value) == length and all(len(row) == length for row in entry.value)
            widths = width_program(program, n).run([tokens])[0]
            assert [sum(row) for row in entry.value] == widths, n


@settings(max_examples=40, deadline=None)
@given(tokens=st.lists(st.sampled_from([0, 1, 2, 3]), max_size=6), causal=st.booleans())
def test_selector_matrices_are_the_comparison_of_keys_and_queries(tokens, causal):
    program = from_text("smaller = select(tokens, tokens, <);\nsame = select(indices, tokens, ==);\n"
                        "w = selector_width(smaller);")
    trace = program.trace(tokens, causal=causal)
    n = len(tokens)
    for name, holds in [("smaller", lambda q, k: tokens[k] < tokens[q]), ("same", lambda q, k: tokens[q] == k)]:
        expected = [[holds(q, k) and (k <= q or not causal) for k in range(n)] for q in range(n)]
        assert trace[name].value == expected
    assert trace["w"].value == [sum(row) for row in trace["smaller"].value]


@settings(max_examples=30, deadline=None)
@given(text=st.text(alphabet="()a", max_size=7))
def test_causal_traces_mask_the_keys_after_each_query(text):
    program = load_program("dyck1")
    assert program.causal
    causal, full = program.trace(text), program.trace(text, causal=False)
    assert causal.causal and not full.causal
    for seen, unmasked in zip(causal.entries, full.entries):
        if seen.kind is Kind.SELECTOR:
            n = len(seen.value)
            assert all(not seen.value[q][k] for q, k in product(range(n), repeat=2) if k > q)
            assert all(seen.value[q][k] == unmasked.value[q][k] for q, k in product(range(n), repeat=2) if k <= q)
    assert causal["dyck1"].value == program.run([list(text)])[0]


def test_entries_come_in_program_order_named_and_positioned():
    program = from_text("a = tokens == \"x\";\nb = select(indices, indices, <=);\n"
                        "def count(s) {\n    c = aggregate(b, indicator(s));\n    return c * length;\n}\n"
                        "d = count(a);\n")
    trace = program.trace("xyx")
    assert trace.names() == ["a", "b", "c", "d"]
    assert [(e.line, e.kind) for e in trace.entries] == [(1, Kind.SOP), (2, Kind.SELECTOR), (4, Kind.SOP),
                                                       (5, Kind.SOP)]
    assert [e.output for e in trace.entries] == [False, False, False, True]
    assert trace["c"].operation == "aggregate"
    assert trace["d"].value == program.run([list("xyx")])[0]
    unnamed = program.trace("xyx", unnamed=True)
    named = [e for e in unnamed.entries if e.name in trace.names()]
    assert [e.name for e in named] == trace.names()
    assert set(unnamed.names()) - set(trace.names()) == {"map indicator"}  # `c * length` is named d
    with pytest.raises(KeyError):
        trace["tokens"]  # the built-in inputs are the trace's tokens, not entries


def test_trace_as_dict_is_json():
    trace = load_program("hist").trace("abca")
    data = json.loads(json.dumps(trace.as_dict()))
    assert data["tokens"] == list("abca") and data["output"] == "hist"
    assert [e["name"] for e in data["entries"]] == trace.names()
    assert data["entries"][0]["kind"] == "selector"
    assert data["entries"][-1]["value"] == load_program("hist").run([list("abca")])[0]


def test_trace_refuses_bad_input_with_the_interpreters_error():
    program = from_text("x = tokens_int + 1;", path="p.rasp")
    with pytest.raises(RaspError) as error:
        program.trace("a")
    assert error.value.span is not None and error.value.span.line == 1
    assert "position 0" in error.value.message
    with pytest.raises(RaspError, match="mixes"):
        program.trace([1, "a"])
    with pytest.raises(RaspError, match="one input"):
        program.trace([[1, 2]])  # a list of inputs, where one input goes
    with pytest.raises(RaspError, match="one input"):
        program.trace(12)


def test_trace_text_shows_values_and_matrices():
    trace = load_program("reverse").trace("abc")
    text = str(trace)
    assert repr(trace) == text
    lines = text.splitlines()
    assert lines[0].startswith("reverse -> reverse on abc")
    matrix = trace["opposite"].value
    shown = ["".join("1" if v else "." for v in row) for row in matrix]
    at = next(i for i, line in enumerate(lines) if line.startswith("opposite"))
    assert lines[at + 1].split() == ["a", "b", "c"]  # the keys
    rows = [lines[at + 2 + q].split() for q in range(3)]
    assert [r[0] for r in rows] == ["a", "b", "c"]  # the queries
    assert ["".join(r[1:]) for r in rows] == shown
    assert any("[c, b, a]" in line and "(output)" in line for line in lines)


class Checker(HTMLParser):
    """Tags must nest and close; collects the text."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parsed(markup: str) -> Checker:
    checker = Checker()
    checker.feed(markup)
    checker.close()
    assert not checker.open, f"unclosed: {checker.open}"
    return checker


def test_trace_html_is_well_formed_and_escapes_tokens():
    program = from_text('lt = select(tokens, tokens, <);\nw = selector_width(lt);')
    markup = program.trace(["<i>", "a&b"])._repr_html_()
    page = parsed(markup)
    assert "i" not in page.tags  # the token "<i>" is text, not a tag
    text = "".join(page.text)
    assert "<i>" in text and "a&b" in text
    assert page.tags.count("table") == 2  # the trace, and the one selector's grid


def test_program_repr_is_short_and_html_shows_the_source():
    program = from_text("s = select(tokens, tokens, <);\nout = selector_width(s);\n")
    shown = repr(program)
    assert "\n" not in shown and len(shown) < 160
    assert "Module" not in shown and "statements" not in shown
    assert "<string>" in shown and "out" in shown and "not causal" in shown and "2 lines" in shown
    page = parsed(program._repr_html_())
    text = "".join(page.text)
    assert "select(tokens, tokens, <)" in text and "<string>" in text
    assert "string" not in page.tags
    assert page.tags.count("mark") == 1  # the output's line
    assert repr(load_program("sort")).startswith("<Program sort -> sorted:")


@pytest.fixture(scope="module")
def compiled():
    from compiler import compile_program

    return compile_program(load_program("sort"), vocab=list("abc"), max_len=4)


def test_compile_result_repr_and_html(compiled):
    shown = repr(compiled)
    assert f"{compiled.model.num_layers} layers" in shown
    assert f"{compiled.model.parameter_count():,} parameters" in shown
    assert compiled.verification.describe() in shown
    page = parsed(compiled._repr_html_())
    cells = set(page.text)
    assert {row.name for row in compiled.model.meta.sops} <= cells
    assert compiled.verification.describe() in cells


def test_analysis_repr_and_html():
    from predictor.analysis import analyze

    result = analyze(load_program("sort"))
    shown = repr(result)
    assert shown.startswith(f"Analysis: {result.verdict} (probability {result.probability:.2f})")
    assert all(reason in shown for reason in result.reasons)
    page = parsed(result._repr_html_())
    text = "".join(page.text)
    assert result.findings and all(f.message in text for f in result.findings)
    assert all(reason in text for reason in result.reasons)
