"""The values a program computes with while it is built, and the one vocabulary that names them.

Beside the s-op and selector nodes of `sops`, building a program handles plain values
(booleans, numbers, strings, lists, dicts), comparison operators passed as arguments, and
functions (built-in or user-defined). Every message that says what a value is ("... got a
selector") names it through `Kind`, so each kind is spelled one way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable

from grammar import ast
from rasp.language import sops
from rasp.language.env import Function


@dataclass(frozen=True)
class OpToken:
    """A comparison operator passed as an argument (`==` in `select(k, q, ==)`)."""

    op: str


@dataclass(frozen=True)
class Builtin:
    """A built-in function. `impl` gets the evaluated arguments and the call node (for error
    positions); the argument count is checked before it runs."""

    name: str
    min_args: int
    max_args: int  # -1: any number
    impl: Callable[[list[Any], ast.Call], Any]
    takes_operator: int | None = None  # index of the argument that must be an operator


class Kind(StrEnum):
    """What a value is, as messages name it."""

    SOP = "s-op"
    SELECTOR = "selector"
    BOOLEAN = "boolean"
    NUMBER = "number"
    STRING = "string"
    LIST = "list"
    DICT = "dict"
    OPERATOR = "operator"
    FUNCTION = "function"
    VALUE = "value"  # anything else

    @property
    def with_article(self) -> str:
        """"an s-op", "a number": the kind as it reads inside a sentence."""
        return ("an " if self in (Kind.SOP, Kind.OPERATOR) else "a ") + self.value


def kind_of(value: Any) -> Kind:
    if isinstance(value, sops.SOp):
        return Kind.SOP
    if isinstance(value, sops.Selector):
        return Kind.SELECTOR
    if isinstance(value, bool):  # before numbers: a bool is an int to Python
        return Kind.BOOLEAN
    if isinstance(value, (int, float)):
        return Kind.NUMBER
    if isinstance(value, str):
        return Kind.STRING
    if isinstance(value, list):
        return Kind.LIST
    if isinstance(value, dict):
        return Kind.DICT
    if isinstance(value, OpToken):
        return Kind.OPERATOR
    if isinstance(value, (Function, Builtin)):
        return Kind.FUNCTION
    return Kind.VALUE


def kind_name(value: Any) -> str:
    """How a value is named in messages: its kind with an article (an operator says which)."""
    if isinstance(value, OpToken):
        return f"the operator '{value.op}'"
    return kind_of(value).with_article


def is_atom(value: Any) -> bool:
    """A plain value: what an s-op holds at one position, a dict key, a token."""
    return isinstance(value, (bool, int, float, str))


def show_value(v: Any) -> str:
    """One value as people read it: T/F for booleans, floats to three decimals."""
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        text = f"{v:.3f}".rstrip("0").rstrip(".")
        return text if text not in ("-0", "") else "0"
    return str(v)


def show_sequence(values: list[Any]) -> str:
    """Tokens as people read them: a word for single characters, else a list."""
    if all(isinstance(v, str) and len(v) == 1 for v in values):
        return "".join(values) if values else "(empty)"
    return "[" + ", ".join(show_value(v) for v in values) + "]"


def huge(count: int) -> str:
    """A count for people, exact with commas up to 10^18, else "about 4.71 x 10^192" (found
    without turning the whole number into digits: Python refuses that beyond 4,300 digits)."""
    if count < 10**18:
        return f"{count:,}"
    exponent = int(count.bit_length() * 0.30102999566398120) - 1  # log10, possibly one short
    while count >= 10 ** (exponent + 1):
        exponent += 1
    lead = count // 10 ** (exponent - 2)  # the first three digits
    return f"about {lead // 100}.{lead % 100:02d} x 10^{exponent}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """A count with its noun, singular for one: "1 layer", "3 layers", "1,200 inputs"
    (`nouns`: the plural where it is not the noun plus "s")."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
