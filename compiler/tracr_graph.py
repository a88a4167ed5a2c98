"""tracr's two graph walks, each visiting every node once.

tracr's `rasp_to_graph.extract_rasp_graph` queues a node once per path that reaches it, and
`craft_graph_to_model.compute_computational_depth` walks every path from the sources: both are
exponential in a chain of shared sub-expressions (`x = x and x` twenty times is 2^20 paths, about
a minute before any weight is built). `extract` builds the same graph (same node ids, same node
data, each edge once) with a visited set; `computational_depth` gives the same depths by one pass
in topological order, and `linear_depth()` has tracr's layer allocation use it while a model is
assembled (tracr calls its own function by its module-level name; the original is put back on
exit). `tests/test_compiler_graph.py` holds both equal to tracr's on random graphs.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import networkx as nx
from tracr.compiler import craft_graph_to_model, nodes, rasp_to_graph
from tracr.rasp import rasp as tr


def extract(tip: tr.SOp) -> rasp_to_graph.ExtractRaspGraphOutput:
    """tracr's graph of the expression `tip`: nodes by label with their ID and EXPR, an edge from
    each child to its parent, and the sources (the nodes without children) once each."""
    graph = nx.DiGraph()
    sources: list[nodes.Node] = []
    seen: set[str] = set()
    stack = [tip]
    graph.add_node(tip.label, **{nodes.ID: tip.label, nodes.EXPR: tip})
    while stack:
        expr = stack.pop()
        if expr.label in seen:
            continue
        seen.add(expr.label)
        for child in expr.children:
            if child.label not in graph:
                graph.add_node(child.label, **{nodes.ID: child.label, nodes.EXPR: child})
            graph.add_edge(child.label, expr.label)
            stack.append(child)
        if not expr.children:
            sources.append(graph.nodes[expr.label])
    return rasp_to_graph.ExtractRaspGraphOutput(graph=graph, sink=graph.nodes[tip.label], sources=sources)


def computational_depth(graph: nx.DiGraph, sources_ids: Sequence[int]) -> dict[int, int]:
    """For each node, the most s-op nodes on a path from a source to it (not counting the
    source); -1 for nodes no source reaches. Equal to tracr's `compute_computational_depth`."""
    depth: dict[int, int] = {source: 0 for source in sources_ids}
    for node in nx.topological_sort(graph):
        counts = isinstance(graph.nodes[node][nodes.EXPR], tr.SOp)
        reached = [depth[p] + counts for p in graph.predecessors(node) if p in depth]
        if reached:
            depth[node] = max(reached + [depth.get(node, 0)])
    return {node: depth.get(node, -1) for node in graph.nodes}


@contextmanager
def linear_depth() -> Iterator[None]:
    """tracr's layer allocation with `computational_depth` in place of its exponential walk."""
    original = craft_graph_to_model.compute_computational_depth
    craft_graph_to_model.compute_computational_depth = computational_depth
    try:
        yield
    finally:
        craft_graph_to_model.compute_computational_depth = original
