"""Fuzzing the front end: whatever text comes in, parsing, checking, building and running
raise nothing but the project's own RaspError (which the command line prints as a
positioned message)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar.errors import RaspError
from rasp.language import build, library
from rasp.language.program import from_text

PIECES = [
    "select", "aggregate", "selector_width", "tokens", "indices", "length", "tokens_int",
    "def", "return", "for", "in", "if", "else", "and", "or", "not", "load", "range", "len",
    "zip", "kqv", "shift_by", "aggregate_max", "f", "x", "y", "_p", "(", ")", "[", "]", "{",
    "}", ",", ";", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^", ":",
    "0", "1", "2", "-1", "0.5", '"a"', '"§"', "True", "False", "#", "\n", '"', "hist",
]
PROGRAMS = {name: library.path(name).read_text() for name in library.names()}
INPUTS = [list("ab"), [3, 1, 2], list("(){}"), []]


def attempt(text: str) -> None:
    try:
        program = from_text(text, path="fuzz.rasp")
        program.run(INPUTS[:3])
    except RaspError as e:
        assert e.format()  # formatting the message must not fail either


@pytest.fixture(autouse=True)
def small_build_budget(monkeypatch):
    monkeypatch.setattr(build, "MAX_STEPS", 20_000)


@given(st.lists(st.sampled_from(PIECES), max_size=60).map(" ".join))
def test_random_token_soup(text):
    attempt(text)


@given(st.text(max_size=200))
def test_random_text(text):
    attempt(text)


@st.composite
def mutated_program(draw):
    text = PROGRAMS[draw(st.sampled_from(sorted(PROGRAMS)))]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 30)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + " " + draw(st.sampled_from(PIECES)) + " " + text[i:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(PIECES)) + text[j:]
    return text


@settings(max_examples=300)
@given(mutated_program())
def test_mutated_library_programs(text):
    attempt(text)


@settings(max_examples=40)
@given(st.sampled_from(sorted(PROGRAMS)), st.lists(st.sampled_from(["a", "(", ")", "1", "x", "|"]), max_size=12))
def test_library_programs_on_arbitrary_inputs(name, tokens):
    try:
        from_text(PROGRAMS[name], path=str(library.path(name))).run([tokens])
    except RaspError:
        pass
