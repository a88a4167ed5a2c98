"""Pass 2: give every node of the tracr graph its craft block (attention head or MLP).

This mirrors tracr's `expr_to_craft_graph`, with two differences that matter:
- value sets are ours (computed by the lowering with the interpreter's operations), set on the
  graph before any block is built;
- a categorical aggregate may have a default value (tracr only allows none): when nothing is
  selected the head attends to the beginning-of-sequence token, and its value there is the
  default's direction;
- `aggregate_max` and `aggregate_min` compile (tracr has neither): the head adds to each key a
  score that grows (falls) with the key's value, below a selection's, so it attends to the
  selected key with the largest (smallest) value (`attention_head`);
- every head's scores (the selector over all key and query values) are written as one array
  (`selector_block`), where tracr calls the predicate once per pair: sort with ties at length 128
  over 32 tokens compares 16.8M pairs.
"""

from __future__ import annotations

from typing import Any, Callable

import networkx as nx
import numpy as np
from tracr.compiler import nodes
from tracr.craft import bases, transformers, vectorspace_fns
from tracr.craft.chamber import categorical_mlp, numerical_mlp
from tracr.rasp import rasp as tr

from compiler.lowered import Info
from compiler.selectors import SelectorPredicate
from compiler.tables import sorted_values
from rasp.language import sops

SOFTMAX_COLDNESS = 100.0
MAX_SHARPNESS = 1e6  # beyond this, float32 rounding of the input flips the discretising MLPs


def sharpness(values) -> float:
    """How steep a discretising MLP's steps must be to tell the closest input values apart
    (a step of width 1/sharpness sits between neighbours)."""
    ordered = sorted({float(v) for v in values})
    gap = min((b - a for a, b in zip(ordered, ordered[1:])), default=1.0)
    return float(min(max(100.0, 4.0 / max(gap, 1e-12)), MAX_SHARPNESS))


def set_value_sets(graph: nx.DiGraph, info: dict[str, Info]) -> None:
    """Write our value sets and residual directions onto tracr's graph."""
    for node_id, node in graph.nodes.items():
        expr = node[nodes.EXPR]
        if not isinstance(expr, tr.SOp):
            continue
        values = info[expr.label].values
        node[nodes.VALUE_SET] = set(values)
        if tr.is_numerical(expr):
            node[nodes.OUTPUT_BASIS] = bases.VectorSpaceWithBasis.from_names([expr.label]).basis
        else:
            node[nodes.OUTPUT_BASIS] = bases.VectorSpaceWithBasis.from_values(expr.label, values).basis


def _space(node: dict) -> bases.VectorSpaceWithBasis:
    return bases.VectorSpaceWithBasis(node[nodes.OUTPUT_BASIS])


def selector_block(scores: np.ndarray, query_space, key_space, selector_queries, selector_keys,
                   attend: SelectorPredicate | tr.Predicate, coldness: float) -> None:
    """Write `coldness` where the selector holds into the rows of its queries and the columns of
    its keys (the whole comparison at once: `SelectorPredicate.matrix`)."""
    rows = [query_space.index_by_direction[d] for d in selector_queries]
    cols = [key_space.index_by_direction[d] for d in selector_keys]
    keys, queries = [d.value for d in selector_keys], [d.value for d in selector_queries]
    if isinstance(attend, SelectorPredicate):
        holds = attend.matrix(keys, queries)
    else:  # tracr's own comparisons (the lowering's select-all)
        holds = np.array([[bool(attend(k, q)) for k in keys] for q in queries], dtype=bool).reshape(len(queries), len(keys))
    scores[np.ix_(rows, cols)] = coldness * holds


def attention_head(query_space, key_space, value_space, output_space, bos_dir, one_dir,
                   attend: Callable[[Any, Any], bool], value_to_output: dict, default_dir, causal: bool,
                   reduce: sops.Reduce = sops.Reduce.MEAN) -> transformers.AttentionHead:
    """A head that attends to the keys `attend` selects, or to BOS when there are none.

    The BOS position carries `bos + one`; the query's `one` gives the BOS key half the score of
    a selected key, so BOS wins only when nothing is selected. Values at BOS map to the default.

    For `max` (`min`) the query's `one` also adds to each key a score increasing (decreasing) in
    the key's value: rank r of R values scores 0.25 r / R of a selection, so an unselected key
    never outscores BOS and a selected one always does, and among the selected keys the highest
    rank wins by `coldness / 4R` = 20 logits (weight e^-20 for the next), the coldness being raised
    to 80 R for this head.
    """
    selector_queries, selector_keys = list(query_space.basis), list(key_space.basis)
    bos_space = bases.VectorSpaceWithBasis([bos_dir])
    one_space = bases.VectorSpaceWithBasis([one_dir])
    coldness, rank = SOFTMAX_COLDNESS, {}
    if reduce != sops.Reduce.MEAN:
        order = {value: r for r, value in enumerate(sorted_values({d.value for d in value_space.basis}))}
        ordered = sorted(value_space.basis, key=lambda d: order[d.value])
        count = len(ordered)
        coldness = max(SOFTMAX_COLDNESS, 80.0 * count)
        rank = {d: 0.25 * (r if reduce == sops.Reduce.MAX else count - 1 - r) / count for r, d in enumerate(ordered)}
        key_space = bases.join_vector_spaces(key_space, value_space)
    query_space = bases.join_vector_spaces(query_space, bos_space, one_space)
    key_space = bases.join_vector_spaces(key_space, bos_space)
    value_space = bases.join_vector_spaces(value_space, bos_space)

    scores = np.zeros((query_space.num_dims, key_space.num_dims))
    scores[query_space.index_by_direction[one_dir], key_space.index_by_direction[bos_dir]] = 0.5 * coldness
    for key, r in rank.items():
        scores[query_space.index_by_direction[one_dir], key_space.index_by_direction[key]] = coldness * r
    selector_block(scores, query_space, key_space, selector_queries, selector_keys, attend, coldness)

    def ov(direction: bases.BasisDirection) -> bases.VectorInBasis:
        if direction == bos_dir:
            if default_dir is None:
                return output_space.null_vector()
            return output_space.vector_from_basis_direction(default_dir)
        return output_space.vector_from_basis_direction(value_to_output[direction])

    w_qk = vectorspace_fns.ScalarBilinear(query_space, key_space, scores)
    w_ov = vectorspace_fns.Linear.from_action(value_space, output_space, ov)
    return transformers.AttentionHead(w_qk, w_ov, causal=causal)


