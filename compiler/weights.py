"""Pass 3b: tracr's blocks to weight arrays, laid out exactly as tracr's assembler lays them out,
without building a haiku model.

tracr's `assemble_craft_model` initialises a haiku Transformer (random initialisers compiled by
JAX, about a quarter of a second a layer) only to learn the parameters' shapes, then zeroes them
and writes the blocks' matrices in. `weights` writes the same matrices into zero arrays of those
shapes directly (`tests/test_compiler_graph.py` holds them equal to tracr's, array by array),
with one fix: a head's width also counts its value-output matrix, which tracr's does not (its
assembler then fails on programs such as `count` over 8 tokens).
Where tracr multiplies a block's matrix by the projection between the residual stream and the
block's space, `weights` places the matrix's rows at that space's residual dimensions (the same
numbers: a projection has one 1 per column); at sort with ties 128 x 32 those products were 6 of
the compile's 11 s. `Weights.tracr()` still builds tracr's own model from the same blocks, for
benchmarks that compare with its `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import networkx as nx
import numpy as np
from tracr.compiler import assemble as tracr_assemble
from tracr.compiler import craft_model_to_transformer, nodes
from tracr.craft import bases, transformers, vectorspace_fns
from tracr.rasp import rasp as tr
from tracr.transformer import encoder

Params = dict[str, dict[str, np.ndarray]]  # tracr's names: "transformer/layer_0/attn/query" -> {"w", "b"}
# Where a weight matrix may be non-zero: (rows, columns), sorted, by tracr's name; zero elsewhere
Support = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class Weights:
    """What tracr's assembled model holds that our model needs, and how to build tracr's."""

    params: Params
    support: Support  # the rows and columns `weights` wrote in each matrix (`Params` "w")
    model_config: Any  # tracr.transformer.model.TransformerConfig
    residual_labels: list[str]
    input_encoder: encoder.CategoricalEncoder
    craft: transformers.SeriesWithResiduals
    graph: nx.DiGraph
    sink: nodes.Node
    max_len: int
    bos: str
    pad: str
    causal: bool

    def tracr(self) -> tracr_assemble.AssembledTransformerModel:
        """tracr's own haiku model of the same blocks (seconds; for comparisons only)."""
        return craft_model_to_transformer.craft_model_to_transformer(
            craft_model=self.craft, graph=self.graph, sink=self.sink, max_seq_len=self.max_len,
            compiler_bos=self.bos, compiler_pad=self.pad, causal=self.causal)


