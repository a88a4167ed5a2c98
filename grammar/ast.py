"""The typed syntax tree of a .rasp file. Every node knows where it came from.

This is the program's one representation: the interpreter, the compiler and the
analysis all read these nodes (through `rasp.language.build`, which turns them into a graph of
s-ops and selectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from grammar.errors import Source, Span


@dataclass(frozen=True, kw_only=True)
class Node:
    span: Span
    depth: int = field(default=1, compare=False, repr=False)


# ---- expressions -------------------------------------------------------------------


class Expr(Node):
    pass


@dataclass(frozen=True)
class Number(Expr):
    value: int | float


@dataclass(frozen=True)
class String(Expr):
    value: str


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class ListLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class DictLit(Expr):
    pairs: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class ListComp(Expr):
    element: Expr
    targets: tuple[str, ...]
    iterable: Expr


@dataclass(frozen=True)
class DictComp(Expr):
    key: Expr
    value: Expr
    targets: tuple[str, ...]
    iterable: Expr


@dataclass(frozen=True)
class BinOp(Expr):
    """`+ - * / % ^`, comparisons, `and`, `or`, and `in` (operator "in")."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp(Expr):
    """`-x`, `+x`, `not x`."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class IfElse(Expr):
    then: Expr
    cond: Expr
    otherwise: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(frozen=True)
class Operator(Expr):
    """A comparison written as an argument: the `==` of `select(k, q, ==)`."""

    op: str


# ---- statements --------------------------------------------------------------------


class Stmt(Node):
    pass


@dataclass(frozen=True)
class Assign(Stmt):
    targets: tuple[str, ...]
    values: tuple[Expr, ...]
    target_spans: tuple[Span, ...] = field(compare=False, repr=False)


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True)
class Load(Stmt):
    name: str


@dataclass(frozen=True)
class FuncDef(Stmt):
    name: str
    params: tuple[str, ...]
    body: tuple[Stmt, ...]
    returns: tuple[Expr, ...]
    return_span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class ForLoop(Stmt):
    targets: tuple[str, ...]
    iterable: Expr
    body: tuple[Stmt, ...]


class Pragma(StrEnum):
    """What a `# rasp: ...` line may say about the whole file."""

    CAUSAL = "causal"  # run every selector causally
    DISTINCT = "distinct"  # the program expects inputs whose tokens are all different


@dataclass(frozen=True)
class Module:
    """A parsed file (or the statements typed into a REPL): its statements, its text, and the
    pragmas of its `# rasp: ...` lines."""

    statements: tuple[Stmt, ...]
    source: Source
    pragmas: frozenset[Pragma] = frozenset()
    domain: tuple[str, Span] | None = None  # `# rasp: domain=NAME`: the sampler its inputs come from

    @property
    def causal(self) -> bool:
        return Pragma.CAUSAL in self.pragmas

    @property
    def distinct(self) -> bool:
        return Pragma.DISTINCT in self.pragmas

    @property
    def path(self) -> str:
        return self.source.path
