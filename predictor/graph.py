"""The program graph: one networkx DiGraph of a program's operations, shared by the analysis,
its report and the drawing.

Nodes are the s-op and selector nodes of `rasp.language.sops` (by identity), with attributes:
`kind` (a `sops.Operation`: tokens, indices, length, constant, map, select, and, or, not,
aggregate, selector_width), `op`, `name`, `line`, `col`, `value` (a `values.Kind`: s-op or
selector), and, once a compiled model is attached, `encoding`, `layer` and `sublayer`. Edges run from inputs to the operations that
read them.
"""

from __future__ import annotations

import networkx as nx

from compiler.meta import ModelMeta
from rasp.language import sops
from rasp.language.sops import Operation
from rasp.language.values import Kind


def describe(node: sops.Value) -> str:
    """A short name for a node: its assigned name, else its operation."""
    if node.label:
        return node.label
    if isinstance(node, sops.Map):
        return f"({node.op})"
    return sops.operation_name(node)


def program_graph(output: sops.SOp) -> nx.DiGraph:
    graph = nx.DiGraph()
    for node in sops.walk([output]):
        span = node.span
        graph.add_node(node, kind=node.operation, name=describe(node),
                       op=getattr(node, "op", None) if not isinstance(node, sops.Aggregate) else node.reduce,
                       line=span.line if span else None, col=span.col if span else None,
                       value=Kind.SELECTOR if isinstance(node, sops.Selector) else Kind.SOP,
                       encoding=getattr(node, "encoding", None), layer=None, sublayer=None)
        for child in node.inputs():
            graph.add_edge(child, node)
    graph.graph["output"] = output
    return graph


def layered(graph: nx.DiGraph) -> tuple[dict, dict]:
    """Each node's depth (the longest path from an input to it; also set as the node's `depth`)
    and drawing positions: one row per depth, inputs at the top."""
    depth = {node: i for i, generation in enumerate(nx.topological_generations(graph)) for node in generation}
    for node in graph:
        graph.nodes[node]["depth"] = depth[node]
    return depth, nx.multipartite_layout(graph, subset_key="depth", align="horizontal", scale=-1)


def attach_layout(graph: nx.DiGraph, compiled: ModelMeta) -> None:
    """Copy each s-op's layer, sublayer and encoding from a compiled model's metadata."""
    by_position = {(row.line, row.col, row.operation): row for row in compiled.sops}
    for node, data in graph.nodes(data=True):
        row = by_position.get((data["line"], data["col"], sops.operation_name(node)))
        if row is not None:
            data.update(encoding=row.encoding, layer=row.layer, sublayer=row.sublayer)
    # a selector lives in the attention head of the aggregate or selector width that reads it
    for node in reversed(list(nx.topological_sort(graph))):
        if graph.nodes[node]["value"] is Kind.SELECTOR:
            layers = [graph.nodes[s]["layer"] for s in graph.successors(node) if graph.nodes[s]["layer"] is not None]
            if layers:
                graph.nodes[node].update(layer=min(layers), sublayer="attn")


def counts(graph: nx.DiGraph) -> dict[str, int]:
    kinds = [d["kind"] for _, d in graph.nodes(data=True)]
    return {
        "selects": kinds.count(Operation.SELECT),
        "aggregates": kinds.count(Operation.AGGREGATE),
        "selector_widths": kinds.count(Operation.SELECTOR_WIDTH),
        "maps": kinds.count(Operation.MAP),
        "selector_combinations": sum(kinds.count(k) for k in (Operation.AND, Operation.OR, Operation.NOT)),
    }
