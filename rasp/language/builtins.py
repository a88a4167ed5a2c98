"""The language's built-in names: constants and functions, with their argument counts.

The checker reads `FUNCTIONS` for arities; the builder calls the implementations. Each
implementation gets the evaluated arguments and the call node (for error positions).
"""

from __future__ import annotations

import math

from typing import Any, Callable

from grammar import ast
from grammar.errors import RaspError
from rasp.language import sops
from rasp.language.semantics import INT_MAX, INT_MIN
from rasp.language.values import Builtin, is_atom, kind_name

RANGE_LIMIT = 1_000_000


def as_sop(value: Any, node: ast.Expr, what: str) -> sops.SOp:
    """An s-op, or a plain atom broadcast to every position; anything else is an error."""
    if isinstance(value, sops.SOp):
        return value
    if is_atom(value):
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            raise RaspError("number too large for an s-op (s-ops hold 64-bit numbers)", node.span)
        return sops.Full(value=value, span=node.span)
    if isinstance(value, sops.Selector):
        raise RaspError(f"{what} must be an s-op, but this is a selector "
                        "(use aggregate or selector_width to get an s-op from it)", node.span)
    raise RaspError(f"{what} must be an s-op or a plain value, got {kind_name(value)}", node.span)


def as_selector(value: Any, node: ast.Expr, what: str) -> sops.Selector:
    if isinstance(value, sops.Selector):
        return value
    if isinstance(value, sops.SOp):
        raise RaspError(f"{what} must be a selector, but this is an s-op "
                        "(make a selector with select(keys, queries, op))", node.span)
    raise RaspError(f"{what} must be a selector, got {kind_name(value)}", node.span)


def as_atom(value: Any, node: ast.Expr, what: str) -> Any:
    if is_atom(value):
        return value
    raise RaspError(f"{what} must be a plain value (number, string or boolean), "
                    f"got {kind_name(value)}", node.span)