def selector_width_block(query_space, key_space, output_space, bos_dir, one_dir, attend: SelectorPredicate,
                         out_values, categorical: bool, large_number: float, label: str):
    """tracr's `selector_width` block, its head's scores written at once (`selector_block`):
    a head that always attends to BOS (score `coldness`) and to the selected keys, and reads a
    value only at BOS, so it writes 1 / (width + 1); an MLP turns that into the width; another
    erases what both wrote at the BOS position."""
    bos_space, one_space = bases.VectorSpaceWithBasis([bos_dir]), bases.VectorSpaceWithBasis([one_dir])
    attn_out_dir = bases.BasisDirection(f"{label}_selector_width_attn_output")
    attn_out_space = bases.VectorSpaceWithBasis([attn_out_dir])
    queries = bases.join_vector_spaces(query_space, bos_space, one_space)
    keys = bases.join_vector_spaces(key_space, bos_space)
    scores = np.zeros((queries.num_dims, keys.num_dims))
    scores[queries.index_by_direction[one_dir], keys.index_by_direction[bos_dir]] = SOFTMAX_COLDNESS
    selector_block(scores, queries, keys, list(query_space.basis), list(key_space.basis), attend, SOFTMAX_COLDNESS)
    head = transformers.AttentionHead(
        vectorspace_fns.ScalarBilinear(queries, keys, scores),
        vectorspace_fns.Linear(bos_space, attn_out_space, np.ones((1, 1))), causal=False)

    width = numerical_mlp.map_numerical_to_categorical_mlp if categorical else numerical_mlp.map_numerical_mlp
    mlp = width(f=lambda x: round((1 / x) - 1), input_space=attn_out_space, output_space=output_space,
                input_value_set={1 / (w + 1) for w in out_values}, one_space=one_space,
                hidden_name=f"_hidden_{label}_", large_number=large_number)
    cleaned = bases.join_vector_spaces(attn_out_space, output_space)
    erase = attn_out_space.vector_from_basis_direction(attn_out_dir).project(cleaned)
    if categorical:  # the MLP writes width 0 at BOS too
        erase += cleaned.vector_from_basis_direction(next(d for d in output_space.basis if d.value == 0))
    hidden_dir = bases.BasisDirection("_hidden_clean_bos_")
    hidden = bases.VectorSpaceWithBasis([hidden_dir])
    clean = transformers.MLP(
        vectorspace_fns.Linear.from_action(bos_space, hidden, lambda _: hidden.vector_from_basis_direction(hidden_dir)),
        vectorspace_fns.Linear.from_action(hidden, cleaned, lambda _: -erase))
    return transformers.SeriesWithResiduals([head, transformers.MLP.combine_in_parallel([mlp, clean])])


def bos_cleanup(output_space, bos_dir, one_dir, label: str) -> transformers.MLP:
    """An MLP that erases, at the BOS position only, what the previous block wrote there.

    The default-value head writes its default at BOS too (BOS attends to itself), and heads
    that later read this s-op as keys assume BOS holds nothing but `bos + one`. Hidden unit i
    is relu(x_i + 2 bos - 2 one): x_i at BOS, 0 elsewhere (x_i <= 1); it is subtracted from x_i.
    """
    dims = list(output_space.basis)
    hidden = bases.VectorSpaceWithBasis([bases.BasisDirection(f"_clean_{label}_", i) for i in range(len(dims))])
    inputs = bases.join_vector_spaces(output_space, bases.VectorSpaceWithBasis([bos_dir, one_dir]))
    first = np.zeros((inputs.num_dims, hidden.num_dims))
    for i, d in enumerate(dims):
        first[inputs.index_by_direction[d], i] = 1.0
        first[inputs.index_by_direction[bos_dir], i] = 2.0
        first[inputs.index_by_direction[one_dir], i] = -2.0
    second = -np.eye(len(dims))
    return transformers.MLP(vectorspace_fns.Linear(inputs, hidden, first),
                            vectorspace_fns.Linear(hidden, output_space, second))


