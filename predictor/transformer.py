"""The learned model: a small decoder-only Transformer in haiku (pre-LayerNorm, GELU MLP), its
weights initialised as haiku does or as GPT-2 does (`Init`).

One forward function maps token ids `(batch, T)`, true lengths `(batch,)` and position offsets
`(batch,)` to logits `(batch, T, classes)`: row b's token t sits at position t + offsets[b]
(absolute encodings only; relative ones do not see offsets). Padding sits at the end of each row and is masked out of attention.
The mask is causal unless the config says otherwise (a per-position task whose program reads
the whole input gets bidirectional attention; see docs/experiments.md).

Positional encodings, the schemes compared by Kazemnejad et al. (2023):
  nope        none at all (a causal mask alone still lets a model infer positions)
  learned     a learned vector per absolute position, added to the token embedding
  sinusoidal  the fixed sines and cosines of Vaswani et al., added to the token embedding
  rotary      queries and keys rotated by position (RoFormer)
  alibi       a fixed per-head penalty proportional to the query-key distance
  t5          a learned per-head bias for each bucket of relative distance (T5)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from grammar.errors import one_of
from predictor.encodings import Init, PositionalEncoding, positional_encoding


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int  # input token ids, 0 being padding
    classes: int  # output classes
    max_len: int  # the longest sequence the model will see (sizes the learned position table)
    causal: bool = True
    pe: PositionalEncoding = PositionalEncoding.ROTARY
    layers: int = 2
    heads: int = 4
    d_model: int = 64
    mlp_ratio: int = 4
    init: Init = Init.HAIKU  # weight initialisation and output layer (predictor.encodings.Init)
    tied: bool = False  # GPT-2 init only (else False): the output classes are the input tokens, so
    # the output layer is the token embedding (set by the caller that knows the encoding)

    def __post_init__(self):
        object.__setattr__(self, "pe", positional_encoding(self.pe))
        object.__setattr__(self, "init", one_of(Init, self.init, "initialisation"))
        object.__setattr__(self, "tied", self.tied and self.init is Init.GPT2)  # haiku's init never ties

    def as_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The settings that name a run folder: all of them, less `init` and `tied` at the values
        every run had before they existed (so those runs' folders still resume)."""
        d = self.as_dict()
        if self.init is Init.HAIKU:
            del d["init"], d["tied"]
        return d


