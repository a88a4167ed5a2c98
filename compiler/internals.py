"""What a compiled model computes inside, on one input: every head's attention and the residual
stream after every sublayer, labelled by the program's s-ops (`Runner.internals` fills it).

Positions are the model's: position 0 is the beginning-of-sequence token, then the input's
tokens; padding is left out. A head is named by the s-op it writes (`head_sops`): an aggregate
writes its own residual dimensions; a selector width writes a hidden dimension that the MLP of
the same layer turns into the s-op's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from compiler.meta import SOpPlacement
from compiler.model import CompiledModel


@dataclass(frozen=True)
class Head:
    """One attention head of the model and what it computes."""

    layer: int
    head: int
    sop: SOpPlacement | None  # the s-op whose computation it is (None: a head that writes nothing)

    @property
    def title(self) -> str:
        if self.sop is None:
            return f"layer {self.layer} head {self.head}"
        where = f", line {self.sop.line}" if self.sop.line is not None else ""
        return f"layer {self.layer} head {self.head}: {self.sop.operation} {self.sop.name}{where}"


@dataclass(frozen=True)
class Stage:
    """The residual stream at one point of the forward pass: `values` is `[positions, D]`."""

    name: str  # "embeddings", "layer 0 attention", "layer 0 MLP", ...
    values: np.ndarray


@dataclass(frozen=True)
class Internals:
    """A compiled model's computation on one input."""

    tokens: list[Any]  # the positions' tokens: the BOS token, then the input
    heads: list[Head]  # the heads that compute something, in layer order
    attention: list[np.ndarray]  # for each of `heads`, its weights `[queries, keys]`; each row sums to 1
    stages: list[Stage]  # the residual stream after the embeddings and after every sublayer
    residual_labels: list[str]  # each residual dimension's name ("tokens:a", "indices:2", "one", ...)
    dim_sops: list[str | None]  # the s-op each residual dimension belongs to (None: tracr's own, e.g. "one")
    outputs: list[Any]  # the model's output at every input position

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: tokens, outputs, each head with its attention, each stage's residual stream."""
        return {"tokens": self.tokens, "outputs": self.outputs,
                "heads": [{"layer": h.layer, "head": h.head, "sop": h.sop.name if h.sop else None,
                           "line": h.sop.line if h.sop else None, "attention": a.round(6).tolist()}
                          for h, a in zip(self.heads, self.attention)],
                "residual_labels": self.residual_labels,
                "stages": [{"name": s.name, "values": s.values.round(6).tolist()} for s in self.stages]}


def stage_names(num_layers: int) -> list[str]:
    """The names of the residual stream's stages, in order."""
    names = ["embeddings"]
    for i in range(num_layers):
        names += [f"layer {i} attention", f"layer {i} MLP"]
    return names


def head_sops(model: CompiledModel) -> dict[tuple[int, int], SOpPlacement | None]:
    """For every (layer, head) that writes to the residual stream, the s-op it computes."""
    meta, key_size = model.meta, model.meta.layout.key_size
    found: dict[tuple[int, int], SOpPlacement | None] = {}
    for layer in range(model.num_layers):
        out = model.arrays[f"layer{layer}.attn.linear.w"]
        for head in range(meta.layout.num_heads):
            written = np.flatnonzero(np.any(out[head * key_size:(head + 1) * key_size] != 0, axis=0))
            if len(written) == 0:
                continue
            found[layer, head] = _owner(model, layer, "attn", written) or _owner(
                model, layer, "mlp", _mlp_writes(model, layer, written))  # a selector width's hidden dimension
    return found


def _mlp_writes(model: CompiledModel, layer: int, read: np.ndarray) -> np.ndarray:
    """The residual dimensions that the MLP units of `layer` reading any of `read` write."""
    units = np.flatnonzero(np.any(model.arrays[f"layer{layer}.mlp.linear_1.w"][read] != 0, axis=0))
    return np.flatnonzero(np.any(model.arrays[f"layer{layer}.mlp.linear_2.w"][units] != 0, axis=0))


def _owner(model: CompiledModel, layer: int, sublayer: str, dims: np.ndarray) -> SOpPlacement | None:
    """The s-op placed at this sublayer whose residual dimensions include some of `dims`."""
    for sop in model.meta.sops:
        if sop.layer == layer and sop.sublayer == sublayer and sop.residual_dims:
            first, last = sop.residual_dims
            if np.any((dims >= first) & (dims <= last)):
                return sop
    return None


def dim_owners(model: CompiledModel) -> list[str | None]:
    """The s-op each residual dimension belongs to, from the compile's placements."""
    owners: list[str | None] = [None] * model.meta.layout.residual_width
    for sop in model.meta.sops:
        if sop.residual_dims:
            first, last = sop.residual_dims
            owners[first:last + 1] = [sop.name] * (last + 1 - first)
    return owners
