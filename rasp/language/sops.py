"""S-ops and selectors as a graph of operations: what a program computes, for every input.

`rasp.language.build` walks the AST once and produces these nodes; plain values (numbers, lists,
functions) are computed on the way, loops are unrolled, functions inlined. What is left
depends on the input only, so the same graph is executed on any batch (`rasp.language.execute`),
lowered to tracr (`compiler/`), and analysed (`predictor/`). Each node keeps the span of
the source that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from grammar.errors import Span

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(eq=False)
class Value:
    """A node. Compared and hashed by identity: two equal-looking nodes are two operations."""

    span: Span | None = field(default=None, kw_only=True, repr=False)
    label: str | None = field(default=None, kw_only=True)

    def inputs(self) -> tuple[Value, ...]:
        """The s-op and selector nodes this one reads."""
        return ()


@dataclass(eq=False)
class SOp(Value):
    """One value per position. `encoding` is "numerical", "categorical" or None (let the compiler pick)."""

    encoding: str | None = field(default=None, kw_only=True)

    def with_encoding(self, encoding: str) -> SOp:
        return replace(self, encoding=encoding)


@dataclass(eq=False)
class Selector(Value):
    """An n-by-n boolean matrix per input: row = query position, column = key position."""


# ---- primitive s-ops ------------------------------------------------------------------

TOKEN_VIEWS = ("tokens", "tokens_str", "tokens_int", "tokens_float", "tokens_bool")


@dataclass(eq=False)
class Tokens(SOp):
    view: str = "tokens"  # one of TOKEN_VIEWS


@dataclass(eq=False)
class Indices(SOp):
    pass


@dataclass(eq=False)
class Length(SOp):
    pass


@dataclass(eq=False)
class Full(SOp):
    """A plain value at every position (`select(indices, 0, ==)` makes one of 0)."""

    value: Any = None


@dataclass(eq=False)
class Map(SOp):
    """An element-wise operation. `args` mixes SOps and plain values (broadcast).

    Operators: the binary ones of the language (`+ - * / % ^`, comparisons, `and`, `or`),
    `neg`, `pos`, `not`, `indicator`, `round`, `abs`, `ifelse` (cond, then, else) and `in`
    (s-op, list of plain values).
    """

    op: str = ""
    args: tuple[Any, ...] = ()

    def inputs(self) -> tuple[Value, ...]:
        return tuple(a for a in self.args if isinstance(a, Value))


@dataclass(eq=False)
class Aggregate(SOp):
    """`reduce` is "mean" (classic RASP), or "max" / "min" (RASP-L)."""

    selector: Selector = None  # type: ignore[assignment]
    values: SOp = None  # type: ignore[assignment]
    default: Any = 0
    reduce: str = "mean"

    def inputs(self) -> tuple[Value, ...]:
        return (self.selector, self.values)


@dataclass(eq=False)
class SelectorWidth(SOp):
    selector: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.selector,)


# ---- selectors -------------------------------------------------------------------------


@dataclass(eq=False)
class Select(Selector):
    """Entry [q][k] is `keys[k] op queries[q]`."""

    keys: SOp = None  # type: ignore[assignment]
    queries: SOp = None  # type: ignore[assignment]
    op: str = "=="

    def inputs(self) -> tuple[Value, ...]:
        return (self.keys, self.queries)


@dataclass(eq=False)
class SelectAnd(Selector):
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class SelectOr(Selector):
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class SelectNot(Selector):
    inner: Selector = None  # type: ignore[assignment]

    def inputs(self) -> tuple[Value, ...]:
        return (self.inner,)


def operation_name(node: Value) -> str:
    """What a node does, in the words reports use ("map +", "aggregate", "selector_width")."""
    if isinstance(node, Map):
        return f"map {node.op}"
    if isinstance(node, Aggregate):
        return "aggregate" if node.reduce == "mean" else f"aggregate_{node.reduce}"
    return {"SelectorWidth": "selector_width", "Tokens": "tokens", "Indices": "indices",
            "Length": "length", "Full": "constant"}.get(type(node).__name__, type(node).__name__.lower())


def walk(outputs: list[Value] | tuple[Value, ...]) -> Iterator[Value]:
    """Every node that `outputs` depend on, each once, inputs before the nodes that read them.

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
                if id(child) not in seen:
                    stack.append((child, False))
