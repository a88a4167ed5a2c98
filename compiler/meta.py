"""What a compiled model says about itself: named records, and their JSON form in the model file.

`ModelMeta` is what the runner, the compile report, `rasp run` with a model file and the
predictor read.
Its JSON keys are the model file's (`compiler.model`), so files written before these records
existed load unchanged. Sequences are lists, as in JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from rasp.language.sops import Encoding


@dataclass(frozen=True)
class ProgramSource:
    """The program a model was compiled from, to refuse running it for another one."""

    path: str | None  # the .rasp file as the user named it (None: typed in, not loaded)
    output: str  # the name of the s-op the model computes
    sha256: str | None  # digest of the program's source text


@dataclass(frozen=True)
class OutputSpec:
    """How to read the model's output from the unembedded residual stream."""

    name: str  # the program's output s-op
    encoding: Encoding  # categorical: argmax over `values`; numerical: the one number
    values: list[Any] | None = None  # categorical only: the value of each output column

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "encoding": self.encoding.value}
        if self.values is not None:
            out["values"] = list(self.values)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutputSpec:
        return cls(data["name"], Encoding(data["encoding"]), data.get("values"))


@dataclass(frozen=True)
class Layout:
    """The Transformer's shape. tracr pads every layer to the largest head count and MLP."""

    num_layers: int
    num_heads: int  # heads per layer, as padded
    key_size: int  # per head, as padded
    mlp_hidden_size: int  # per layer, as padded
    residual_width: int
    heads_per_layer: list[int]  # heads each layer really uses
    mlp_hidden_per_layer: list[int]  # MLP units each layer really uses


class SOpRowJSON(TypedDict):
    """One row of the compile report's s-op table (`SOpPlacement` as JSON)."""

    name: str
    operation: str
    line: int | None
    col: int | None
    layer: int | None
    sublayer: str | None
    encoding: str
    values: int
    residual_dims: list[int]
    helper: str | None  # why the compiler made it ("pairing", "conversion"); None: the program's own


@dataclass(frozen=True)
class SOpPlacement:
    """Where one s-op of the program lives in the model."""

    name: str  # its variable name, or what it does when it has none
    operation: str  # `sops.operation_name`: "map +", "aggregate", "selector_width", ...
    line: int | None  # where the program writes it
    col: int | None
    layer: int | None  # the layer that computes it; None for the inputs (embedded)
    sublayer: str | None  # "attn" or "mlp"; None for the inputs
    encoding: Encoding
    values: int  # how many values it takes
    residual_dims: list[int]  # first and last residual dimension it occupies ([] when none)
    helper: str | None = None  # a compiler helper (`lowered.Helper`: a pairing of a selector's keys
    # or queries, a conversion between encodings), with the source position it serves; None: the program's

    def to_json(self) -> SOpRowJSON:
        return SOpRowJSON(name=self.name, operation=self.operation, line=self.line, col=self.col,
                          layer=self.layer, sublayer=self.sublayer, encoding=self.encoding.value,
                          values=self.values, residual_dims=list(self.residual_dims), helper=self.helper)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SOpPlacement:
        return cls(data["name"], data["operation"], data["line"], data["col"], data["layer"],
                   data["sublayer"], Encoding(data["encoding"]), data["values"], list(data["residual_dims"]),
                   data.get("helper"))


@dataclass(frozen=True)
class ModelMeta:
    """Everything a compiled model's weights need beside them to be used and explained."""

    vocab: list[Any]  # the input tokens it was compiled for
    max_len: int  # the longest input it takes
    causal: bool  # whether every position sees only the positions before it
    bos: str  # the beginning-of-sequence token the runner puts first
    pad: str  # the padding token
    tokens: list[Any]  # every embedded token (vocab, bos, pad), in embedding-row order
    output: OutputSpec
    residual_labels: list[str]  # the name of each residual dimension, as tracr labels it
    layout: Layout
    sops: list[SOpPlacement]  # the program's s-ops, in the order they are computed
    program: ProgramSource
    version: str  # the version of this tool that compiled it

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the model file (its keys are the file format's)."""
        return {"vocab": list(self.vocab), "max_len": self.max_len, "causal": self.causal,
                "bos": self.bos, "pad": self.pad, "tokens": list(self.tokens),
                "output": self.output.to_json(), "residual_labels": list(self.residual_labels),
                "layout": asdict(self.layout), "sops": [row.to_json() for row in self.sops],
                "program": asdict(self.program), "version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMeta:
        """Raises KeyError, TypeError or ValueError on a malformed object."""
        layout = data["layout"]
        program = data["program"]
        return cls(
            vocab=list(data["vocab"]), max_len=data["max_len"], causal=data["causal"],  # types: model_checks
            bos=data["bos"], pad=data["pad"], tokens=list(data["tokens"]),
            output=OutputSpec.from_json(data["output"]), residual_labels=list(data["residual_labels"]),
            layout=Layout(**{name: layout[name] for name in Layout.__dataclass_fields__}),
            sops=[SOpPlacement.from_json(row) for row in data["sops"]],
            program=ProgramSource(program["path"], program["output"], program["sha256"]),
            version=data["version"])