def add_blocks(graph: nx.DiGraph, info: dict[str, Info], bos: str, causal: bool, max_len: int,
               tick: Callable[[str], None] = lambda text: None) -> None:
    """Every s-op node's block (`nodes.MODEL_BLOCK`); `tick` hears which node is being built."""
    bos_dir = bases.BasisDirection(tr.tokens.label, bos)
    one_dir = bases.BasisDirection("one")
    one_space = bases.VectorSpaceWithBasis([one_dir])
    for number, (node_id, node) in enumerate(graph.nodes.items(), start=1):
        expr = node[nodes.EXPR]
        if not isinstance(expr, tr.SOp) or isinstance(expr, (tr.TokensType, tr.IndicesType)):
            continue
        tick(f"building blocks: {expr.label} (node {number} of {len(graph)})")
        out_space = _space(node)
        label = expr.label
        if isinstance(expr, tr.Map):
            inner = graph.nodes[expr.inner.label]
            in_space = _space(inner)
            f = expr.f
            if tr.is_categorical(expr.inner) and tr.is_categorical(expr):
                block = categorical_mlp.map_categorical_mlp(
                    in_space, out_space, lambda d, f=f, l=label: bases.BasisDirection(l, f(d.value)))
            elif tr.is_categorical(expr.inner):
                block = categorical_mlp.map_categorical_to_numerical_mlp(in_space, out_space, f)
            elif tr.is_categorical(expr):
                block = numerical_mlp.map_numerical_to_categorical_mlp(
                    f=f, input_space=in_space, output_space=out_space,
                    input_value_set=inner[nodes.VALUE_SET], one_space=one_space,
                    hidden_name=f"_hidden_{label}_", large_number=sharpness(inner[nodes.VALUE_SET]))
            else:
                block = numerical_mlp.map_numerical_mlp(
                    f=f, input_space=in_space, output_space=out_space,
                    input_value_set=inner[nodes.VALUE_SET], one_space=one_space,
                    hidden_name=f"_hidden_{label}_", large_number=sharpness(inner[nodes.VALUE_SET]))
        elif isinstance(expr, tr.LinearSequenceMap):
            block = numerical_mlp.linear_sequence_map_numerical_mlp(
                input1_basis_direction=_space(graph.nodes[expr.fst.label]).basis[0],
                input2_basis_direction=_space(graph.nodes[expr.snd.label]).basis[0],
                output_basis_direction=out_space.basis[0],
                input1_factor=expr.fst_fac, input2_factor=expr.snd_fac,
                hidden_name=f"_hidden_{label}_")
        elif isinstance(expr, tr.SequenceMap):
            fst, snd = _space(graph.nodes[expr.fst.label]), _space(graph.nodes[expr.snd.label])
            f = expr.f
            if fst == snd:  # the same s-op twice: a one-input table
                block = categorical_mlp.map_categorical_mlp(
                    fst, out_space, lambda d, f=f, l=label: bases.BasisDirection(l, f(d.value, d.value)))
            else:
                block = categorical_mlp.sequence_map_categorical_mlp(
                    fst, snd, out_space,
                    lambda a, b, f=f, l=label: bases.BasisDirection(l, f(a.value, b.value)),
                    one_space=one_space, hidden_name=f"_hidden_{label}_")
        elif isinstance(expr, tr.Aggregate):
            select = expr.selector
            values_node = graph.nodes[expr.sop.label]
            value_space = _space(values_node)
            if tr.is_numerical(expr):
                mapping = {value_space.basis[0]: out_space.basis[0]}
                default_dir = None
            else:
                mapping = {d: bases.BasisDirection(label, d.value) for d in value_space.basis}
                default = info[label].default
                default_dir = None if default is None else bases.BasisDirection(label, default)
            block = attention_head(
                _space(graph.nodes[select.queries.label]), _space(graph.nodes[select.keys.label]),
                value_space, out_space, bos_dir, one_dir, select.predicate, mapping, default_dir, causal,
                info[label].reduce or sops.Reduce.MEAN)
            if default_dir is not None:
                block = transformers.SeriesWithResiduals(
                    [block, bos_cleanup(out_space, bos_dir, one_dir, label)])
        elif isinstance(expr, tr.SelectorWidth):
            select = expr.selector
            block = selector_width_block(
                _space(graph.nodes[select.queries.label]), _space(graph.nodes[select.keys.label]), out_space,
                bos_dir, one_dir, select.predicate, node[nodes.VALUE_SET], tr.is_categorical(expr),
                sharpness([1 / (w + 1) for w in range(max_len + 1)]), label)
        else:  # pragma: no cover - the lowering makes no other kinds
            raise NotImplementedError(f"no block for {expr}")
        node[nodes.MODEL_BLOCK] = block
