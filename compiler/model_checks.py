"""What a model file must be before its weights are used: each field of the metadata of the
right type and range, every array present, float32, finite, of the rank and shape the layout
says, and nothing else in the file. A file that breaks any of it gets one error naming the file
and the field; nothing of it reaches the runner (`compiler.model.load`)."""

from __future__ import annotations

import numpy as np

from compiler.meta import ModelMeta
from grammar.errors import RaspError
from rasp.language.inputs import MAX_INPUT_LENGTH, token_key
from rasp.language.sops import Encoding

MAX_COUNT = 2**24  # any layout count (layers, heads, key size, widths) beyond this is not ours

LAYER_ARRAYS = ("attn.query", "attn.key", "attn.value", "attn.linear", "mlp.linear_1", "mlp.linear_2")


def expected_shapes(meta: ModelMeta) -> dict[str, tuple[int, ...]]:
    """Every array the layout implies, with its shape."""
    layout = meta.layout
    width, heads = layout.residual_width, layout.num_heads * layout.key_size
    outputs = len(meta.output.values) if meta.output.encoding is Encoding.CATEGORICAL else 1
    shapes = {"token_embed": (len(meta.tokens), width), "pos_embed": (meta.max_len + 1, width),
              "unembed": (width, outputs)}
    for i in range(layout.num_layers):
        p = f"layer{i}."
        for part in ("query", "key", "value"):
            shapes[p + f"attn.{part}.w"], shapes[p + f"attn.{part}.b"] = (width, heads), (heads,)
        shapes[p + "attn.linear.w"], shapes[p + "attn.linear.b"] = (heads, width), (width,)
        shapes[p + "mlp.linear_1.w"], shapes[p + "mlp.linear_1.b"] = (width, layout.mlp_hidden_size), (layout.mlp_hidden_size,)
        shapes[p + "mlp.linear_2.w"], shapes[p + "mlp.linear_2.b"] = (layout.mlp_hidden_size, width), (width,)
    return shapes


def check_model(arrays: dict[str, np.ndarray], meta: ModelMeta, where: str) -> None:
    """Raise a RaspError naming `where` and the field at the first thing wrong."""
    layout = meta.layout

    def bad(field: str, why: str) -> RaspError:
        return RaspError(f"{where}: damaged model file: {field} {why}")

    def count(value, field: str, low: int = 0, high: int = MAX_COUNT) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad(field, f"is {value!r}; expected a whole number from {low} to {high:,}")

    for name in ("num_layers", "num_heads", "key_size", "mlp_hidden_size", "residual_width"):
        count(getattr(layout, name), f"layout.{name}")
    count(meta.max_len, "max_len", 1, MAX_INPUT_LENGTH)
    for name in ("heads_per_layer", "mlp_hidden_per_layer"):
        value = getattr(layout, name)
        if not isinstance(value, list) or len(value) != layout.num_layers:
            raise bad(f"layout.{name}", f"must list one count per layer ({layout.num_layers})")
    if not isinstance(meta.causal, bool):
        raise bad("causal", "must be true or false")
    keys = [token_key(t) for t in meta.tokens]
    if len(set(keys)) != len(keys) or token_key(meta.bos) not in keys or token_key(meta.pad) not in keys:
        raise bad("tokens", "must hold every token once, the BOS and PAD tokens among them")
    if any(token_key(t) not in keys for t in meta.vocab):
        raise bad("vocab", "holds a token that has no embedding row")
    values = meta.output.values
    if meta.output.encoding is Encoding.CATEGORICAL and (not isinstance(values, list) or not values):
        raise bad("output.values", "must list the output's values (a categorical output)")
    if len(meta.residual_labels) != layout.residual_width:
        raise bad("residual_labels", f"must name each of the {layout.residual_width} residual dimensions")
    shapes = expected_shapes(meta)
    missing, extra = sorted(set(shapes) - set(arrays)), sorted(set(arrays) - set(shapes))
    if missing or extra:
        raise bad("arrays", f"do not match the layout: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, shape in shapes.items():
        array = arrays[name]
        if array.dtype != np.float32:
            raise bad(f"array {name!r}", f"is {array.dtype}; weights are float32")
        if array.shape != shape:
            raise bad(f"array {name!r}", f"has shape {list(array.shape)}; the layout says {list(shape)}")
        if not np.all(np.isfinite(array)):
            raise bad(f"array {name!r}", "holds a NaN or an infinity")
