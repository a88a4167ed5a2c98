"""Element-wise chains as one table: `indicator(tokens == "x")` is one MLP lookup, not two.

A map whose operands are maps (and their operands maps, ...) computes, at each position, a
function of the s-ops where that chain of maps starts (its *leaves*: tokens, indices, aggregates,
selector widths, ...). When there are at most two leaves, the lowering can tabulate the whole
chain over the leaves' values at once (`compiler.lower`), one MLP for the chain, instead of one
MLP per map stacked in as many layers. The table is computed with the language's own operations,
map by map (`chain_function`), so it is the interpreter's definition, as every table is.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from compiler.tables import Columns
from rasp.language import semantics, sops

MAX_LEAVES = 2  # a table over one s-op is a Map, over two a SequenceMap


def chain(node: sops.Map) -> tuple[list[sops.Map], list[sops.SOp]] | None:
    """The maps of the chain that ends at `node` (each after its operands, `node` last) and its
    leaves (first-seen order), when some operand of `node` is a map and there are at most
    MAX_LEAVES leaves; else None."""
    if not any(isinstance(a, sops.Map) for a in node.args):
        return None
    maps: list[sops.Map] = []
    leaves: list[sops.SOp] = []
    seen: set[int] = set()
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
            leaves.append(current)
            if len(leaves) > MAX_LEAVES:
                return None
            continue
        stack.append((current, True))
        stack.extend((a, False) for a in reversed(current.args) if isinstance(a, sops.SOp))
    return maps, leaves


def chain_function(maps: list[sops.Map], leaves: list[sops.SOp]) -> Callable[[Columns], np.ndarray]:
    """The chain's last map as a function of one array per leaf (what `tables.tabulate` takes)."""
    def run(arrays: Columns) -> np.ndarray:
        values = {id(leaf): array for leaf, array in zip(leaves, arrays)}
        shape = arrays[0].shape
        for m in maps:
            args = [values[id(a)] if isinstance(a, sops.SOp) else semantics.as_array(a, shape) for a in m.args]
            values[id(m)] = semantics.apply_map(m, args)
        return values[id(maps[-1])]
    return run