def as_int(value: Any, node: ast.Expr, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise RaspError(f"{what} must be an integer, got {kind_name(value)}", node.span)


def as_list(value: Any, node: ast.Expr, what: str) -> list:
    if isinstance(value, list):
        return value
    raise RaspError(f"{what} must be a list, got {kind_name(value)}", node.span)


# ---- implementations -----------------------------------------------------------------------


def _select(args: list[Any], call: ast.Call) -> sops.Select:
    keys = as_sop(args[0], call.args[0], "the keys of select")
    queries = as_sop(args[1], call.args[1], "the queries of select")
    return sops.Select(keys=keys, queries=queries, op=args[2].op, span=call.span)


def _aggregate_with(reduce: str) -> Callable[[list[Any], ast.Call], sops.Aggregate]:
    name = "aggregate" if reduce == "mean" else f"aggregate_{reduce}"

    def impl(args: list[Any], call: ast.Call) -> sops.Aggregate:
        selector = as_selector(args[0], call.args[0], f"the first argument of {name}")
        values = as_sop(args[1], call.args[1], f"the values of {name}")
        default = as_atom(args[2], call.args[2], f"the default of {name}") if len(args) > 2 else 0
        return sops.Aggregate(selector=selector, values=values, default=default,
                              reduce=reduce, span=call.span)

    return impl


def _selector_width(args: list[Any], call: ast.Call) -> sops.SelectorWidth:
    selector = as_selector(args[0], call.args[0], "the argument of selector_width")
    return sops.SelectorWidth(selector=selector, span=call.span)


def in_range(value: Any, what: str, node: ast.Expr) -> Any:
    """A plain number computed at build time, held to the numeric contract (docs/language.md):
    64-bit integers and finite floats, else an error at the operation."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if (isinstance(value, int) and not INT_MIN <= value <= INT_MAX) or (isinstance(value, float) and not math.isfinite(value)):
        kind = "64-bit integers" if isinstance(value, int) else "finite 64-bit floats"
        raise RaspError(f"{what} gives a number too large or undefined (numbers are {kind})", node.span)
    return value


def _elementwise(op: str, plain: Callable[[Any], Any], accepts: tuple[type, ...]
                 ) -> Callable[[list[Any], ast.Call], Any]:
    def impl(args: list[Any], call: ast.Call) -> Any:
        (value,) = args
        if isinstance(value, sops.SOp):
            return sops.Map(op=op, args=(value,), span=call.span)
        if isinstance(value, accepts):
            try:
                return in_range(plain(value), f"'{op}'", call)
            except (OverflowError, ValueError):  # round of an infinity or NaN
                raise RaspError(f"'{op}' gives a number too large or undefined", call.span) from None
        raise RaspError(f"{op} needs an s-op or a number, got {kind_name(value)}", call.args[0].span)

    return impl


def _len(args: list[Any], call: ast.Call) -> int:
    (value,) = args
    if isinstance(value, (list, str, dict)):
        return len(value)
    raise RaspError(f"len needs a list, got {kind_name(value)}", call.args[0].span)


def _range(args: list[Any], call: ast.Call) -> list[int]:
    bounds = [as_int(a, node, "range's arguments") for a, node in zip(args, call.args)]
    if len(bounds) == 3 and bounds[2] == 0:
        raise RaspError("range's step must not be zero", call.args[2].span)
    result = range(*bounds)
    if len(result) > RANGE_LIMIT:
        raise RaspError(f"range of {len(result):,} numbers is too long (limit {RANGE_LIMIT:,})", call.span)
    return list(result)


def _zip(args: list[Any], call: ast.Call) -> list[list]:
    lists = [as_list(a, node, "zip's arguments") for a, node in zip(args, call.args)]
    if len({len(x) for x in lists}) > 1:
        raise RaspError(f"zip needs lists of one length, got lengths {[len(x) for x in lists]}", call.span)
    return [list(t) for t in zip(*lists)]


def _kqv(args: list[Any], call: ast.Call) -> sops.Aggregate:
    keys = as_sop(args[0], call.args[0], "the keys of kqv")
    queries = as_sop(args[1], call.args[1], "the queries of kqv")
    values = as_sop(args[2], call.args[2], "the values of kqv")
    default = as_atom(args[4], call.args[4], "the default of kqv")
    selector = sops.Select(keys=keys, queries=queries, op=args[3].op, span=call.span)
    return sops.Aggregate(selector=selector, values=values, default=default, span=call.span)


def _encoding(encoding: str) -> Callable[[list[Any], ast.Call], sops.SOp]:
    def impl(args: list[Any], call: ast.Call) -> sops.SOp:
        value = args[0]
        if not isinstance(value, sops.SOp):
            raise RaspError(f"{encoding} needs an s-op, got {kind_name(value)}", call.args[0].span)
        return value.with_encoding(encoding)

    return impl


FUNCTIONS: dict[str, Builtin] = {b.name: b for b in [
    Builtin("select", 3, 3, _select, takes_operator=2),
    Builtin("aggregate", 2, 3, _aggregate_with("mean")),
    Builtin("aggregate_max", 2, 3, _aggregate_with("max")),
    Builtin("aggregate_min", 2, 3, _aggregate_with("min")),
    Builtin("selector_width", 1, 1, _selector_width),
    Builtin("kqv", 5, 5, _kqv, takes_operator=3),
    Builtin("indicator", 1, 1, _elementwise("indicator", lambda v: int(bool(v)), (bool, int, float, str))),
    Builtin("round", 1, 1, _elementwise("round", lambda v: int(round(v)), (bool, int, float))),
    Builtin("abs", 1, 1, _elementwise("abs", abs, (bool, int, float))),
    Builtin("len", 1, 1, _len),
    Builtin("range", 1, 3, _range),
    Builtin("zip", 1, -1, _zip),
    Builtin("numerical", 1, 1, _encoding("numerical")),
    Builtin("categorical", 1, 1, _encoding("categorical")),
]}

CONSTANTS = ("True", "False", "indices", "length", *sops.TOKEN_VIEWS, "tokens_asis")

# Names a program may not assign, as the classic REPL refuses them: the constants but `tokens`
# (which may be re-bound, `tokens = tokens_int;`), the built-in functions, and `get` (reserved
# there). The language's keywords (`if`, `and`, `def`, ...) cannot be assigned either: the parser
# refuses them. Unlike the classic REPL, the prelude's functions (`sort`, `count`, ...) and `out`
# may be bound (docs/language.md).
RESERVED = (frozenset(CONSTANTS) - {"tokens"}) | frozenset(FUNCTIONS) | {"get"}


def constant(name: str) -> Any:
    """A fresh node (or plain value) for a built-in constant name."""
    if name == "True":
        return True
    if name == "False":
        return False
    if name == "indices":
        return sops.Indices(label="indices")
    if name == "length":
        return sops.Length(label="length")
    view = "tokens" if name == "tokens_asis" else name
    return sops.Tokens(view=view, label=name)