def weights(craft: transformers.SeriesWithResiduals, graph: nx.DiGraph, sink: nodes.Node, max_len: int,
            bos: str, pad: str, causal: bool, tick: Callable[[str], None] = lambda text: None) -> Weights:
    """The arrays tracr's `craft_model_to_transformer` would assemble for these blocks, the query
    matrices times sqrt(key size) (undoing the 1/sqrt(key size) of the logits). `tick` hears which
    block is being written."""
    tokens_space = bases.VectorSpaceWithBasis.from_values(
        tr.tokens.label, graph.nodes[tr.tokens.label][nodes.VALUE_SET].union({bos, pad}))
    indices_space = bases.VectorSpaceWithBasis.from_values(tr.indices.label, range(max_len))
    output_space = bases.VectorSpaceWithBasis(sink[nodes.OUTPUT_BASIS])
    config, module_names = tracr_assemble._get_model_config_and_module_names(craft)
    config.causal = causal
    # tracr sizes a head by its query-key matrix alone; a value-output matrix wider than every
    # query-key one (count over 8 tokens) then does not fit, and tracr's assembler fails
    heads = [h for block in craft.blocks if not isinstance(block, transformers.MLP) for h in block.as_multi().heads()]
    config.key_size = max([config.key_size] + [h.w_ov.matrix.shape[1] for h in heads])
    residual = bases.join_vector_spaces(craft.residual_space, tokens_space, indices_space, output_space)
    params = _zeros(config, residual.num_dims)
    params.update(_embeddings(residual, tokens_space, indices_space))

    where = {direction: i for i, direction in enumerate(residual.basis)}  # residual dimension of each direction

    def dims(space: bases.VectorSpaceWithBasis) -> tuple[np.ndarray, np.ndarray]:
        """The residual dimensions of `space`'s directions, and which of them the stream has."""
        found = [(where[d], j) for j, d in enumerate(space.basis) if d in where]
        rows, columns = zip(*found) if found else ((), ())
        return np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64)

    written: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def place(name: str, space: bases.VectorSpaceWithBasis, matrix: np.ndarray | None, offset: int = 0,
              transposed: bool = False) -> None:
        """`target[:, :k] = project(space) @ matrix` (`matrix` None: the identity), where target is
        `name`'s matrix (`transposed`: its transpose) from column `offset` on; the rows and
        columns written are recorded in `written`."""
        w = params[name]["w"]
        target = (w.T if transposed else w)[:, offset:]
        rows, columns = dims(space)
        if matrix is None:
            target[rows, columns] = 1.0
        else:
            target[rows, :matrix.shape[1]] = matrix[columns]
            columns = np.arange(matrix.shape[1])
        columns = columns + offset
        if transposed:
            rows, columns = columns, rows
        seen = written.setdefault(name, ([], []))
        seen[0].append(rows)
        seen[1].append(columns)

    scale = np.sqrt(config.key_size)  # in float64, then rounded once to float32, as tracr's arrays are
    for number, (name, block) in enumerate(zip(module_names, craft.blocks), start=1):
        tick(f"filling the weight matrices: block {number} of {len(craft.blocks)}")
        if isinstance(block, transformers.MLP):
            place(f"{name}/linear_1", block.fst.input_space, block.fst.matrix)
            place(f"{name}/linear_2", block.snd.output_space, block.snd.matrix.T, transposed=True)
            continue
        for h, head in enumerate(block.as_multi().heads()):
            offset = h * config.key_size
            place(f"{name}/query", head.w_qk.left_space, head.w_qk.matrix * scale, offset)
            place(f"{name}/key", head.w_qk.right_space, None, offset)
            place(f"{name}/value", head.w_ov.input_space, head.w_ov.matrix, offset)
            place(f"{name}/linear", head.w_ov.output_space, None, offset, transposed=True)
    encoding = encoder.CategoricalEncoder(basis=tokens_space.basis, enforce_bos=True, bos_token=bos,
                                          pad_token=pad, max_seq_len=max_len + 1)
    support = {name: (np.unique(np.concatenate(rows)), np.unique(np.concatenate(columns)))
               for name, (rows, columns) in written.items()}
    return Weights(params, support, config, [str(d) for d in residual.basis], encoding, craft, graph, sink, max_len,
                   bos, pad, causal)


def _zeros(config: Any, width: int) -> Params:
    """Every transformer parameter, zero, in the shapes of tracr's haiku model, and float32 as the
    model stores them (each number is written once, by assignment, so rounded once)."""
    heads = config.num_heads * config.key_size
    params: Params = {}

    def zeros(*shape: int) -> np.ndarray:
        return np.zeros(shape, np.float32)

    for layer in range(config.num_layers):
        attn, mlp = f"transformer/layer_{layer}/attn", f"transformer/layer_{layer}/mlp"
        for part in ("query", "key", "value"):
            params[f"{attn}/{part}"] = {"w": zeros(width, heads), "b": zeros(heads)}
        params[f"{attn}/linear"] = {"w": zeros(heads, width), "b": zeros(width)}
        params[f"{mlp}/linear_1"] = {"w": zeros(width, config.mlp_hidden_size), "b": zeros(config.mlp_hidden_size)}
        params[f"{mlp}/linear_2"] = {"w": zeros(config.mlp_hidden_size, width), "b": zeros(width)}
    return params


def _embeddings(residual: bases.VectorSpaceWithBasis, tokens_space: bases.VectorSpaceWithBasis,
                indices_space: bases.VectorSpaceWithBasis) -> Params:
    """Token and position embeddings as tracr's `_make_embedding_modules` builds them: tokens
    also write the constant "one" direction; position 0 (BOS) has no position embedding row."""
    tokens_to_res = vectorspace_fns.project(tokens_space, residual)
    one = bases.BasisDirection("one")
    if one in residual:
        to_one = vectorspace_fns.Linear.from_action(tokens_space, residual,
                                                    lambda x: residual.vector_from_basis_direction(one))
        tokens_to_res = vectorspace_fns.Linear.combine_in_parallel([tokens_to_res, to_one])
    positions = vectorspace_fns.project(indices_space, residual).matrix
    return {"token_embed": {"embeddings": np.asarray(tokens_to_res.matrix)},
            "pos_embed": {"embeddings": np.concatenate([np.zeros((1, residual.num_dims)), positions], axis=0)}}
