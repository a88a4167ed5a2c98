"""How the REPL writes values, as the classic RASP REPL does.

An s-op's values: `[h, e, l, l, o] (strings)`: booleans as T and F, floats rounded to three
decimals, and a sequence whose values are all the same (and more than one) as `[5]*5`. Plain values
are written in RASP's own syntax (`"abc"`, `[1, 2]`, `{1: "a"}`, `True`), so they can be typed back.
A selector is a matrix of 1s and blanks, queries down the side and keys along the top. With `full
seq display on` an s-op's input and output are written one above the other, aligned.
"""

from __future__ import annotations

import json
from typing import Any

from rasp.language import sops
from rasp.language.env import Function

TYPE_NAMES = {bool: "bool", str: "string", int: "int", float: "float"}


def small(v: Any) -> str:
    """One value inside a sequence: T/F, floats to three decimals (`1.0` stays `1.0`)."""
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        return str(round(v, 3))
    return str(v)


def type_name(values: list[Any]) -> str:
    """`(strings)`, `(ints)`, ...: the one type of the values; ints mixed with floats are floats."""
    for t in (str, bool, int, float):
        if values and all(isinstance(v, t) for v in values):
            return f"({TYPE_NAMES[t]}s)"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "(floats)"
    return "(mixed)" if values else "(empty)"


def sequence(values: list[Any]) -> str:
    """`[1, 2, 3] (ints)`, or `[5]*5 (ints)` when every value is the same and there are several."""
    if len(values) > 1 and len(set(map(key, values))) == 1:
        return f"[{small(values[0])}]*{len(values)} {type_name(values)}"
    return f"[{', '.join(small(v) for v in values)}] {type_name(values)}"


def key(v: Any) -> tuple[str, Any]:
    """Values told apart as RASP tells them: True is not 1."""
    return type(v).__name__, v


def rasp(value: Any) -> str:
    """A plain value in RASP's syntax: strings double-quoted, dicts with their own keys."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(rasp(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{rasp(k)}: {rasp(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (sops.SOp, sops.Selector)):
        kind = "s-op" if isinstance(value, sops.SOp) else "selector"
        return value.label or f"<{kind}>"
    if isinstance(value, Function):
        return value.name
    return str(value)


def example_text(tokens: list[Any], as_text: bool) -> str:
    """The example as typed in a call: `"hello"` or `[4, 7, 10]`."""
    return rasp("".join(tokens)) if as_text else rasp(tokens)


def matrix(labels: list[str], rows: list[list[Any]]) -> list[str]:
    """Keys along the top, a row per query; a selected pair is 1, the rest blank."""
    width = max(len(label) for label in labels)
    lines = [" " * (width + 3) + " ".join(label.rjust(width) for label in labels)]
    for label, row in zip(labels, rows):
        lines.append(f"{label.rjust(width)} | " + " ".join(("1" if v else "").rjust(width) for v in row))
    return [line.rstrip() for line in lines]


def clean_bools(values: list[Any]) -> list[str]:
    """Booleans in a full display: only the rarer of T and F is written (both when as many)."""
    if values and isinstance(values[0], bool):
        t = "T" if values.count(True) <= values.count(False) else ""
        f = "F" if values.count(False) <= values.count(True) else ""
        return [t if v else f for v in values]
    return [small(v) for v in values]


def full(tokens: list[Any], values: list[Any]) -> list[str]:
    """The input and the output one above the other, each value right-aligned to the widest."""
    shown_in, shown_out = clean_bools(tokens), clean_bools(values)
    width = max(len(v) for v in shown_in + shown_out)

    def line(vals: list[str]) -> str:
        return " ".join(v.rjust(width) for v in vals)

    return [f"input:  {line(shown_in)}  {type_name(tokens)}", f"output: {line(shown_out)}  {type_name(values)}"]
