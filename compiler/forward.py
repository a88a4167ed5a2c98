"""The compiled model's forward pass over a padded batch, in NumPy (`runner.Runner` batches,
encodes and decodes around it).

The computation is tracr's (no layer norm, ReLU MLPs, attention logits scaled by 1/sqrt(key
size)) on the slimmed weights (`slim.slim`: each matrix cut to the residual dimensions it reads
and writes). Padding positions are masked out as keys.

**Why NumPy.** A jitted JAX pass is compiled by XLA once per batch shape, about a second each for
these models: more than running them. Verifying sort with ties at 64 x 16 (1,424 inputs) took 3.8 s
jitted, 2.5 s of it compiling four batch widths, and takes about 0.6 s here; without a compile per
shape, a batch is also exactly as wide as its longest input (docs/compiler.md, the batched runner).

**Sparse paths.** A block that reads a categorical s-op sees rows of zeros and ones: one 1 for
the s-op's value, and tracr's constant `one` beside a query. A product by such a row is the sum
of at most two rows of the matrix; an attention logit between such a query and such a key is
one or two entries of the query matrix plus the bias. For matrices of `SPARSE_ROWS` rows or
more, the pass looks at the batch: where every row is zeros and at most two ones, it gathers
those instead of multiplying (sort with ties at 128 x 32 reads a 4,096-valued s-op: a 4,096 x
4,096 product per token otherwise); else it multiplies. Every term a gather leaves out is an
exact zero and the terms it keeps add the same in either order: the result is the product's,
bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPARSE_ROWS = 256  # products over fewer dimensions than this stay products (cheap enough)
MAX_SLICE_RUNS = 8  # columns in at most this many runs are read and written as slices

Runs = list[tuple[int, int, int]]  # column indices as runs: (first column, end, offset in the list)


def column_runs(columns: np.ndarray) -> Runs:
    """Column indices as runs of consecutive ones: (first column, end, offset in the list)."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1) + 1
    starts = np.concatenate([[0], breaks]).astype(int)
    ends = np.concatenate([breaks, [len(columns)]]).astype(int)
    return [(int(columns[a]), int(columns[b - 1]) + 1, int(a)) for a, b in zip(starts, ends)]


def take_columns(x: np.ndarray, columns: np.ndarray, runs: Runs) -> np.ndarray:
    """`x[..., columns]`, as slices when the columns are a few runs (a view, or one copy)."""
    if len(runs) > MAX_SLICE_RUNS:
        return np.take(x, columns, axis=-1)  # C-ordered (`x[:, columns]` is not, and slow to read by rows)
    parts = [x[..., first:end] for first, end, _ in runs]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def add_columns(x: np.ndarray, columns: np.ndarray, runs: Runs, update: np.ndarray) -> None:
    """Adds `update` to `x`'s `columns` (sorted) in place, a slice per run of consecutive columns
    (a block writes one s-op's contiguous dimensions)."""
    if len(runs) > MAX_SLICE_RUNS:
        x[..., columns] += update
        return
    for first, end, at in runs:
        x[..., first:end] += update[..., at:at + end - first]


