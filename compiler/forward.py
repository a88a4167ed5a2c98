"""The compiled model's forward pass, as one jitted function over a padded batch (`runner.Runner`
batches, encodes and decodes around it).

The computation is tracr's (no layer norm, ReLU MLPs, attention logits scaled by 1/sqrt(key
size)) on the slimmed weights (`runner.slim`: each matrix cut to the residual dimensions it reads
and writes). Padding positions are masked out as keys.

**Sparse paths.** A block that reads a categorical s-op sees rows of zeros and ones: one 1 for
the s-op's value, and tracr's constant `one` beside a query. A product by such a row is the sum
of at most two rows of the matrix; an attention logit between such a query and such a key is
one or two entries of the query matrix plus the bias. The `sparse` forward pass gathers those
instead of multiplying (sort with ties at 128 x 32 reads a 4,096-valued s-op: a 4,096 x 4,096
product per token otherwise), and returns, beside the outputs, whether every row it treated so
really was zeros and at most two ones. Then every term it left out is an exact zero and the
terms it kept are added in the product's order (two terms add the same either way): the result
is the product's, bit for bit. Where a path was not exact, the runner makes it a product (`dense`)
and runs the batch again. (A data-dependent switch inside the function, `lax.cond`, costs more
than it saves on a CPU.)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

SPARSE_ROWS = 256  # products over fewer dimensions than this stay products (cheap enough)
MAX_SLICE_RUNS = 8  # a write to at most this many runs of residual dimensions is done run by run


def _runs(columns: np.ndarray) -> list[tuple[int, int, int]]:
    """Column indices as runs of consecutive ones: (first column, end, offset in the list)."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1) + 1
    starts = np.concatenate([[0], breaks]).astype(int)
    ends = np.concatenate([breaks, [len(columns)]]).astype(int)
    return [(int(columns[a]), int(columns[b - 1]) + 1, int(a)) for a, b in zip(starts, ends)]


def take_columns(x, columns: np.ndarray):
    """`x[..., columns]`, as slices when the columns are a few runs (XLA's gather over an index
    list is slow, and slower still fused into what reads it)."""
    runs = _runs(columns)
    if len(runs) > MAX_SLICE_RUNS:
        return x[..., columns]
    import jax.numpy as jnp

    parts = [x[..., first:end] for first, end, _ in runs]
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=-1)


def add_columns(x, columns: np.ndarray, update):
    """`x` with `update` added to its `columns` (sorted): a slice update per run of consecutive
    columns when there are few runs (a block writes one s-op's contiguous dimensions), which XLA
    does several times faster than a scatter over an index list."""
    runs = _runs(columns)
    if len(runs) > MAX_SLICE_RUNS:
        return x.at[..., columns].add(update)
    for first, end, at in runs:
        x = x.at[..., first:end].add(update[..., at:at + end - first])
    return x


