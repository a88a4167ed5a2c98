"""The numeric contract (docs/language.md): 64-bit integers and finite 64-bit floats; an operation
whose exact result is outside them is an error at that operation and position, never a wrap-around,
an infinity or a NaN."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar.errors import RaspError
from rasp.faces.jsonout import dumps
from rasp.language.inputs import parse_input
from rasp.language.program import from_text

INT64 = st.integers(-2**63, 2**63 - 1)
EXACT = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(EXACT)), st.booleans(), st.integers(-2**63 + 1, 2**63 - 1),
       st.integers(1, 12).flatmap(lambda n: st.lists(INT64, min_size=n, max_size=n)))
def test_integer_arithmetic_is_exact_or_an_error_at_the_first_overflow(op, constant_first, c, a):
    program = from_text(f"z = ({c}) {op} tokens_int;" if constant_first else f"z = tokens_int {op} ({c});")
    exact = [EXACT[op](c, v) if constant_first else EXACT[op](v, c) for v in a]
    fits = [-2**63 <= v < 2**63 for v in exact]
    if all(fits):
        assert program.run([a])[0] == exact
    else:
        with pytest.raises(RaspError) as info:
            program.run([a])
        assert "too large" in info.value.message
        assert f"at position {fits.index(False)}" in info.value.message


@pytest.mark.parametrize("text, given", [
    ("y = abs(tokens_int);", [-2**63]),
    ("y = -tokens_int;", [5, -2**63]),
    ("y = tokens_int ^ 40;", [2, 3]),
    ("y = tokens_int * tokens_int;", [2**32, 2]),
    ("y = tokens_float * tokens_float;", [1.0, 1e300]),
    ("y = tokens_float / (1 / tokens_float);", [1e300]),
    ("y = round(tokens_float);", [1e300]),
    ("y = tokens_int;", [1.5]),
])
def test_out_of_range_results_are_errors(text, given):
    with pytest.raises(RaspError) as info:
        from_text(text).run([given])
    assert info.value.span is not None and "on input 1" in info.value.message


def test_results_at_the_edges_are_exact():
    assert from_text("y = tokens_int ^ 2;").run([[3037000499]])[0] == [3037000499**2]
    assert from_text("y = tokens_int - 1;").run([[-2**63 + 1]])[0] == [-2**63]
    assert from_text("y = tokens_int;").run([[2.0, 3]])[0] == [2, 3]
    assert from_text("y = round(tokens_float);").run([[2.5, -1e18]])[0] == [2, -10**18]


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity, 1]", "[1e999]", "[-Infinity]", "[99999999999999999999]",
                                  "[" + "9" * 5000 + ", 1]"])  # (past the 4,300 digits Python reads)
def test_inputs_outside_the_numbers_are_errors(text):
    with pytest.raises(RaspError) as info:
        parse_input(text)
    assert info.value.span is not None


def test_json_output_never_holds_nan_or_infinity():
    text = dumps({"loss": float("nan"), "em": [1.0, float("inf")], "ok": 0.5})
    assert json.loads(text) == {"loss": None, "em": [1.0, None], "ok": 0.5}
    assert not any(word in text for word in ("NaN", "Infinity"))
    assert math.isfinite(json.loads(dumps(0.25)))


@pytest.mark.parametrize("text, words", [
    ("x = (10^64)^64^64;\ny = tokens;", "too large"),
    ("x = 10;\nfor i in range(40) { x = x * x; }\ny = tokens;", "too large"),  # repeated squaring: no hang
    ("x = " + "9" * 100_000 + ";\ny = tokens;", "integer too large"),
    ("x = " + "9" * 400 + ".5;\ny = tokens;", "too large"),
    ("x = -(9223372036854775807) - 2;\ny = tokens;", "too large"),
    ("x = abs(-(9223372036854775807) - 1);\ny = tokens;", "too large"),
])
def test_plain_numbers_keep_the_contract(text, words):
    with pytest.raises(RaspError) as info:
        from_text(text)
    assert words in info.value.message and info.value.span is not None



def test_a_command_line_token_of_thousands_of_digits_is_the_text_itself():
    from rasp.faces.cli.options import parse_token

    assert parse_token("9" * 5000) == "9" * 5000 and parse_token("12") == 12 and parse_token("|") == "|"