def sum_of_rows(matrix: np.ndarray, found: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """`x @ matrix` for `x` of zeros and ones found by `ones(x)`: its rows' ones' rows of `matrix`,
    summed (in place: these arrays are 4,096 wide at sort 128 x 32)."""
    total = None
    for column, present in found:
        part = matrix[column]
        if not present.all():
            part *= present[..., None]
        if total is None:
            total = part
        else:
            total += part
    return total


def ones(x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """When every row of `x` is zeros and at most two ones: per row, (column, present) for its
    first and its last one (the second present only where there are two); else None. Read with
    a few reductions and a product by a vector: the rows are wide (4,096 at sort 128 x 32)."""
    flat = x.reshape(-1, x.shape[-1])
    if flat.size == 0 or flat.min() < 0 or flat.max() > 1:
        return None
    count = np.count_nonzero(flat, axis=-1)
    if count.max() > 2:
        return None
    rows, first = np.arange(len(flat)), flat.argmax(axis=-1)
    # the columns of a row's ones add up to first + last: exact, they are small integers
    last = np.where(count == 2, np.rint(flat @ np.arange(flat.shape[-1], dtype=flat.dtype)) - first, first)
    last = np.clip(last, 0, flat.shape[-1] - 1).astype(np.int64)
    # with `count` non-zeros in a row, it is binary when the columns found hold distinct 1s
    if not np.all(((count == 0) | (flat[rows, first] == 1)) & ((count < 2) | ((flat[rows, last] == 1) & (last > first)))):
        return None
    shape = x.shape[:-1]
    return [(first.reshape(shape), (count >= 1).reshape(shape)), (last.reshape(shape), (count == 2).reshape(shape))]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (the keys)."""
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


@dataclass
class Pass:
    """One forward pass's results. `residuals` `[stages, B, T, D]`: the stream after the
    embedding and after every sublayer; `attention` `[layers, B, H, T, T]` (uniform over the
    allowed keys in a layer without heads); both only when asked for."""

    outputs: np.ndarray  # [B, T, outputs], unembedded
    gathered: list[str] = field(default_factory=list)  # the sparse paths that gathered
    residuals: list[np.ndarray] = field(default_factory=list)
    attention: list[np.ndarray] = field(default_factory=list)


class Forward:
    """The forward pass of one slimmed model (`slim.slim`): `weights` its matrices, `index` the
    residual dimensions each reads and writes (`.in`, `.out`, ...) and its selection matrices as
    gathers (`.pick`, `.has`)."""

    def __init__(self, num_layers: int, num_heads: int, key_size: int, causal: bool,
                 weights: dict[str, np.ndarray], index: dict[str, np.ndarray]):
        self.num_layers, self.num_heads, self.key_size, self.causal = num_layers, num_heads, key_size, causal
        self.weights, self.index = weights, index
        # the embeddings' columns that hold non-zeros (tokens, indices, `one`), and every column list as runs
        self.embedded = {name: np.flatnonzero(np.any(weights[name] != 0, axis=0)) for name in ("token_embed", "pos_embed")}
        self.runs = {name: column_runs(columns) for name, columns in [*index.items(), *self.embedded.items()]
                     if not name.endswith(".has")}
        self.embeddings = {name: weights[name][:, columns] for name, columns in self.embedded.items()}

    def take(self, x: np.ndarray, name: str) -> np.ndarray:
        """`x`'s columns listed under `name` (in `index`)."""
        return take_columns(x, self.index[name], self.runs[name])

    def add(self, x: np.ndarray, name: str, update: np.ndarray) -> None:
        """Adds `update` to `x`'s columns listed under `name` (in `index`), in place."""
        add_columns(x, self.index[name], self.runs[name], update)

    def __call__(self, ids: np.ndarray, lengths: np.ndarray, internals: bool = False) -> Pass:
        w, index, batch, width = self.weights, self.index, *ids.shape
        result = Pass(np.zeros(0))
        x = np.zeros((batch, width, w["token_embed"].shape[1]), np.float32)
        for name, rows in (("token_embed", ids), ("pos_embed", np.arange(width)[None])):
            add_columns(x, self.embedded[name], self.runs[name], self.embeddings[name][rows])
        positions = np.arange(width)
        mask = positions[None, None, :] <= lengths[:, None, None]  # keys: BOS and the tokens
        if self.causal:
            mask = mask & (positions[None, None, :] <= positions[None, :, None])
        mask = mask[:, None]  # [B, 1, T, T]
        keep = (lambda: result.residuals.append(x.copy())) if internals else (lambda: None)
        keep()
        for i in range(self.num_layers):
            p = f"layer{i}."

            def heads(name: str, dims: int) -> np.ndarray:
                y = self.project(self.take(x, p + f"attn.{name}.in"), p + f"attn.{name}", result)
                return (y + w[p + f"attn.{name}.b"]).reshape(batch, width, self.num_heads, dims)

            if len(index[p + "attn.out"]):
                k = heads("key", len(index[p + "attn.qk.dims"]))
                v = heads("value", len(index[p + "attn.v.dims"]))
                logits = self.scores(p + "attn", self.take(x, p + "attn.query.in"), k, result)
                weights = softmax(np.where(mask, logits / np.float32(np.sqrt(self.key_size)), np.float32(-1e30)))
                attended = np.einsum("bhtT,bThd->bthd", weights, v).reshape(batch, width, -1)
                update = self.project(attended, p + "attn.linear", result) + w[p + "attn.linear.b"]
                self.add(x, p + "attn.out", update)
                if internals:
                    result.attention.append(weights)
            elif internals:
                result.attention.append(np.broadcast_to(mask / np.sum(mask, axis=-1, keepdims=True),
                                                        (batch, self.num_heads, width, width)))
            keep()
            if len(index[p + "mlp.out"]):
                hidden = self.project(self.take(x, p + "mlp.in"), p + "mlp.linear_1", result) + w[p + "mlp.linear_1.b"]
                np.maximum(hidden, 0, out=hidden)  # ReLU
                self.add(x, p + "mlp.out", self.project(hidden, p + "mlp.linear_2", result) + w[p + "mlp.linear_2.b"])
            keep()
        result.outputs = self.project(self.take(x, "unembed.rows"), "unembed", result)
        return result

    def project(self, x: np.ndarray, name: str, result: Pass) -> np.ndarray:
        """`x @ w`: a gather for a selection matrix, or for rows of zeros and ones (sparse paths)."""
        if name + ".pick" in self.index:
            picked, has = self.take(x, name + ".pick"), self.index[name + ".has"]
            return picked if np.all(has == 1) else picked * has
        matrix = self.weights[name + ".w"]
        found = ones(x) if matrix.shape[0] >= SPARSE_ROWS else None
        if found is None:
            # as one 2-D product: NumPy's stacked matmul skips BLAS for a non-contiguous `x`
            return (x.reshape(-1, x.shape[-1]) @ matrix).reshape(*x.shape[:-1], matrix.shape[-1])
        result.gathered.append(name)
        return sum_of_rows(matrix, found)

    def scores(self, layer: str, x_query: np.ndarray, k: np.ndarray, result: Pass) -> np.ndarray:
        """The attention logits `[B, H, T, T]` before scaling: q . k. Sparse: for each of the
        keys' ones j, q[t, j] (the query matrix's rows at the query's ones, summed, plus the
        bias), without forming q."""
        b, t, h, dims = k.shape
        name = layer + ".query"
        sparse = name + ".pick" not in self.index and dims >= SPARSE_ROWS
        query_ones = ones(x_query) if sparse else None  # [B, T] each
        key_ones = ones(k) if query_ones is not None else None  # [B, T, H] each
        if key_ones is None:
            q = self.project(x_query, name, result) + self.weights[name + ".b"]
            return np.einsum("bthd,bThd->bhtT", q.reshape(b, t, h, dims), k)
        result.gathered.append(layer)
        matrix, bias = self.weights[name + ".w"].reshape(-1, h, dims), self.weights[name + ".b"].reshape(h, dims)
        head = np.arange(h)[None, :, None, None]
        total = 0
        for key_column, key_present in key_ones:
            column = key_column.transpose(0, 2, 1)[:, :, None, :]  # [B, H, 1, T]
            q = 0
            for row, present in query_ones:
                q = q + matrix[row[:, None, :, None], head, column] * present[:, None, :, None]
            total = total + (q + bias[head, column]) * key_present.transpose(0, 2, 1)[:, :, None, :]
        return total