def sinusoids(length: int, dim: int) -> np.ndarray:
    position = np.arange(length)[:, None]
    rate = np.exp(-math.log(10_000.0) * np.arange(0, dim, 2) / dim)
    table = np.zeros((length, dim), np.float32)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)[:, : dim // 2]
    return table


def rotate(x: jax.Array) -> jax.Array:
    """Rotary encoding of `(batch, T, heads, head_dim)` by each row's position."""
    t, dim = x.shape[1], x.shape[-1]
    half = dim // 2
    freq = 1.0 / (10_000.0 ** (np.arange(half) / half))
    angle = np.arange(t)[:, None] * freq[None, :]
    cos, sin = jnp.asarray(np.cos(angle))[None, :, None, :], jnp.asarray(np.sin(angle))[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def alibi_bias(t: int, heads: int, causal: bool) -> jax.Array:
    """ALiBi (Press et al.): head h subtracts slope_h times the distance; `(heads, T, T)`."""
    slopes = np.array([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)], np.float32)
    pos = np.arange(t)
    distance = pos[:, None] - pos[None, :]
    distance = np.maximum(distance, 0) if causal else np.abs(distance)
    return jnp.asarray(-slopes[:, None, None] * distance[None].astype(np.float32))


def t5_buckets(t: int, causal: bool, buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """T5's relative-position buckets: exact for near distances, logarithmic beyond."""
    pos = np.arange(t)
    relative = pos[None, :] - pos[:, None]  # key - query
    offset = np.zeros_like(relative)
    if causal:
        n = np.maximum(-relative, 0)
    else:
        buckets //= 2
        offset = (relative > 0).astype(relative.dtype) * buckets
        n = np.abs(relative)
    exact = buckets // 2
    far = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (buckets - exact)).astype(int)
    far = np.minimum(far, buckets - 1)
    return offset + np.where(n < exact, n, far)


class Transformer(hk.Module):
    def __init__(self, config: ModelConfig, keep_attention: bool = False):
        super().__init__(name="transformer")
        self.config = config
        self.kept: list[jax.Array] | None = [] if keep_attention else None  # each layer's weights (batch, heads, T, T)

    def __call__(self, ids: jax.Array, lengths: jax.Array, offsets: jax.Array | None = None) -> jax.Array:
        c = self.config
        t = ids.shape[1]
        init = hk.initializers.TruncatedNormal(0.02) if c.init is Init.HAIKU else hk.initializers.RandomNormal(0.02)
        embed = hk.Embed(c.vocab_size, c.d_model, w_init=init, name="embed")
        x = embed(ids)
        where = jnp.arange(t)[None, :] + (0 if offsets is None else offsets[:, None])  # (batch, T)
        if c.pe is PositionalEncoding.LEARNED:
            table = hk.get_parameter("positions", (c.max_len, c.d_model), init=init)
            x = x + table[jnp.minimum(where, c.max_len - 1)]
        elif c.pe is PositionalEncoding.SINUSOIDAL:
            x = x + jnp.asarray(sinusoids(2 * c.max_len + t, c.d_model))[where]
        pos = jnp.arange(t)
        mask = pos[None, None, None, :] < lengths[:, None, None, None]  # (batch, 1, 1, keys)
        if c.causal:
            mask = mask & (pos[:, None] >= pos[None, :])[None, None]
        bias = None
        if c.pe is PositionalEncoding.ALIBI:
            bias = alibi_bias(t, c.heads, c.causal)
        elif c.pe is PositionalEncoding.T5:
            table = hk.get_parameter("relative_bias", (32, c.heads), init=jnp.zeros)
            bias = jnp.transpose(table[t5_buckets(t, c.causal)], (2, 0, 1))
        for layer in range(c.layers):
            x = x + self.attention(layer_norm(x, f"ln_attn_{layer}"), mask, bias, f"attn_{layer}")
            x = x + self.mlp(layer_norm(x, f"ln_mlp_{layer}"), f"mlp_{layer}")
        x = layer_norm(x, "ln_final")
        logits = x @ embed.embeddings.T if c.tied else dense(self, c.classes, "unembed")(x)
        return logits if self.kept is None else (logits, jnp.stack(self.kept))

    def linear(self, size: int, name: str, residual: bool = False) -> hk.Linear:
        """A dense layer, initialised as the config says (GPT-2: N(0, 0.02), residual outputs
        scaled by 1 / sqrt(2 * layers)); `dense` says where it is made."""
        if self.config.init is Init.HAIKU:
            return hk.Linear(size, name=name)
        std = 0.02 / math.sqrt(2 * self.config.layers) if residual else 0.02
        return hk.Linear(size, w_init=hk.initializers.RandomNormal(std), name=name)

    def attention(self, x: jax.Array, mask: jax.Array, bias: jax.Array | None, name: str) -> jax.Array:
        c = self.config
        head_dim = c.d_model // c.heads
        b, t, _ = x.shape

        def project(what: str) -> jax.Array:
            return dense(self, c.d_model, f"{name}_{what}")(x).reshape(b, t, c.heads, head_dim)

        q, k, v = project("q"), project("k"), project("v")
        if c.pe is PositionalEncoding.ROTARY:
            q, k = rotate(q), rotate(k)
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim)
        if bias is not None:
            logits = logits + bias[None]
        logits = jnp.where(mask, logits, -1e9)
        weights = jax.nn.softmax(logits, axis=-1)
        if self.kept is not None:
            self.kept.append(weights)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, t, c.d_model)
        return dense(self, c.d_model, f"{name}_out", residual=True)(out)

    def mlp(self, x: jax.Array, name: str) -> jax.Array:
        c = self.config
        hidden = jax.nn.gelu(dense(self, c.mlp_ratio * c.d_model, f"{name}_in")(x))
        return dense(self, c.d_model, f"{name}_out", residual=True)(hidden)


def dense(module: Transformer, size: int, name: str, residual: bool = False) -> hk.Linear:
    """`module.linear`, made where its parameters get the names each initialisation's runs were
    first saved with: haiku's in the calling method (this is a plain function, so haiku names the
    layer after the method that calls it: `transformer/~attention/attn_0_q`), GPT-2's in
    `linear` (`transformer/~linear/attn_0_q`)."""
    if module.config.init is Init.HAIKU:
        return hk.Linear(size, name=name)
    return module.linear(size, name, residual)


def layer_norm(x: jax.Array, name: str) -> jax.Array:
    return hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, name=name)(x)


def build(config: ModelConfig, attention: bool = False) -> hk.Transformed:
    """`init(rng, ids, lengths[, offsets])` and `apply(params, None, ids, lengths[, offsets])`;
    with `attention`, `apply` returns (logits, every layer's attention weights `(layers, batch,
    heads, T, T)`)."""
    return hk.transform(lambda ids, lengths, offsets=None: Transformer(config, attention)(ids, lengths, offsets))


def parameter_count(params) -> int:
    return int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))