def forward_fn(num_layers: int, num_heads: int, key_size: int, causal: bool, index: dict[str, np.ndarray],
               dense: frozenset[str] = frozenset(), internals: bool = False) -> tuple[Callable, list[str]]:
    """`forward(weights, ids, lengths) -> (outputs, exact)`, and the names of its sparse paths
    (filled when it is first traced). `exact[i]` is whether the i-th named path was exact on
    this batch; the paths named in `dense` are products (an attention's logits: "layerN.attn").
    With `internals`, it returns `(outputs, exact, residuals, attention)` too: the residual
    stream after the embedding and after every sublayer, `[stages, B, T, D]`, and every layer's
    attention weights, `[layers, B, H, T, T]` (uniform over the allowed keys in a layer without heads)."""
    import jax
    import jax.numpy as jnp

    checked: list[str] = []
    scale = np.float32(np.sqrt(key_size))  # tracr's 1/sqrt(key size), of the padded key size

    def binary(x: jax.Array) -> jax.Array:
        """Whether every row of `x` is zeros and at most two ones (a scalar)."""
        return jnp.all(x * (1 - x) == 0) & jnp.all(jnp.sum(x, axis=-1) <= 2)

    def ones(x: jax.Array) -> list[tuple[jax.Array, jax.Array]]:
        """Per row of a `binary` x, (column, present) for its first and its last one (the second
        present only where there are two). Plain max-reductions: XLA's argmax is slower."""
        count, columns = jnp.sum(x, axis=-1), jnp.arange(x.shape[-1], dtype=x.dtype)
        first = (x.shape[-1] - 1 - jnp.max(x * (x.shape[-1] - 1 - columns), axis=-1)).astype(jnp.int32)
        last = jnp.max(x * columns, axis=-1).astype(jnp.int32)
        return [(first, count >= 1), (last, count == 2)]

    def project(x: jax.Array, name: str, w: dict, checks: list) -> jax.Array:
        if name + ".pick" in index:
            return take_columns(x, index[name + ".pick"]) * index[name + ".has"]
        matrix = w[name + ".w"]
        if name in dense or matrix.shape[0] < SPARSE_ROWS:
            return x @ matrix
        checks.append((name, binary(x)))
        return sum(matrix[column] * present[..., None] for column, present in ones(x))

    def scores(layer: str, x_query: jax.Array, k: jax.Array, w: dict, checks: list) -> jax.Array:
        """The attention logits `[B, H, T, T]` before scaling: q . k. Sparse: for each of the
        keys' ones j, q[t, j] (the query matrix's rows at the query's ones, summed, plus the
        bias), without forming q."""
        b, t, h, dims = k.shape
        name = layer + ".query"
        if layer in dense or name + ".pick" in index or dims < SPARSE_ROWS:
            q = project(x_query, name, w, checks) + w[name + ".b"]
            return jnp.einsum("bthd,bThd->bhtT", q.reshape(b, t, h, dims), k)
        checks.append((layer, binary(x_query) & binary(k)))
        matrix, bias = w[name + ".w"].reshape(-1, h, dims), w[name + ".b"].reshape(h, dims)
        head = jnp.arange(h)[None, :, None, None]
        total = 0
        for key_column, key_present in ones(k):  # [B, T, H] each
            column = key_column.transpose(0, 2, 1)[:, :, None, :]  # [B, H, 1, T]
            q = 0
            for row, present in ones(x_query):  # [B, T] each
                q = q + matrix[row[:, None, :, None], head, column] * present[:, None, :, None]
            total = total + (q + bias[head, column]) * key_present.transpose(0, 2, 1)[:, :, None, :]
        return total

    def forward(w: dict, ids: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
        batch, width = ids.shape
        checks: list = []
        x = w["token_embed"][ids] + w["pos_embed"][:width][None]
        positions = jnp.arange(width)
        mask = positions[None, None, :] <= lengths[:, None, None]  # keys: BOS and the tokens
        if causal:
            mask = mask & (positions[None, None, :] <= positions[None, :, None])
        mask = mask[:, None]  # [B, 1, T, T]
        residuals, attention = [x], []
        for i in range(num_layers):
            p = f"layer{i}."

            def heads(name: str, dims: int) -> jax.Array:
                y = project(take_columns(x, index[p + f"attn.{name}.in"]), p + f"attn.{name}", w, checks)
                return (y + w[p + f"attn.{name}.b"]).reshape(batch, width, num_heads, dims)

            if len(index[p + "attn.out"]):
                k = heads("key", len(index[p + "attn.qk.dims"]))
                v = heads("value", len(index[p + "attn.v.dims"]))
                logits = scores(p + "attn", take_columns(x, index[p + "attn.query.in"]), k, w, checks) / scale
                logits = jnp.where(mask, logits, -1e30)
                weights = jax.nn.softmax(logits, axis=-1)
                attended = jnp.einsum("bhtT,bThd->bthd", weights, v).reshape(batch, width, -1)
                update = project(attended, p + "attn.linear", w, checks) + w[p + "attn.linear.b"]
                x = add_columns(x, index[p + "attn.out"], update)
                attention.append(weights)
            else:
                attention.append(jnp.broadcast_to(mask / jnp.sum(mask, axis=-1, keepdims=True),
                                                  (batch, num_heads, width, width)))
            residuals.append(x)
            if len(index[p + "mlp.out"]):
                hidden = jax.nn.relu(project(take_columns(x, index[p + "mlp.in"]), p + "mlp.linear_1", w, checks)
                                     + w[p + "mlp.linear_1.b"])
                x = add_columns(x, index[p + "mlp.out"], project(hidden, p + "mlp.linear_2", w, checks)
                                + w[p + "mlp.linear_2.b"])
            residuals.append(x)
        out = project(take_columns(x, index["unembed.rows"]), "unembed", w, checks)
        checked[:] = [name for name, _ in checks]
        exact = jnp.stack([flag for _, flag in checks]) if checks else jnp.zeros(0, bool)
        if internals:
            return out, exact, jnp.stack(residuals), jnp.stack(attention) if attention else jnp.zeros((0,))
        return out, exact

    return jax.jit(forward), checked
