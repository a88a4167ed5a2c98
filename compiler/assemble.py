"""Pass 2 and 3: the lowered program to tracr's graph with blocks, to weights, then to our
`CompiledModel` (arrays + metadata).

`extract` gives tracr's graph with our value sets on it (`compiler.tracr_graph`, one visit per
node); `assemble` gives every node its block (`compiler.blocks`), lets tracr allocate blocks to
layers and build the residual stream, and writes the weights (`compiler.weights`, tracr's layout
without its haiku model); `to_model` takes those parameters as plain arrays, adds the explicit unembedding matrix, and
records where every s-op of the program lives (layer, sublayer, residual dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import networkx as nx
import numpy as np
from tracr.compiler import craft_graph_to_model, nodes
from tracr.craft import transformers
from tracr.rasp import rasp as tr

from compiler import tracr_graph
from compiler.blocks import add_blocks, set_value_sets
from compiler.errors import CompileError
from compiler.lowered import Helper, Lowered
from compiler.meta import Layout, ModelMeta, OutputSpec, ProgramSource, SOpPlacement
from compiler.model import CompiledModel
from compiler.ticks import Ticker
from compiler.tracr_arrays import array_helpers
from compiler.weights import Weights, weights
from rasp.language import sops
from rasp.language.sops import Encoding


@dataclass(frozen=True)
class Target:
    """What a model is compiled for."""

    vocab: list[Any]  # the input tokens
    max_len: int  # the longest input
    causal: bool  # each position sees only those before it


@dataclass(frozen=True)
class Extracted:
    """tracr's graph of the lowered program (pass 2's input), our value sets on every node."""

    graph: nx.DiGraph  # node id -> tracr's node data (`tracr.compiler.nodes`: EXPR, VALUE_SET, ...)
    sources: list[nodes.Node]  # the nodes nothing feeds: tokens and indices
    sink: nodes.Node  # the output's node


@dataclass(frozen=True)
class Assembled:
    """tracr's model of the graph (pass 3's input)."""

    model: Weights  # the parameters in tracr's layout, its config, the input encoder
    craft: transformers.SeriesWithResiduals  # the blocks, in the order tracr stacks them
    allocation: dict[int, int]  # graph node id -> tracr's layer number (see `_module_names`)


def special_tokens(vocab: list[Any]) -> tuple[str, str]:
    """BOS and PAD names that are not in the vocabulary."""
    bos, pad = "<bos>", "<pad>"
    while bos in vocab or pad in vocab:
        bos, pad = f"<{bos}>", f"<{pad}>"
    return bos, pad


def extract(lowered: Lowered) -> Extracted:
    """tracr's graph of the program, with our value sets on it."""
    extracted = tracr_graph.extract(lowered.sink)
    graph = extracted.graph
    if tr.tokens.label not in graph.nodes:
        raise CompileError("this program never reads its input tokens, so there is nothing to compile "
                           "(tracr needs the tokens to build a model)")
    set_value_sets(graph, lowered.info)
    return Extracted(graph, list(extracted.sources), extracted.sink)


def assemble(extracted: Extracted, lowered: Lowered, target: Target, ticker: Ticker | None = None) -> Assembled:
    """The tracr model, from blocks allocated to layers; `ticker` hears each step, and inside
    one how far it has got."""
    graph, sources = extracted.graph, extracted.sources
    bos, pad = special_tokens(target.vocab)
    ticker = ticker or Ticker(None)
    with array_helpers(ticker.tick):
        add_blocks(graph, lowered.info, bos, target.causal, target.max_len, ticker.tick)
        ticker.step("placing the blocks in layers")
        with tracr_graph.linear_depth():
            allocation = craft_graph_to_model._allocate_modules_to_layers(graph, sources)
            craft_model = craft_graph_to_model.craft_graph_to_model(graph, sources)
        ticker.step("filling the weight matrices")
        model = weights(craft_model, graph, extracted.sink, target.max_len, bos, pad, target.causal, ticker.tick)
    return Assembled(model, craft_model, allocation)


def _module_names(graph: nx.DiGraph, allocation: dict[int, int]) -> dict[int, str]:
    """tracr's layer numbers (attention even, MLP odd, with gaps) to model sublayers
    "L/attn" or "L/mlp", assigned the way tracr's assembler assigns its blocks."""
    used = set()
    for node_id, layer in allocation.items():
        block = graph.nodes[node_id].get(nodes.MODEL_BLOCK)
        if isinstance(block, transformers.SeriesWithResiduals):
            used |= {layer, layer + 1}
        elif block is not None:
            used.add(layer)
    names: dict[int, str] = {}
    slot = 0  # 0: layer 0 attention, 1: layer 0 MLP, 2: layer 1 attention, ...
    for layer in sorted(used):
        if slot % 2 != layer % 2:
            slot += 1
        names[layer] = f"{slot // 2}/{'attn' if slot % 2 == 0 else 'mlp'}"
        slot += 1
    return names


