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


class ReplKind(StrEnum):
    """The classic REPL's statements, as a file may hold them (`ReplStatement.kind`)."""

    SET_EXAMPLE = "set example"  # `set [s-op|selector] example EXPR`: the running example
    SHOW_EXAMPLE = "show example"  # `show [s-op|selector] example`: print the running example
    EXAMPLES = "examples"  # `[s-op|selector] examples on|off`: show examples beside values
    FULL_SEQ_DISPLAY = "full seq display"  # `full seq display on|off`: show s-ops in full
    DRAW = "draw"  # `draw(EXPR)` or `draw(EXPR, EXAMPLE);`: draw an s-op's computation
    EXIT = "exit"  # `exit`, `exit()`, `quit`, `quit()`: stop reading the file here


class Subset(StrEnum):
    """Which running example a REPL statement is about: both (nothing written), or one."""

    BOTH = "both"
    SOP = "s-op"
    SELECTOR = "selector"


@dataclass(frozen=True)
class ReplStatement(Stmt):
    """A statement of the classic REPL (Weiss et al.'s RASP), written in a file or typed.

    They change how a REPL displays values, never what a program computes: building or running
    a program skips them, except that `exit` ends the file (nothing after it is checked or run,
    as the classic REPL stops reading a file there). They stay in `Module.statements` in the
    file's order (`Module.repl_statements` lists them alone), so a REPL that loads the file can
    carry them out as it reaches them. Fields, by `kind`:

    - `SET_EXAMPLE`: `subset`; `example`, the expression (a string or a list of tokens when
      evaluated; it may name the file's values: `set example example2`). No `;` is needed; the
      expression is the rest of its line.
    - `SHOW_EXAMPLE`: `subset`.
    - `EXAMPLES`: `subset`; `on`, True for `on`, False for `off`.
    - `FULL_SEQ_DISPLAY`: `on`.
    - `DRAW`: `value`, the s-op expression; `example`, the input expression or None (then the
      running example).
    - `EXIT`: nothing.

    `span` is the statement's start; the expressions carry their own spans.
    """

    kind: ReplKind
    subset: Subset = Subset.BOTH
    on: bool | None = None
    value: Expr | None = None
    example: Expr | None = None


def until_exit(statements: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    """The statements before the first `exit` (all of them when there is none): what a file runs."""
    for i, stmt in enumerate(statements):
        if isinstance(stmt, ReplStatement) and stmt.kind is ReplKind.EXIT:
            return statements[:i]
    return statements


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
    def repl_statements(self) -> tuple[ReplStatement, ...]:
        """The classic REPL statements at the file's top level, in order (`ReplStatement`)."""
        return tuple(s for s in self.statements if isinstance(s, ReplStatement))

    @property
    def causal(self) -> bool:
        return Pragma.CAUSAL in self.pragmas

    @property
    def distinct(self) -> bool:
        return Pragma.DISTINCT in self.pragmas

    @property
    def path(self) -> str:
        return self.source.path
