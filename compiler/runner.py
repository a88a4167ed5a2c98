"""The batched runner: one jitted forward pass over a padded batch of inputs of mixed lengths.

The computation is tracr's (no layer norm, ReLU MLPs, attention logits scaled by 1/sqrt(key
size)); the beginning-of-sequence token is added here and its position dropped from the
output, and padding positions are masked out as keys, so a padded input gives exactly the
outputs it gives alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from compiler.model import CompiledModel
from rasp.errors import RaspError

BATCH_BUCKET = 64  # batches are padded to a multiple of this, so few shapes are compiled


def _forward_fn(num_layers: int, num_heads: int, key_size: int, causal: bool):
    import jax
    import jax.numpy as jnp

    def forward(arrays: dict, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        batch, width = ids.shape
        x = arrays["token_embed"][ids] + arrays["pos_embed"][:width][None]
        positions = jnp.arange(width)
        mask = positions[None, None, :] <= lengths[:, None, None]  # keys: BOS and the tokens
        if causal:
            mask = mask & (positions[None, None, :] <= positions[None, :, None])
        mask = mask[:, None]  # [B, 1, T, T]
        for i in range(num_layers):
            p = f"layer{i}."

            def heads(name: str) -> jax.Array:
                y = x @ arrays[p + f"attn.{name}.w"] + arrays[p + f"attn.{name}.b"]
                return y.reshape(batch, width, num_heads, key_size)

            q, k, v = heads("query"), heads("key"), heads("value")
            logits = jnp.einsum("bthd,bThd->bhtT", q, k) / np.sqrt(key_size).astype(np.float32)
            logits = jnp.where(mask, logits, -1e30)
            weights = jax.nn.softmax(logits, axis=-1)
            attended = jnp.einsum("bhtT,bThd->bthd", weights, v).reshape(batch, width, -1)
            x = x + attended @ arrays[p + "attn.linear.w"] + arrays[p + "attn.linear.b"]
            hidden = jax.nn.relu(x @ arrays[p + "mlp.linear_1.w"] + arrays[p + "mlp.linear_1.b"])
            x = x + hidden @ arrays[p + "mlp.linear_2.w"] + arrays[p + "mlp.linear_2.b"]
        return x @ arrays["unembed"]

    return jax.jit(forward)


@lru_cache(maxsize=8)
def _cached_forward(num_layers: int, num_heads: int, key_size: int, causal: bool):
    return _forward_fn(num_layers, num_heads, key_size, causal)


class Runner:
    """Runs a compiled model on plain token sequences (no BOS), in batches."""

    def __init__(self, model: CompiledModel):
        import jax.numpy as jnp

        self.model = model
        layout = model.meta["layout"]
        self.forward = _cached_forward(layout["num_layers"], layout["num_heads"], layout["key_size"],
                                       model.causal)
        self.arrays = {k: jnp.asarray(v) for k, v in model.arrays.items()}
        self.token_ids = {_key(t): i for i, t in enumerate(model.meta["tokens"])}
        self.bos_id = self.token_ids[_key(model.meta["bos"])]
        self.pad_id = self.token_ids[_key(model.meta["pad"])]
        output = model.meta["output"]
        self.categorical = output["encoding"] == "categorical"
        self.output_values = output.get("values", [])

    def check(self, inputs: list[list[Any]]) -> None:
        """Inputs the model cannot take give a clear error naming the input."""
        for number, tokens in enumerate(inputs, start=1):
            if len(tokens) > self.model.max_len:
                raise RaspError(f"input {number} has {len(tokens)} tokens; this model was compiled "
                                f"for at most {self.model.max_len}")
            for position, token in enumerate(tokens):
                if _key(token) not in self.token_ids or token in (self.model.meta["bos"], self.model.meta["pad"]):
                    raise RaspError(f"input {number}: token {token!r} at position {position} is not in the "
                                    f"model's vocabulary {self.model.vocab}")

    def encode(self, inputs: list[list[Any]]) -> tuple[np.ndarray, np.ndarray]:
        width = max((len(t) for t in inputs), default=0) + 1
        rows = -(-len(inputs) // BATCH_BUCKET) * BATCH_BUCKET
        ids = np.full((rows, width), self.pad_id, dtype=np.int32)
        ids[:, 0] = self.bos_id
        lengths = np.zeros(rows, dtype=np.int32)
        for i, tokens in enumerate(inputs):
            ids[i, 1:len(tokens) + 1] = [self.token_ids[_key(t)] for t in tokens]
            lengths[i] = len(tokens)
        return ids, lengths

    def raw(self, inputs: list[list[Any]]) -> np.ndarray:
        """The unembedded outputs, `(len(inputs), width, outputs)`, BOS position included."""
        self.check(inputs)
        ids, lengths = self.encode(inputs)
        return np.asarray(self.forward(self.arrays, ids, lengths))[:len(inputs)]

    def run(self, inputs: list[list[Any]]) -> list[list[Any]]:
        """The model's output at every position of every input."""
        if not inputs:
            return []
        out = self.raw(inputs)
        results = []
        for i, tokens in enumerate(inputs):
            row = out[i, 1:len(tokens) + 1]
            if self.categorical:
                results.append([self.output_values[j] for j in row.argmax(axis=-1).tolist()])
            else:
                results.append(row[:, 0].astype(float).tolist())
        return results


def _key(token: Any) -> tuple[str, Any]:
    """Tokens as dictionary keys that keep 1, 1.0, True and "1" apart."""
    return (type(token).__name__, token)