def _arrays(built: Assembled, extracted: Extracted) -> dict[str, np.ndarray]:
    """tracr's parameters under our names, and the unembedding as an explicit matrix."""
    params, config = built.model.params, built.model.model_config
    arrays: dict[str, np.ndarray] = {
        "token_embed": np.asarray(params["token_embed"]["embeddings"], dtype=np.float32),
        "pos_embed": np.asarray(params["pos_embed"]["embeddings"], dtype=np.float32),
    }
    for theirs, ours in _layer_names(config.num_layers):
        arrays[ours + ".w"] = np.asarray(params[theirs]["w"], dtype=np.float32)
        arrays[ours + ".b"] = np.asarray(params[theirs]["b"], dtype=np.float32)
    labels = list(built.model.residual_labels)
    output_dirs = [str(d) for d in extracted.sink[nodes.OUTPUT_BASIS]]
    unembed = np.zeros((len(labels), len(output_dirs)), dtype=np.float32)
    for j, label in enumerate(output_dirs):
        unembed[labels.index(label), j] = 1.0
    arrays["unembed"] = unembed
    return arrays


def _support(built: Assembled) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Where each weight matrix may be non-zero (`weights.Support`), under our names."""
    written = built.model.support
    return {ours + ".w": written[theirs] for theirs, ours in _layer_names(built.model.model_config.num_layers)
            if theirs in written}


def _layer_names(num_layers: int) -> Iterator[tuple[str, str]]:
    """Each layer's modules by tracr's name and ours: ("transformer/layer_0/attn/query", "layer0.attn.query")."""
    for i in range(num_layers):
        for sublayer, parts in (("attn", ("query", "key", "value", "linear")), ("mlp", ("linear_1", "linear_2"))):
            for part in parts:
                yield f"transformer/layer_{i}/{sublayer}/{part}", f"layer{i}.{sublayer}.{part}"


def _layout(built: Assembled, names: dict[int, str]) -> Layout:
    config = built.model.model_config
    heads_per_layer = [0] * config.num_layers
    mlp_per_layer = [0] * config.num_layers
    for layer_no, block in zip(sorted(names), built.craft.blocks):
        layer = int(names[layer_no].split("/")[0])
        if isinstance(block, transformers.MLP):
            mlp_per_layer[layer] = block.fst.output_space.num_dims
        else:
            heads_per_layer[layer] = len(list(block.as_multi().heads()))
    return Layout(num_layers=config.num_layers, num_heads=config.num_heads, key_size=config.key_size,
                  mlp_hidden_size=config.mlp_hidden_size, residual_width=len(built.model.residual_labels),
                  heads_per_layer=heads_per_layer, mlp_hidden_per_layer=mlp_per_layer)


def _placements(built: Assembled, extracted: Extracted, lowered: Lowered,
                names: dict[int, str]) -> list[SOpPlacement]:
    """Where each of the program's s-ops is computed and held, in the order they are computed."""
    graph, labels = extracted.graph, list(built.model.residual_labels)
    rows = []
    for node_id, layer in sorted(built.allocation.items(), key=lambda kv: kv[1]):
        expr = graph.nodes[node_id][nodes.EXPR]
        entry = lowered.info.get(getattr(expr, "label", ""))
        if entry is None or (entry.origin is None and entry.helper in (None, Helper.INPUT)):
            continue
        block = graph.nodes[node_id].get(nodes.MODEL_BLOCK)
        # a selector width finishes in its MLP; an aggregate's MLP only cleans the BOS position
        finishes_later = isinstance(block, transformers.SeriesWithResiduals) and isinstance(expr, tr.SelectorWidth)
        where = names.get(layer + 1 if finishes_later else layer)
        dims = [i for i, l in enumerate(labels) if l == expr.label or l.startswith(expr.label + ":")]
        origin = entry.origin
        span = origin.span if origin is not None else entry.span
        rows.append(SOpPlacement(
            name=(origin.label or sops.operation_name(origin)) if origin is not None else entry.label,
            operation=sops.operation_name(origin) if origin is not None else str(entry.helper),
            line=span.line if span else None, col=span.col if span else None,
            layer=None if where is None else int(where.split("/")[0]),
            sublayer=None if where is None else where.split("/")[1],
            encoding=entry.encoding, values=len(entry.values),
            residual_dims=[dims[0], dims[-1]] if dims else [],
            helper=None if origin is not None else str(entry.helper)))
    return rows


def to_model(built: Assembled, extracted: Extracted, lowered: Lowered, target: Target,
             source: ProgramSource) -> CompiledModel:
    """Our model: tracr's weights as arrays, and what they compute (`ModelMeta`)."""
    from rasp import __version__

    sink_info = lowered.info[extracted.sink[nodes.EXPR].label]
    values = None
    if sink_info.encoding is Encoding.CATEGORICAL:
        values = [d.value for d in extracted.sink[nodes.OUTPUT_BASIS]]
    encoder = built.model.input_encoder
    names = _module_names(extracted.graph, built.allocation)
    meta = ModelMeta(
        vocab=list(target.vocab), max_len=target.max_len, causal=target.causal,
        bos=encoder.bos_token, pad=encoder.pad_token,
        tokens=[t for t, _ in sorted(encoder.encoding_map.items(), key=lambda kv: kv[1])],
        output=OutputSpec(source.output, sink_info.encoding, values),
        residual_labels=list(built.model.residual_labels), layout=_layout(built, names),
        sops=_placements(built, extracted, lowered, names), program=source, version=__version__)
    return CompiledModel(_arrays(built, extracted), meta, tracr=built.model.tracr, support=_support(built))
