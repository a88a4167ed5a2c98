"""A compiled model's weights for other frameworks: a folder with a safetensors file and JSON.

Two formats (`ExportFormat`):

- `transformerlens`: the state dict of a TransformerLens `HookedTransformer` (`model.safetensors`,
  TransformerLens's parameter names and shapes) and the arguments of its `HookedTransformerConfig`
  (`config.json`). tracr's Transformer is one TransformerLens can run as it is: no layer norm,
  ReLU MLPs, attention logits scaled by 1/sqrt(d_head), learned positions added to the token
  embedding, and an unembedding without a bias.
- `safetensors`: the model file's own arrays under their own names (`compiler.model`), for any
  framework.

Both write `lengthwise.json`: the model's metadata (the tokens in embedding-row order, the BOS
and padding tokens, how to read the output) and the name, shape and dtype of every array.
`forward` is the computation the TransformerLens arrays stand for, in NumPy; it needs neither
torch nor TransformerLens (`load_transformerlens` imports them when called).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compiler.meta import ModelMeta
from compiler.model import CompiledModel
from grammar.errors import RaspError
from rasp.language.files import atomic_file
from rasp.language.inputs import token_key
from rasp.language.sops import Encoding

FORMAT = "lengthwise-export"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
METADATA = "lengthwise.json"
CONFIG = "config.json"  # transformerlens only: HookedTransformerConfig's arguments


class ExportFormat(enum.StrEnum):
    TRANSFORMERLENS = "transformerlens"
    SAFETENSORS = "safetensors"


@dataclass(frozen=True)
class Exported:
    """An export folder as read back (`read`), or as just written (`export`)."""

    directory: Path
    format: ExportFormat
    arrays: dict[str, np.ndarray]  # the weights, by their names in `format`
    meta: ModelMeta
    config: dict[str, Any] | None  # HookedTransformerConfig's arguments (transformerlens only)

    def files(self) -> list[Path]:
        names = [WEIGHTS, METADATA] + ([CONFIG] if self.config is not None else [])
        return [self.directory / name for name in names]


def _at_least_one(n: int) -> int:
    """A layout with no heads or no MLP units still needs a (zero) weight of size one in
    TransformerLens, which cannot build a layer of size zero."""
    return max(1, n)


def transformerlens_config(model: CompiledModel) -> dict[str, Any]:
    """The keyword arguments of `HookedTransformerConfig` for this model."""
    layout = model.meta.layout
    return {
        "n_layers": layout.num_layers,
        "d_model": layout.residual_width,
        "n_ctx": model.max_len + 1,  # BOS first
        "d_head": _at_least_one(layout.key_size),
        "n_heads": _at_least_one(layout.num_heads),
        "d_mlp": _at_least_one(layout.mlp_hidden_size),
        "d_vocab": len(model.meta.tokens),
        "d_vocab_out": int(model.arrays["unembed"].shape[1]),
        "act_fn": "relu",
        "normalization_type": None,
        "attention_dir": "causal" if model.causal else "bidirectional",
        "positional_embedding_type": "standard",
        "original_architecture": "tracr",
        "default_prepend_bos": False,  # the caller puts the BOS token first, as the ids say
    }


def _pad(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`array` with zeros added at the end of each axis up to `shape` (empty heads and MLPs)."""
    out = np.zeros(shape, dtype=np.float32)
    out[tuple(slice(0, n) for n in array.shape)] = array
    return out


