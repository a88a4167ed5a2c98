"""Pass 3: tracr graph with blocks to weights, then to our `CompiledModel` (arrays + metadata).

tracr allocates blocks to layers and assembles the residual stream; we then take its parameters
as plain arrays, add the explicit unembedding matrix, and record where every s-op of the
program lives (layer, sublayer, residual dimensions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tracr.compiler import craft_graph_to_model, craft_model_to_transformer, nodes, rasp_to_graph
from tracr.craft import transformers
from tracr.rasp import rasp as tr

from compiler.blocks import add_blocks, set_value_sets
from compiler.lower import CompileError, Info
from compiler.model import CompiledModel
from rasp.language import sops


def special_tokens(vocab: list[Any]) -> tuple[str, str]:
    """BOS and PAD names that are not in the vocabulary."""
    bos, pad = "<bos>", "<pad>"
    while bos in vocab or pad in vocab:
        bos, pad = f"<{bos}>", f"<{pad}>"
    return bos, pad


def extract(sink: tr.SOp, info: dict[str, Info]):
    """tracr's graph of the program, with our value sets on it."""
    extracted = rasp_to_graph.extract_rasp_graph(sink)
    graph = extracted.graph
    if tr.tokens.label not in graph.nodes:
        raise CompileError("this program never reads its input tokens, so there is nothing to compile "
                           "(tracr needs the tokens to build a model)")
    set_value_sets(graph, info)
    return graph, extracted.sources, extracted.sink


def assemble(graph, sources, sink_node, info: dict[str, Info], vocab: list[Any], max_len: int, causal: bool):
    """The tracr model, from blocks allocated to layers."""
    bos, pad = special_tokens(vocab)
    add_blocks(graph, info, bos, causal, max_len)
    allocation = craft_graph_to_model._allocate_modules_to_layers(graph, sources)
    craft_model = craft_graph_to_model.craft_graph_to_model(graph, sources)
    assembled = craft_model_to_transformer.craft_model_to_transformer(
        craft_model=craft_model, graph=graph, sink=sink_node, max_seq_len=max_len,
        compiler_bos=bos, compiler_pad=pad, causal=causal)
    key_size = assembled.model_config.key_size
    for name, params in assembled.params.items():  # undo the 1/sqrt(key size) of the logits
        if name.endswith("/attn/query"):
            params["w"] = params["w"] * np.sqrt(key_size)
            params["b"] = params["b"] * np.sqrt(key_size)
    return assembled, craft_model, allocation


def _module_names(graph, allocation: dict[int, int]) -> dict[int, str]:
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


def to_model(assembled, graph, craft_model, allocation, sink_node, info: dict[str, Info],
             vocab: list[Any], max_len: int, causal: bool, program_meta: dict[str, Any]) -> CompiledModel:
    config = assembled.model_config
    arrays: dict[str, np.ndarray] = {
        "token_embed": np.asarray(assembled.params["token_embed"]["embeddings"], dtype=np.float32),
        "pos_embed": np.asarray(assembled.params["pos_embed"]["embeddings"], dtype=np.float32),
    }
    for i in range(config.num_layers):
        for part in ("query", "key", "value", "linear"):
            p = assembled.params[f"transformer/layer_{i}/attn/{part}"]
            arrays[f"layer{i}.attn.{part}.w"] = np.asarray(p["w"], dtype=np.float32)
            arrays[f"layer{i}.attn.{part}.b"] = np.asarray(p["b"], dtype=np.float32)
        for part in ("linear_1", "linear_2"):
            p = assembled.params[f"transformer/layer_{i}/mlp/{part}"]
            arrays[f"layer{i}.mlp.{part}.w"] = np.asarray(p["w"], dtype=np.float32)
            arrays[f"layer{i}.mlp.{part}.b"] = np.asarray(p["b"], dtype=np.float32)
    labels = list(assembled.residual_labels)
    output_dirs = [str(d) for d in sink_node[nodes.OUTPUT_BASIS]]
    unembed = np.zeros((len(labels), len(output_dirs)), dtype=np.float32)
    for j, label in enumerate(output_dirs):
        unembed[labels.index(label), j] = 1.0
    arrays["unembed"] = unembed

    sink_info = info[sink_node[nodes.EXPR].label]
    output: dict[str, Any] = {"name": program_meta["program"]["output"], "encoding": sink_info.encoding}
    if sink_info.encoding == "categorical":
        output["values"] = [d.value for d in sink_node[nodes.OUTPUT_BASIS]]
    encoding_map = assembled.input_encoder.encoding_map
    tokens = [t for t, _ in sorted(encoding_map.items(), key=lambda kv: kv[1])]

    names = _module_names(graph, allocation)
    heads_per_layer = [0] * config.num_layers
    mlp_per_layer = [0] * config.num_layers
    for layer_no, block in zip(sorted(names), craft_model.blocks):
        layer = int(names[layer_no].split("/")[0])
        if isinstance(block, transformers.MLP):
            mlp_per_layer[layer] = block.fst.output_space.num_dims
        else:
            heads_per_layer[layer] = len(list(block.as_multi().heads()))
    sop_rows = []
    for node_id, layer in sorted(allocation.items(), key=lambda kv: kv[1]):
        expr = graph.nodes[node_id][nodes.EXPR]
        entry = info.get(getattr(expr, "label", ""))
        if entry is None or entry.origin is None:
            continue
        block = graph.nodes[node_id].get(nodes.MODEL_BLOCK)
        # a selector width finishes in its MLP; an aggregate's MLP only cleans the BOS position
        finishes_later = isinstance(block, transformers.SeriesWithResiduals) and isinstance(expr, tr.SelectorWidth)
        where = names.get(layer + 1 if finishes_later else layer)
        dims = [i for i, l in enumerate(labels) if l == expr.label or l.startswith(expr.label + ":")]
        span = entry.origin.span
        sop_rows.append({
            "name": entry.origin.label or sops.operation_name(entry.origin),
            "operation": sops.operation_name(entry.origin),
            "line": span.line if span else None, "col": span.col if span else None,
            "layer": None if where is None else int(where.split("/")[0]),
            "sublayer": None if where is None else where.split("/")[1],
            "encoding": entry.encoding, "values": len(entry.values),
            "residual_dims": [dims[0], dims[-1]] if dims else [],
        })
    meta = {
        "vocab": list(vocab), "max_len": max_len, "causal": causal,
        "bos": assembled.input_encoder.bos_token, "pad": assembled.input_encoder.pad_token,
        "tokens": tokens, "output": output, "residual_labels": labels,
        "layout": {"num_layers": config.num_layers, "num_heads": config.num_heads,
                   "key_size": config.key_size, "mlp_hidden_size": config.mlp_hidden_size,
                   "residual_width": len(labels), "heads_per_layer": heads_per_layer,
                   "mlp_hidden_per_layer": mlp_per_layer},
        "sops": sop_rows, **program_meta,
    }
    return CompiledModel(arrays, meta)
