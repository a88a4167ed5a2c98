"""Before building any weight: how large will the model be? Refuse what will not fit.

The estimate reads only value sets and the graph's depth (both known after lowering, in
milliseconds); building the weights of a too-large model would take minutes and then fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from tracr.compiler import nodes
from tracr.rasp import rasp as tr

from compiler.errors import CompileError
from compiler.lowered import Helper, Info
from compiler.tables import MAX_TABLE_WORK
from rasp.language.machine import usable_memory
from rasp.language.sops import Encoding


@dataclass(frozen=True)
class Estimate:
    """The model's size, from value sets and depth alone."""

    residual_width: int  # dimensions of the residual stream
    layers: int
    key_size: int  # the largest head's
    mlp_hidden: int  # the largest MLP's
    parameters: int
    largest: Info | None  # the s-op that contributes most to the size
    work: int = 0  # attention-score and MLP-table entries tracr fills one Python call at a time

    @property
    def bytes(self) -> int:
        return self.parameters * 4


def memory_budget() -> int:
    """Bytes a compile may use: the weights are built several times over (craft, haiku, ours)."""
    return usable_memory() // 4


def estimate(graph: nx.DiGraph, info: dict[str, Info], vocab_size: int, max_len: int) -> Estimate:
    width = vocab_size + 2 + max_len + 1
    key_size = 1
    mlp_hidden = 1
    largest: Info | None = None
    largest_size = 0
    work = 0
    for label, entry in info.items():
        if label not in graph.nodes or label in ("tokens", "indices"):
            continue
        dims = len(entry.values) if entry.encoding is Encoding.CATEGORICAL else 1
        width += dims
        expr = graph.nodes[label][nodes.EXPR]
        hidden = len(entry.table) if entry.table else 0
        if isinstance(expr, tr.Map) and info[expr.inner.label].encoding is Encoding.NUMERICAL:
            hidden = 2 * len(info[expr.inner.label].values)
            work += hidden * hidden  # tracr builds these one identity matrix per direction
        if isinstance(expr, tr.SelectorWidth):
            hidden = max_len + 1
        mlp_hidden = max(mlp_hidden, hidden)
        work += len(entry.table)
        if isinstance(expr, (tr.Aggregate, tr.SelectorWidth)):
            select = expr.selector
            sizes = [len(info[part.label].values) for part in (select.keys, select.queries)]
            key_size = max(key_size, max(sizes) + 2)
            work += sizes[0] * sizes[1]
        size = max(dims, hidden)
        if size > largest_size:
            largest, largest_size = entry, size
    depth = nx.dag_longest_path_length(graph) + 1 if graph.number_of_nodes() else 1
    layers = max(1, (depth + 1) // 2)
    heads = max(1, sum(1 for n in graph.nodes.values()
                       if isinstance(n[nodes.EXPR], (tr.Aggregate, tr.SelectorWidth))))
    heads = min(heads, max(1, depth))
    parameters = layers * (4 * width * key_size * heads + 2 * width * mlp_hidden) + width * (vocab_size + max_len + 3)
    return Estimate(width, layers, key_size, mlp_hidden, parameters, largest, work)


def refuse_if_too_large(est: Estimate, vocab_size: int, max_len: int) -> None:
    budget = memory_budget()
    if est.bytes <= budget and est.work <= MAX_TABLE_WORK:
        return
    culprit = ""
    span = None
    if est.largest is not None:
        origin = est.largest.origin
        span = origin.span if origin is not None else est.largest.span
        what = (f"{origin.label!r}" if origin is not None and origin.label else
                "the pairing of a selector's keys or queries" if est.largest.helper is Helper.PAIRING else
                "an s-op")
        culprit = f"; the largest part is {what} with {len(est.largest.values):,} values"
    if est.bytes <= budget:
        problem = (f"building this model means filling about {est.work:,} table entries (attention "
                   f"scores and MLP tables, one call each; the limit is {MAX_TABLE_WORK:,}, a minute or so)")
    else:
        problem = (f"this model would need about {est.parameters:,} parameters ({est.bytes / 2**30:.1f} GiB; "
                   f"about {budget / 2**30:.1f} GiB can be spent here)")
    raise CompileError(
        f"{problem}{culprit}. Shrink the vocabulary "
        f"(now {vocab_size}) or the maximum length (now {max_len}), or rewrite that s-op with "
        "fewer distinct values", span)