def transformerlens_state(model: CompiledModel) -> dict[str, np.ndarray]:
    """The model's weights as a `HookedTransformer` state dict (NumPy arrays, TransformerLens's
    names and shapes). tracr's heads lie side by side in each projection's columns."""
    a, config = model.arrays, transformerlens_config(model)
    d_model, heads, d_head, d_mlp = (config[k] for k in ("d_model", "n_heads", "d_head", "d_mlp"))
    layout = model.meta.layout
    real_heads, real_size = layout.num_heads, layout.key_size
    state = {"embed.W_E": a["token_embed"], "pos_embed.W_pos": a["pos_embed"], "unembed.W_U": a["unembed"],
             "unembed.b_U": np.zeros(config["d_vocab_out"], dtype=np.float32)}
    for i in range(layout.num_layers):
        p, b = f"layer{i}.", f"blocks.{i}."
        for name, short in (("query", "Q"), ("key", "K"), ("value", "V")):
            w = a[p + f"attn.{name}.w"].reshape(d_model, real_heads, real_size).transpose(1, 0, 2)
            state[b + f"attn.W_{short}"] = _pad(w, (heads, d_model, d_head))
            state[b + f"attn.b_{short}"] = _pad(a[p + f"attn.{name}.b"].reshape(real_heads, real_size),
                                                (heads, d_head))
        state[b + "attn.W_O"] = _pad(a[p + "attn.linear.w"].reshape(real_heads, real_size, d_model),
                                     (heads, d_head, d_model))
        state[b + "attn.b_O"] = a[p + "attn.linear.b"]
        state[b + "mlp.W_in"] = _pad(a[p + "mlp.linear_1.w"], (d_model, d_mlp))
        state[b + "mlp.b_in"] = _pad(a[p + "mlp.linear_1.b"], (d_mlp,))
        state[b + "mlp.W_out"] = _pad(a[p + "mlp.linear_2.w"], (d_mlp, d_model))
        state[b + "mlp.b_out"] = a[p + "mlp.linear_2.b"]
    return {name: np.ascontiguousarray(w, dtype=np.float32) for name, w in state.items()}


