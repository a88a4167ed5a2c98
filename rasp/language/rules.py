"""Rules about names, argument counts and loads, each stated once.

The checker applies all of them to the syntax tree before anything is built, and every
path into the builder runs the checker first (`program.from_tree`, `program.load_checked`,
the REPL statement by statement), so the builder relies on it for built-in names and load
cycles. Argument counts the builder checks again: only a value shows which function a call
reaches when the callee is not a plain name (`f = [g][0]; f(1);`, a function passed as an
argument).
"""

from __future__ import annotations

from pathlib import Path

from grammar import ast
from grammar.errors import RaspError, Span
from rasp.language.builtins import RESERVED
from rasp.language.values import Builtin


def check_assignable(name: str, span: Span) -> None:
    """Built-in names cannot be bound, except `tokens` (as in classic RASP; `builtins.RESERVED`)."""
    if name in RESERVED:
        raise RaspError(f"'{name}' is a built-in name and cannot be assigned", span)


def check_arity(callee: Builtin | ast.FuncDef, call: ast.Call) -> None:
    """The call gives the callee as many arguments as it takes."""
    if isinstance(callee, Builtin):
        low, high = callee.min_args, callee.max_args  # high < 0: no upper limit
    else:
        low = high = len(callee.params)
    given = len(call.args)
    if given < low or (high >= 0 and given > high):
        want = f"{low}" if low == high else f"at least {low}" if high < 0 else f"{low} to {high}"
        plural = "s" * (want != "1")
        raise RaspError(f"{callee.name} takes {want} argument{plural}, but {given} "
                        f"{'was' if given == 1 else 'were'} given", call.span)


def check_not_loading(loading: list[str], path: str, span: Span) -> None:
    """A file may not load itself, directly or through others. `loading`: the files being
    loaded, outermost first; the message shows the cycle, file by file."""
    if path in loading:
        cycle = [*loading[loading.index(path):], path]
        raise RaspError("load cycle: " + " -> ".join(Path(p).name for p in cycle), span)
