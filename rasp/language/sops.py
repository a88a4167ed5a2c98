"""S-ops and selectors as a graph of operations: what a program computes, for every input.

`rasp.language.build` walks the AST once and produces these nodes; plain values (numbers, lists,
functions) are computed on the way, loops are unrolled, functions inlined. What is left
depends on the input only, so the same graph is executed on any batch (`rasp.language.execute`),
lowered to tracr (`compiler/`), and analysed (`predictor/`). Each node keeps the span of
the source that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, Iterator

from grammar.errors import Span

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class Encoding(StrEnum):
    """How a compiled model holds an s-op in its residual stream (LANGUAGE.md section 7)."""

    CATEGORICAL = "categorical"  # one dimension per value, one-hot
    NUMERICAL = "numerical"  # one dimension holding the number


class Reduce(StrEnum):
    """What an aggregate makes of the values its selector picks."""

    MEAN = "mean"  # classic RASP: the average (or the one value, for non-numbers)
    MAX = "max"  # RASP-L: the largest
    MIN = "min"  # RASP-L: the smallest


class TokenView(StrEnum):
    """The input tokens as given, or read as one type (the names are the language's)."""

    TOKENS = "tokens"
    STR = "tokens_str"
    INT = "tokens_int"
    FLOAT = "tokens_float"
    BOOL = "tokens_bool"


TOKEN_VIEWS = tuple(view.value for view in TokenView)


class Operation(StrEnum):
    """What a node does: the one vocabulary the program graph, the analysis and the compile
    report name nodes by (each node class below says which it is)."""

    TOKENS = "tokens"
    INDICES = "indices"
    LENGTH = "length"
    CONSTANT = "constant"
    MAP = "map"
    AGGREGATE = "aggregate"
    SELECTOR_WIDTH = "selector_width"
    SELECT = "select"
    AND = "and"
    OR = "or"
    NOT = "not"


@dataclass(eq=False)
class Value:
    """A node. Compared and hashed by identity: two equal-looking nodes are two operations."""

    span: Span | None = field(default=None, kw_only=True, repr=False)
    label: str | None = field(default=None, kw_only=True)
    operation: ClassVar[Operation]

    def inputs(self) -> tuple[Value, ...]:
        """The s-op and selector nodes this one reads."""
        return ()


@dataclass(eq=False)
class SOp(Value):
    """One value per position. `encoding` is the one `numerical(...)` or `categorical(...)` asked
    for, or None (let the compiler pick)."""

    encoding: Encoding | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.encoding is not None:
            self.encoding = Encoding(self.encoding)

    def with_encoding(self, encoding: Encoding | str) -> SOp:
        return replace(self, encoding=Encoding(encoding))


@dataclass(eq=False)
class Selector(Value):
    """An n-by-n boolean matrix per input: row = query position, column = key position."""


# ---- primitive s-ops ------------------------------------------------------------------

@dataclass(eq=False)
class Tokens(SOp):
    operation: ClassVar[Operation] = Operation.TOKENS
    view: TokenView = TokenView.TOKENS

    def __post_init__(self) -> None:
        super().__post_init__()
        self.view = TokenView(self.view)


@dataclass(eq=False)
class Indices(SOp):
    operation: ClassVar[Operation] = Operation.INDICES


@dataclass(eq=False)
class Length(SOp):
    operation: ClassVar[Operation] = Operation.LENGTH


@dataclass(eq=False)
class Full(SOp):
    """A plain value at every position (`select(indices, 0, ==)` makes one of 0)."""
    operation: ClassVar[Operation] = Operation.CONSTANT

    value: Any = None


@dataclass(eq=False)
class Map(SOp):
    """An element-wise operation. `args` mixes SOps and plain values (broadcast).

    Operators: the binary ones of the language (`+ - * / % ^`, comparisons, `and`, `or`),
    `neg`, `pos`, `not`, `indicator`, `round`, `abs`, `ifelse` (cond, then, else), `in`
    (s-op, list of plain values), and `lookup` and `index` (s-op, the (key, value) pairs of a dict,
    or of a list or string with its indices -n..n-1): `d[tokens]`, `names[indices]`.
    """
    operation: ClassVar[Operation] = Operation.MAP

    op: str = ""
    args: tuple[Any, ...] = ()

    def inputs(self) -> tuple[Value, ...]:
        return tuple(a for a in self.args if isinstance(a, Value))


@dataclass(eq=False)
class Aggregate(SOp):
    """The `reduce` of the values `selector` picks for each query; `default` where it picks none."""
    operation: ClassVar[Operation] = Operation.AGGREGATE

    selector: Selector = None  # type: ignore[assignment]
    values: SOp = None  # type: ignore[assignment]
    default: Any = 0
    reduce: Reduce = Reduce.MEAN

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reduce = Reduce(self.reduce)

    def inputs(self) -> tuple[Value, ...]:
        return (self.selector, self.values)


@dataclass(eq=False)
class SelectorWidth(SOp):
    operation: ClassVar[Operation] = Operation.SELECTOR_WIDTH
    selector: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.selector,)


# ---- selectors -------------------------------------------------------------------------


@dataclass(eq=False)
class Select(Selector):
    """Entry [q][k] is `keys[k] op queries[q]`."""
    operation: ClassVar[Operation] = Operation.SELECT

    keys: SOp = None  # type: ignore[assignment]
    queries: SOp = None  # type: ignore[assignment]
    op: str = "=="

    def inputs(self) -> tuple[Value, ...]:
        return (self.keys, self.queries)


@dataclass(eq=False)
class SelectAnd(Selector):
    operation: ClassVar[Operation] = Operation.AND
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class SelectOr(Selector):
    operation: ClassVar[Operation] = Operation.OR
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class SelectNot(Selector):
    operation: ClassVar[Operation] = Operation.NOT
    inner: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.inner,)


def operation_name(node: Value) -> str:
    """What a node does, in the words reports use ("map +", "aggregate", "selector_width")."""
    if isinstance(node, Map):
        return f"map {node.op}"
    if isinstance(node, Aggregate) and node.reduce != Reduce.MEAN:
        return f"aggregate_{node.reduce}"
    return node.operation


def display_name(node: Value) -> str:
    """How messages name a node: its name, else what it does and where it starts in the source
    ("the aggregate at line 3, col 5", "the map '-' at line 2, col 9")."""
    if node.label:
        return node.label
    what = f"map '{node.op}'" if isinstance(node, Map) else operation_name(node)
    where = f" at line {node.span.line}, col {node.span.col}" if node.span is not None else ""
    return f"the {what}{where}"


def walk(outputs: list[Value] | tuple[Value, ...], only: type[Value] = Value) -> Iterator[Value]:
    """Every node that `outputs` depend on, each once, inputs before the nodes that read them
    (children left to right); through inputs of type `only` (`Selector`: one selector's tree).

    Iterative, so graphs thousands of operations deep (unrolled loops) are fine.
    """
    seen: set[int] = set()
    for root in outputs:
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in seen:
                continue
            if expanded:
                seen.add(id(node))
                yield node
                continue
            stack.append((node, True))
            for child in reversed(node.inputs()):
                if id(child) not in seen and isinstance(child, only):
                    stack.append((child, False))
