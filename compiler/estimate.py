"""Before building any weight: how large will the model be? Refuse what will not fit.

The estimate reads only value sets and the graph, its blocks placed in layers as tracr will place
them (both known after lowering, in milliseconds); building the weights of a too-large model would
take minutes and then fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from tracr.compiler import nodes
from tracr.rasp import rasp as tr

from compiler.errors import CompileError
from compiler.lowered import Helper, Info
from compiler.tracr_graph import computational_depth
from rasp.language.machine import usable_memory
from rasp.language import sops
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
    score_bytes: int = 0  # the attention score tables, built whole while compiling

    @property
    def bytes(self) -> int:
        return PARAMETER_BYTES * self.parameters + self.score_bytes


# Bytes a compile holds at its peak, per parameter (float64 blocks and layout, then the float32
# model: sort with ties at length 128 over 32 tokens peaks at 3.5 GB for 327M parameters, 10.6
# bytes each) and per key-query pair of a head (its scores, their product, the selector's steps).
PARAMETER_BYTES = 12
SCORE_BYTES = 24


def memory_budget() -> int:
    """Bytes a compile may use."""
    return usable_memory()


def estimate(graph: nx.DiGraph, info: dict[str, Info], vocab_size: int, max_len: int, output: str | None = None
             ) -> Estimate:
    """The model tracr would build for `graph` (`output`: the sink's label, for the unembedding)."""
    width = vocab_size + 2 + max_len + 1
    key_size = 1
    largest: Info | None = None
    largest_size = 0
    score_bytes = 0
    layer_of = allocate(graph, info)
    layers = max(layer_of.values(), default=0) + 1
    hidden_in = [0] * layers  # tracr sets a layer's MLPs side by side: their hidden sizes add up

    heads_in = [0] * layers
    for label, entry in info.items():
        if label not in graph.nodes or label in ("tokens", "indices"):
            continue
        dims = len(entry.values) if entry.encoding is Encoding.CATEGORICAL else 1
        expr = graph.nodes[label][nodes.EXPR]
        width += dims + isinstance(expr, tr.SelectorWidth)  # (a selector width's hidden dimension)
        hidden = len(entry.table) if entry.table else 0
        if isinstance(expr, tr.Map) and info[expr.inner.label].encoding is Encoding.NUMERICAL:
            hidden = 2 * len(info[expr.inner.label].values)
        if isinstance(expr, tr.SelectorWidth):
            hidden = 2 * (max_len + 1)  # tracr's selector-width MLP: two per possible width
        if label in layer_of:
            hidden_in[layer_of[label]] += hidden
            heads_in[layer_of[label]] += isinstance(expr, (tr.Aggregate, tr.SelectorWidth))
        if isinstance(expr, (tr.Aggregate, tr.SelectorWidth)):
            select = expr.selector
            sizes = [len(info[part.label].values) for part in (select.keys, select.queries)]
            value_output = dims if isinstance(expr, tr.Aggregate) else 1  # a head is as wide as this too
            key_size = max(key_size, max(sizes) + 2, value_output)
            score_bytes += SCORE_BYTES * sizes[0] * sizes[1]
        size = max(dims, hidden)
        if size > largest_size:
            largest, largest_size = entry, size
    mlp_hidden, heads = max(hidden_in + [1]), max(heads_in + [1])
    sink = info.get(output) if output is not None else None
    outputs = len(sink.values) if sink is not None and sink.encoding is Encoding.CATEGORICAL else 1
    parameters = (layers * (4 * width * key_size * heads + 2 * width * mlp_hidden  # matrices
                            + 3 * key_size * heads + 2 * width + mlp_hidden)  # biases
                  + width * (vocab_size + max_len + 3) + width * outputs)  # embeddings, unembedding
    return Estimate(width, layers, key_size, mlp_hidden, parameters, largest, score_bytes)


def allocate(graph: nx.DiGraph, info: dict[str, Info]) -> dict[str, int]:
    """The layer tracr will put each block in (`craft_graph_to_model._allocate_modules_to_layers`,
    from the expressions instead of the blocks): each map is an MLP, each aggregate a head, each
    selector width both, as is a categorical aggregate with a default (its head, then an MLP that
    writes the default where it selects nothing: `blocks.bos_cleanup`); a block's depth is the
    most blocks on a path to it, a level of heads followed by a level of MLPs is condensed into
    one, and the blocks at depth d go to layer d - 1 (its attention, its MLP, or both)."""
    def kind(label: str, expr: tr.RASPExpr) -> str:
        if isinstance(expr, (tr.Map, tr.SequenceMap)):
            return "mlp"
        cleaned = tr.is_categorical(expr) and label in info and info[label].default is not None
        return "attn" if isinstance(expr, tr.Aggregate) and not cleaned else "both"

    kinds = {label: kind(label, expr) for label, expr in ((label, node[nodes.EXPR]) for label, node in graph.nodes.items())
             if isinstance(expr, (tr.Map, tr.SequenceMap, tr.Aggregate, tr.SelectorWidth))}
    if not kinds:
        return {}
    depth = computational_depth(graph, [label for label in graph.nodes if graph.in_degree(label) == 0])
    levels: dict[int, list[str]] = {}
    for label in kinds:
        levels.setdefault(depth[label], []).append(label)
    level, top = min(levels), max(levels)
    while level < top:  # tracr's condensing, as it does it (an empty level is both kinds)
        if all(kinds[n] == "attn" for n in levels.get(level, [])) and \
                all(kinds[n] == "mlp" for n in levels.get(level + 1, [])):
            for above in range(level + 1, top + 1):
                levels.setdefault(above - 1, []).extend(levels.pop(above, []))
            top -= 1
        level += 1
    return {label: d - 1 for d, labels in levels.items() for label in labels}


def refuse_if_too_large(est: Estimate, vocab_size: int, max_len: int) -> None:
    budget = memory_budget()
    if est.bytes <= budget:
        return
    culprit = ""
    span = None
    if est.largest is not None:
        origin = est.largest.origin
        span = origin.span if origin is not None else est.largest.span
        what = (f"{origin.label!r}" if origin is not None and origin.label else
                "the pairing of a selector's keys or queries" if est.largest.helper is Helper.PAIRING else
                sops.display_name(origin) if origin is not None else
                "an s-op's values converted to the other encoding" if est.largest.helper is Helper.CONVERSION else
                "the input")
        culprit = f"; the largest part is {what} with {len(est.largest.values):,} values"
    problem = (f"this model would need about {est.parameters:,} parameters and "
               f"{est.score_bytes / 2**30:.1f} GiB of attention-score tables to build ({est.bytes / 2**30:.1f} GiB "
               f"in all; about {budget / 2**30:.1f} GiB can be spent here)")
    raise CompileError(
        f"{problem}{culprit}. Shrink the vocabulary "
        f"(now {vocab_size}) or the maximum length (now {max_len}), or rewrite that s-op with "
        "fewer distinct values", span)
