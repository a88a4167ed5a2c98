"""Value sets, computed, not sampled: every value each s-op can take on inputs over a vocabulary up
to a maximum length, and which of them grow with that length.

The sets come from the operands' sets by the language's own semantics (`compiler.tables`, the
tables the compiler builds its MLPs from), so the same program, vocabulary and length always give
the same sets. A set is an over-approximation where operands are correlated (`x - x` is computed
over every pair of values), never a sample. Aggregates follow the compiler's reading: a mean of
the numbers 0 and 1 (or an s-op marked `numerical`) averages, anything else is a lookup of one
value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from compiler.errors import CompileError
from compiler.tables import map_function, object_array, sorted_values, tabulate, typed
from rasp.language import semantics, sops

LIMIT = 20_000  # values of one s-op, or value combinations of one map, before it counts as unbounded

ValueSet = frozenset | None  # None: more values than LIMIT (unbounded for our purposes)


def averages(values: ValueSet, node: sops.Aggregate) -> bool:
    """Whether an aggregate averages (a mean of 0/1 numbers, or marked numerical) rather than
    looking up one value (what the compiler decides, `compiler.lower`)."""
    if node.reduce != sops.Reduce.MEAN:
        return False
    if node.encoding is not None:
        return node.encoding is sops.Encoding.NUMERICAL
    return values is not None and bool(values) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1) for v in values)


def value_sets(output: sops.SOp, vocab: list[Any], max_len: int) -> dict[int, ValueSet]:
    """id(s-op) -> its value set on inputs over `vocab` of length at most `max_len`."""
    sets: dict[int, ValueSet] = {}
    for node in sops.walk([output], sops.Value):
        if isinstance(node, sops.SOp):
            sets[id(node)] = one(node, sets, vocab, max_len)
    return sets


def one(node: sops.SOp, sets: dict[int, ValueSet], vocab: list[Any], max_len: int) -> ValueSet:
    if isinstance(node, sops.Tokens):  # the tokens this view can read (the interpreter rejects the rest)
        read = set()
        for token in vocab:
            try:
                read.update(np.asarray(semantics.token_view(node, typed(object_array([token]).reshape(1, 1))))
                            .ravel().tolist())
            except semantics.ExecError:
                pass
        return frozenset(read)
    if isinstance(node, sops.Indices):
        return frozenset(range(max_len))
    if isinstance(node, sops.Length):
        return frozenset(range(1, max_len + 1))
    if isinstance(node, sops.SelectorWidth):
        return frozenset(range(max_len + 1))
    if isinstance(node, sops.Full):
        return frozenset([node.value])
    if isinstance(node, sops.Aggregate):
        values = sets[id(node.values)]
        if values is None:
            return None
        if averages(values, node):
            if max_len * max_len // 2 > LIMIT:
                return None
            return frozenset({k / n for n in range(1, max_len + 1) for k in range(n + 1)} | {node.default})
        return frozenset(values | {node.default})
    if isinstance(node, sops.Map):
        return mapped(node, sets)
    return None  # pragma: no cover - every s-op kind is above


def mapped(node: sops.Map, sets: dict[int, ValueSet]) -> ValueSet:
    operands = [a for a in node.args if isinstance(a, sops.SOp)]
    inputs = [sets[id(a)] for a in operands]
    if any(s is None for s in inputs) or int(np.prod([len(s) for s in inputs])) > LIMIT:
        return None
    combos = list(itertools.product(*[sorted_values(set(s)) for s in inputs]))
    if not combos:
        return frozenset()
    try:
        table = tabulate(map_function(node, operands), combos, len(operands), node)
    except CompileError:
        return frozenset()
    out = frozenset(table.values())
    return out if len(out) <= LIMIT else None


@dataclass(frozen=True)
class Growth:
    """How an s-op's value set changes from one maximum length to twice it."""

    name: str
    short: int | None  # values up to the shorter length (None: unbounded)
    long: int | None

    @property
    def grows(self) -> bool:
        return self.long is None or (self.short is not None and self.long > self.short)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values_short": self.short, "values_long": self.long, "grows": self.grows}


def growth(output: sops.SOp, short: dict[int, ValueSet], long: dict[int, ValueSet],
           names: dict[int, str]) -> list[Growth]:
    """Every s-op whose value set grows from `short` to `long` (`value_sets` at a length and at
    twice it), in graph order."""
    rows = []
    for node in sops.walk([output], sops.Value):
        if isinstance(node, sops.SOp):
            a, b = short[id(node)], long[id(node)]
            row = Growth(names.get(id(node), sops.operation_name(node)), None if a is None else len(a),
                         None if b is None else len(b))
            if row.grows:
                rows.append(row)
    return rows