def _metadata(model: CompiledModel, fmt: ExportFormat, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    return dict(model.meta.to_json(), format=FORMAT, format_version=FORMAT_VERSION, export=fmt.value,
                arrays={k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()})


def export(model: CompiledModel, directory: str | Path, fmt: ExportFormat) -> Exported:
    """Write the model to `directory` (made when missing) in `fmt`, each file atomically."""
    from safetensors.numpy import save

    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise RaspError(f"{folder}: exists and is not a folder; name a folder to export to")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RaspError(f"cannot make the folder {folder}: {e.strerror}") from None
    if fmt is ExportFormat.TRANSFORMERLENS:
        arrays, config = transformerlens_state(model), transformerlens_config(model)
    else:
        arrays, config = {k: np.ascontiguousarray(v) for k, v in model.arrays.items()}, None
    with atomic_file(folder / WEIGHTS, "wb") as f:
        f.write(save(arrays, metadata={"format": FORMAT, "export": fmt.value}))
    if config is not None:
        with atomic_file(folder / CONFIG, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
    with atomic_file(folder / METADATA, "w", encoding="utf-8") as f:
        json.dump(_metadata(model, fmt, arrays), f, indent=1, ensure_ascii=False)
    return Exported(folder, fmt, arrays, model.meta, config)


def read(directory: str | Path) -> Exported:
    """An export folder read back; a folder that is not one, or is damaged, gives a RaspError."""
    from safetensors.numpy import load_file

    folder = Path(directory)
    try:
        info = json.loads((folder / METADATA).read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise RaspError(f"{folder}: not an export of this tool")
        fmt = ExportFormat(info.pop("export"))
        declared = info.pop("arrays")
        for key in ("format", "format_version"):
            info.pop(key)
        meta = ModelMeta.from_json(info)
        arrays = load_file(str(folder / WEIGHTS))
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8")) \
            if fmt is ExportFormat.TRANSFORMERLENS else None
    except RaspError:
        raise
    except FileNotFoundError as e:
        raise RaspError(f"{folder}: not a complete export: no {Path(e.filename).name}") from None
    except Exception as e:  # noqa: BLE001 - damaged JSON or safetensors fail in many ways
        raise RaspError(f"{folder}: not a readable export ({type(e).__name__}: {e})") from None
    found = {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}
    if found != declared:
        raise RaspError(f"{folder}: damaged export: {WEIGHTS} does not hold the arrays {METADATA} lists")
    return Exported(folder, fmt, arrays, meta, config)


def token_ids(meta: ModelMeta, inputs: list[list[Any]]) -> np.ndarray:
    """Inputs of one length as the ids a model takes: BOS first, then each token's embedding row."""
    ids = {token_key(t): i for i, t in enumerate(meta.tokens)}
    out = np.empty((len(inputs), len(inputs[0]) + 1 if inputs else 1), dtype=np.int64)
    out[:, 0] = ids[token_key(meta.bos)]
    for row, tokens in enumerate(inputs):
        if len(tokens) != out.shape[1] - 1:
            raise RaspError(f"input {row + 1} has {len(tokens)} tokens; this batch has inputs of {out.shape[1] - 1}")
        for position, token in enumerate(tokens):
            if token_key(token) not in ids or token in (meta.bos, meta.pad):
                raise RaspError(f"input {row + 1}: token {token!r} at position {position} is not in the "
                                f"model's vocabulary {meta.vocab}")
            out[row, position + 1] = ids[token_key(token)]
    return out


def forward(state: dict[str, np.ndarray], config: dict[str, Any], ids: np.ndarray) -> np.ndarray:
    """The unembedded outputs `[batch, positions, d_vocab_out]` of a TransformerLens state dict
    (`transformerlens_state`) on token ids `[batch, positions]` (BOS first), in NumPy: what
    `HookedTransformer` computes with this config."""
    positions = ids.shape[1]
    x = state["embed.W_E"][ids] + state["pos_embed.W_pos"][:positions][None]
    allowed = np.tril(np.ones((positions, positions), dtype=bool)) if config["attention_dir"] == "causal" \
        else np.ones((positions, positions), dtype=bool)
    for i in range(config["n_layers"]):
        b = f"blocks.{i}."
        q, k, v = (np.einsum("btd,hde->bthe", x, state[b + f"attn.W_{n}"]) + state[b + f"attn.b_{n}"]
                   for n in "QKV")
        logits = np.einsum("bthe,bThe->bhtT", q, k) / np.sqrt(np.float32(config["d_head"]))
        logits = np.where(allowed, logits, -np.inf)
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        z = np.einsum("bhtT,bThe->bthe", weights, v)
        x = x + np.einsum("bthe,hed->btd", z, state[b + "attn.W_O"]) + state[b + "attn.b_O"]
        hidden = np.maximum(x @ state[b + "mlp.W_in"] + state[b + "mlp.b_in"], 0)
        x = x + hidden @ state[b + "mlp.W_out"] + state[b + "mlp.b_out"]
    return x @ state["unembed.W_U"] + state["unembed.b_U"]


def decode(meta: ModelMeta, outputs: np.ndarray) -> list[list[Any]]:
    """The program's output at every input position from unembedded outputs `[batch, positions,
    d_vocab_out]` (BOS position first, dropped): the value of the largest column (categorical),
    or the one number (numerical)."""
    body = np.asarray(outputs)[:, 1:]
    if meta.output.encoding is Encoding.CATEGORICAL:
        values = meta.output.values or []
        return [[values[j] for j in row] for row in body.argmax(axis=-1).tolist()]
    return body[..., 0].astype(float).tolist()


def load_transformerlens(directory: str | Path, device: str = "cpu"):
    """A `HookedTransformer` with the weights of a transformerlens export (imports torch and
    transformer_lens, which the rest of this module does not need)."""
    import torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    exported = read(directory)
    if exported.format is not ExportFormat.TRANSFORMERLENS:
        raise RaspError(f"{directory}: a {exported.format} export; export with the transformerlens format")
    hooked = HookedTransformer(HookedTransformerConfig(**exported.config, device=device))
    state = {k: torch.from_numpy(np.array(v)) for k, v in exported.arrays.items()}
    missing, unexpected = hooked.load_state_dict(state, strict=False)
    parameters = {name for name, _ in hooked.named_parameters()}
    if unexpected or parameters & set(missing):
        raise RaspError(f"{directory}: the weights do not fit TransformerLens's model: missing "
                        f"{sorted(parameters & set(missing))}, unexpected {sorted(unexpected)}")
    return hooked.eval()
