"""Element-wise chains as one table: `indicator(tokens == "x")` is one MLP lookup, not two.

A map whose operands are maps (and their operands maps, ...) computes, at each position, a
function of the s-ops where that chain of maps starts (its *leaves*: tokens, indices, aggregates,
selector widths, ...). When there are at most two leaves, the lowering can tabulate the whole
chain over the leaves' values at once (`compiler.lower`), one MLP for the chain, instead of one
MLP per map stacked in as many layers. The table is computed with the language's own operations,
map by map (`chain_function`), so it is the interpreter's definition, as every table is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from compiler.tables import Columns, object_array, typed
from rasp.language import semantics, sops

MAX_LEAVES = 2  # a table over one s-op is a Map, over two a SequenceMap


@dataclass(frozen=True)
class Fused:
    """A map already lowered as one table over its chain's leaves: a later chain through it
    reads the table instead of running its maps again (a chain of n maps costs n tables, not n^2)."""

    leaves: list[sops.SOp]
    table: dict[tuple, Any]  # leaf values (in `leaves` order) -> the map's value


def chain(node: sops.Map, known: dict[int, Fused] | None = None) -> tuple[list[sops.Map], list[sops.SOp]] | None:
    """The maps of the chain that ends at `node` (each after its operands, `node` last) and its
    leaves (first-seen order), when some operand of `node` is a map and there are at most
    MAX_LEAVES leaves; else None. A map in `known` is not descended into: its leaves count."""
    if not any(isinstance(a, sops.Map) for a in node.args):
        return None
    known = known or {}
    maps: list[sops.Map] = []
    leaves: list[sops.SOp] = []
    seen: set[int] = set()

    def leaf(x: sops.SOp) -> bool:
        if id(x) not in {id(v) for v in leaves}:
            leaves.append(x)
        return len(leaves) <= MAX_LEAVES

    stack: list[tuple[sops.SOp, bool]] = [(node, False)]
    while stack:
        current, operands_done = stack.pop()
        if operands_done:
            maps.append(current)
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if not isinstance(current, sops.Map):
            if not leaf(current):
                return None
            continue
        if current is not node and id(current) in known:
            if not all(leaf(x) for x in known[id(current)].leaves):
                return None
            maps.append(current)
            continue
        stack.append((current, True))
        stack.extend((a, False) for a in reversed(current.args) if isinstance(a, sops.SOp))
    return maps, leaves


def chain_function(maps: list[sops.Map], leaves: list[sops.SOp],
                   known: dict[int, Fused] | None = None) -> Callable[[Columns], np.ndarray]:
    """The chain's last map as a function of one array per leaf (what `tables.tabulate` takes);
    maps in `known` (but the last) are read from their tables."""
    known = known or {}

    def lookup(m: sops.Map, fused: Fused, values: dict[int, np.ndarray], shape: tuple) -> np.ndarray:
        out = []
        for i, key in enumerate(zip(*(values[id(x)].ravel().tolist() for x in fused.leaves))):
            if key not in fused.table:  # a combination the map rejects (a division by zero)
                raise semantics.ExecError(m, "outside the map's values", 0, i)
            out.append(fused.table[key])
        return typed(object_array(out)).reshape(shape)

    def run(arrays: Columns) -> np.ndarray:
        values = {id(leaf): array for leaf, array in zip(leaves, arrays)}
        shape = arrays[0].shape
        for m in maps:
            if m is not maps[-1] and id(m) in known:
                values[id(m)] = lookup(m, known[id(m)], values, shape)
                continue
            args = [values[id(a)] if isinstance(a, sops.SOp) else semantics.as_array(a, shape) for a in m.args]
            values[id(m)] = semantics.apply_map(m, args)
        return values[id(maps[-1])]
    return run
