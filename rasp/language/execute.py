"""Run the s-op graph on a batch of same-length inputs with NumPy.

An s-op over a batch is a `(batch, n)` array, a selector a `(batch, n, n)` boolean array
with rows for queries and columns for keys. What each operation does to its arrays is
`rasp.language.semantics` (shared with the compiler); this module walks the graph. Errors
that depend on the input (a mean of strings, a division by zero) raise `ExecError` naming the
batch row and position; the caller turns the row back into the user's input. Each value is
freed as soon as the last node that reads it has run, so a program of many selectors holds only
those still needed, not all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rasp.language import semantics, sops
from rasp.language.semantics import ExecError
from rasp.language.sops import Value
from rasp.language.values import plural

__all__ = ["ExecError", "execute"]  # ExecError lives in semantics; callers catch it from here


def execute(outputs: list[Value], tokens: np.ndarray, causal: bool = False) -> list[np.ndarray]:
    """Evaluate `outputs` on a `(batch, n)` array of tokens; one array per output."""
    batch, n = tokens.shape
    positions = np.arange(n)
    causal_mask = positions[None, :] <= positions[:, None] if causal else None  # [q, k]: key at or before query
    memo: dict[int, np.ndarray] = {}

    def arg(x: Any) -> Any:
        return memo[id(x)] if isinstance(x, Value) else semantics.as_array(x, (batch, n))

    def value_of(node: Value) -> np.ndarray:
        if isinstance(node, sops.Tokens):
            return semantics.token_view(node, tokens)
        if isinstance(node, sops.Indices):
            return np.broadcast_to(positions, (batch, n))
        if isinstance(node, sops.Length):
            return np.broadcast_to(positions + 1 if causal else np.full(n, n), (batch, n))
        if isinstance(node, sops.Full):
            return semantics.as_array(node.value, (batch, n))
        if isinstance(node, sops.Map):
            return semantics.apply_map(node, [arg(a) for a in node.args])
        if isinstance(node, sops.Select):
            out = semantics.select(node, arg(node.keys), arg(node.queries))
            return out & causal_mask if causal else out
        if isinstance(node, sops.SelectAnd):
            return memo[id(node.left)] & memo[id(node.right)]
        if isinstance(node, sops.SelectOr):
            return memo[id(node.left)] | memo[id(node.right)]
        if isinstance(node, sops.SelectNot):
            out = ~memo[id(node.inner)]
            return out & causal_mask if causal else out
        if isinstance(node, sops.SelectorWidth):
            return np.count_nonzero(memo[id(node.selector)], axis=-1)
        if isinstance(node, sops.Aggregate):
            return semantics.aggregate(node, memo[id(node.selector)], arg(node.values))
        raise ExecError(node, f"cannot execute {type(node).__name__}")  # pragma: no cover

    order = list(sops.walk(outputs))
    last_use = {id(x): i for i, node in enumerate(order) for x in node.inputs()}  # the last reader wins
    kept = {id(o) for o in outputs}
    refuse_if_too_large(order, last_use, kept, batch, n)
    for i, node in enumerate(order):
        try:
            memo[id(node)] = value_of(node)
        except OverflowError:
            raise ExecError(node, "a number is too large for 64-bit arithmetic") from None
        for x in node.inputs():  # free what nothing after this node reads: selectors are n x n
            if last_use[id(x)] == i and id(x) not in kept:
                memo.pop(id(x), None)
    return [memo[id(o)] for o in outputs]


def live_bytes(order: list[Value], last_use: dict[int, int], kept: set[int], batch: int, n: int) -> int:
    """The most memory the values held at once need on this schedule (a selector: a byte per
    query-key pair; an s-op: eight bytes per position; numbers, not strings, so an estimate)."""
    size = {id(x): batch * n * (n if isinstance(x, sops.Selector) else 8) for x in order}
    live = peak = 0
    for i, node in enumerate(order):
        live += size[id(node)]
        peak = max(peak, live)
        for x in {id(x): x for x in node.inputs()}.values():
            if last_use[id(x)] == i and id(x) not in kept:
                live -= size[id(x)]
    return peak


def refuse_if_too_large(order: list[Value], last_use: dict[int, int], kept: set[int], batch: int, n: int) -> None:
    """Refuse, before running, inputs whose values held at once would not fit in memory."""
    from grammar.errors import RaspError
    from rasp.language.machine import usable_memory

    need, budget = live_bytes(order, last_use, kept, batch, n), usable_memory()
    if need > budget:
        shorter = int(n * (budget / need) ** 0.5)
        raise RaspError(f"running this program on {plural(batch, 'input')} of {plural(n, 'token')} holds about {need / 2**30:.1f} GiB "
                        f"of selectors and s-ops at once; about {budget / 2**30:.1f} GiB can be used here: run "
                        f"inputs of at most about {shorter:,} tokens, or keep fewer selectors alive at once")

