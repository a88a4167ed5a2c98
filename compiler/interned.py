"""The runner's pass over many inputs at once, each position-wise computation done once per
distinct row (`runner.Runner.run`; `forward.Forward` is the plain pass it must equal).

**Why.** Most of a compiled model's work is position-wise (embeddings, MLPs, the query, key and
value projections), and its rows repeat: tracr's s-ops are one-hot or few-valued, so across a
verification's inputs the rows a block reads take few distinct values. Sort with ties at 128 x
32 computes a 4,096-valued key from (token, position): 4,128 distinct rows among 283,615
positions. The plain pass fills a 4,096-wide MLP layer and a 4,421-wide residual stream for
every position; this one fills them once per distinct row.

**How.** The residual stream over all positions is a set of segments: a segment is some
residual dimensions, a table of distinct rows over them, and each position's row number (its
code). The embeddings make the first segments; a block reads its input dimensions as one table
(positions renumbered by the tuple of codes they combine), computes its output on the table's
rows, and adds it as a new segment (merged with any segment it adds to, as the plain pass adds
to the stream). Attention is the only place positions meet: its logits are read from a table
of query rows x key rows (or, when that table would be too large, computed per batch from the
rows), then softmax and the weighted values per batch of equal-width inputs, as in the plain
pass. Every row is computed with the plain pass's own operations (`Forward.project`), so the
outputs are the plain pass's, to float rounding.

A table that would exceed `MAX_TABLE_CELLS` raises `TooLarge`; the runner then splits its
inputs in two, down to a single input, which takes the plain pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from compiler.forward import SPARSE_ROWS, Forward, Pass, add_columns, column_runs, ones, take_columns

MAX_TABLE_CELLS = 2**25  # floats in one table of distinct rows (128 MiB)
MAX_CHUNK_CELLS = 2**22  # floats in one array computed at once (a chunk of rows, a batch's attention)


class TooLarge(Exception):
    """A table of distinct rows would exceed `MAX_TABLE_CELLS`: run fewer inputs at once."""


@dataclass
class Segment:
    """Residual dimensions `columns` (sorted); position i holds `table[codes[i]]` there."""

    columns: np.ndarray
    table: np.ndarray  # [rows, len(columns)], distinct rows (float32)
    codes: np.ndarray  # [positions] int64


@dataclass(frozen=True)
class Batch:
    """Inputs of one width, padded: `ids` `[B, T]` (BOS first), `lengths` `[B]`; their positions
    are `start` .. `start + B * T` of the pass, row by row."""

    ids: np.ndarray
    lengths: np.ndarray
    start: int

    @property
    def positions(self) -> slice:
        return slice(self.start, self.start + self.ids.size)


def number(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions numbered by distinct `key`: (each position's number 0..U-1, one position per number)."""
    top = int(key.max(initial=-1)) + 1
    if top <= 4 * len(key) + 4096:  # a lookup array: no sort
        seen = np.zeros(top, bool)
        seen[key] = True
        numbers = np.cumsum(seen) - 1
        codes, count = numbers[key], int(seen.sum())
    else:
        distinct, codes = np.unique(key, return_inverse=True)
        codes, count = codes.reshape(-1), len(distinct)
    first = np.empty(count, np.int64)
    first[codes] = np.arange(len(key))  # any position of a number will do: their rows are equal
    return codes.astype(np.int64), first


def combine(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Positions numbered by their tuple of codes (`number`'s result)."""
    key = codes[0]
    for more in codes[1:]:
        size = int(more.max(initial=0)) + 1
        if (int(key.max(initial=0)) + 1) * size >= 2**62:
            key = number(key)[0]
        key = key * size + more
    return number(key)


def distinct_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows, each row's number among them)."""
    if len(table) <= 1 or table.shape[1] == 0:
        return table[:1], np.zeros(len(table), np.int64)
    found = ones(table)
    if found is not None:  # zeros and at most two ones: the columns name the row
        (first, has_first), (last, has_last) = found
        width = table.shape[1] + 1
        numbers, pick = number(np.where(has_first, first + 1, 0) * width + np.where(has_last, last + 1, 0))
    else:  # one column: its numbers; more: each row's bytes
        rows = np.ascontiguousarray(table)
        keys = rows[:, 0] if rows.shape[1] == 1 else rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()
        _, pick, numbers = np.unique(keys, return_index=True, return_inverse=True)
        numbers = numbers.reshape(-1)
    return table[pick], numbers.astype(np.int64)


def _check(rows: int, width: int) -> None:
    if rows * width > MAX_TABLE_CELLS:
        raise TooLarge(f"{rows:,} distinct rows of {width:,}")


class Stream:
    """The residual stream over `positions` positions, as segments (`Segment`)."""

    def __init__(self, width: int, positions: int):
        self.owner = np.full(width, -1)  # each residual dimension's segment (-1: still zero)
        self.segments: dict[int, Segment] = {}
        self.positions = positions
        self.last: tuple[bytes, tuple[np.ndarray, np.ndarray]] | None = None  # the last read (a query's
        # columns are often its key's), until the next `add`

    def read(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stream at `columns`: (a table of rows, each position's row). The rows need not be
        distinct: they are, except where a read of part of a segment keeps its rows as they are."""
        key = columns.tobytes()
        if self.last is None or self.last[0] != key:
            self.last = key, self._read(columns)
        return self.last[1]

    def _read(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        owners = self.owner[columns]
        parts = []  # per segment read: the columns it gives, its rows there, each position's row
        for key in sorted(set(owners.tolist()) - {-1}):
            s, mine = self.segments[key], np.flatnonzero(owners == key)
            if len(mine) == len(s.columns):
                parts.append((mine, s.table, s.codes))
                continue
            at = np.searchsorted(s.columns, columns[mine])
            table = take_columns(s.table, at, column_runs(at))
            if 2 * len(mine) >= len(s.columns):  # most of its columns: its rows as they are
                parts.append((mine, table, s.codes))
            else:  # a few columns: fewer distinct rows
                table, renumber = distinct_rows(table)
                parts.append((mine, table, renumber[s.codes]))
        if not parts:
            return np.zeros((1, len(columns)), np.float32), np.zeros(self.positions, np.int64)
        if len(parts) == 1 and len(parts[0][0]) == len(columns):
            return np.ascontiguousarray(parts[0][1]), parts[0][2]
        varying = [p for p in parts if len(p[1]) > 1]
        if len(varying) <= 1:  # the others constant ("one"): numbered as the varying part, no renumbering
            codes = varying[0][2] if varying else np.zeros(self.positions, np.int64)
            rows = len(varying[0][1]) if varying else 1
            table = np.zeros((rows, len(columns)), np.float32)
            for mine, part, _ in parts:  # (a constant part's one row, on every row)
                add_columns(table, mine, column_runs(mine), np.broadcast_to(part, (rows, len(mine))))
            return table, codes
        codes, first = combine([c for _, _, c in parts])
        _check(len(first), len(columns))
        table = np.zeros((len(first), len(columns)), np.float32)
        for mine, rows, at in parts:  # column runs as slices: a scatter by index is slow on wide tables
            add_columns(table, mine, column_runs(mine), rows[at[first]])
        return table, codes

    def add(self, columns: np.ndarray, table: np.ndarray, codes: np.ndarray) -> None:
        """Adds position i's `table[codes[i]]` to the stream at `columns`."""
        self.last = None
        parts = sorted(set(self.owner[columns].tolist()) - {-1})
        if parts:  # merged with the segments it adds to, added in the plain pass's order (old + new)
            olds = [self.segments.pop(p) for p in parts]
            merged, first = combine([s.codes for s in olds] + [codes])
            union = np.union1d(columns, np.concatenate([s.columns for s in olds]))
            _check(len(first), len(union))
            total = np.zeros((len(first), len(union)), np.float32)
            for s in olds:
                total[:, np.searchsorted(union, s.columns)] = s.table[s.codes[first]]
            total[:, np.searchsorted(union, columns)] += table[codes[first]]
            columns, table, codes = union, total, merged
        table, renumber = distinct_rows(table)
        key = max(self.segments, default=-1) + 1
        self.segments[key] = Segment(columns, table, renumber[codes])
        self.owner[columns] = key


def softmax_in_place(logits: np.ndarray) -> np.ndarray:
    """`forward.softmax` over the last axis, written over `logits` (no fresh arrays to fault in).
    Under 8 keys the max and the sum go key by key, as NumPy adds fewer than 8 (the same
    floats), 4x faster than its reduction over a short last axis."""
    width = logits.shape[-1]
    if width >= 8:
        logits -= logits.max(axis=-1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=-1, keepdims=True)
        return logits
    top = logits[..., 0].copy()
    for k in range(1, width):
        np.maximum(top, logits[..., k], out=top)
    logits -= top[..., None]
    np.exp(logits, out=logits)
    total = logits[..., 0].copy()
    for k in range(1, width):
        total += logits[..., k]
    logits /= total[..., None]
    return logits


def in_chunks(compute: Callable[[np.ndarray], np.ndarray], table: np.ndarray, width: int) -> np.ndarray:
    """`compute` over the rows of `table`, in chunks whose widest array (`width`) stays small."""
    rows = max(1, MAX_CHUNK_CELLS // max(width, 1))
    if len(table) <= rows:
        return compute(table)
    return np.concatenate([compute(table[k:k + rows]) for k in range(0, len(table), rows)])


class Interned:
    """The pass over batches of inputs (`Batch`) of one plain pass's weights (`forward`)."""

    def __init__(self, forward: Forward):
        self.f = forward

    def __call__(self, batches: list[Batch], done: Callable[[float], None] = lambda share: None) -> list[np.ndarray]:
        """The unembedded outputs `[B, T, outputs]` of each batch; `done(share)` after every layer
        and every batch of a layer's attention, with the share of the pass done (0 to 1)."""
        f, w, index = self.f, self.f.weights, self.f.index
        total = sum(b.ids.size for b in batches)
        stream = Stream(w["token_embed"].shape[1], total)
        ids = np.concatenate([b.ids.reshape(-1) for b in batches]).astype(np.int64)
        where = np.concatenate([np.tile(np.arange(b.ids.shape[1]), b.ids.shape[0]) for b in batches])
        for name, codes in (("token_embed", ids), ("pos_embed", where)):
            stream.add(f.embedded[name], f.embeddings[name], codes)
        scratch = Pass(np.zeros(0))
        for i in range(f.num_layers):
            p = f"layer{i}."
            if len(index[p + "attn.out"]):
                self.attention(p, stream, batches, scratch, lambda share: done((i + share) / f.num_layers))
            if len(index[p + "mlp.out"]):
                table, codes = stream.read(index[p + "mlp.in"])

                def mlp(rows: np.ndarray) -> np.ndarray:
                    hidden = f.project(rows, p + "mlp.linear_1", scratch) + w[p + "mlp.linear_1.b"]
                    np.maximum(hidden, 0, out=hidden)
                    return f.project(hidden, p + "mlp.linear_2", scratch) + w[p + "mlp.linear_2.b"]

                hidden_width = w[p + "mlp.linear_1.b"].shape[0]
                stream.add(index[p + "mlp.out"], in_chunks(mlp, table, hidden_width), codes)
            done((i + 1) / f.num_layers)
        table, codes = stream.read(index["unembed.rows"])
        outputs = f.project(table, "unembed", scratch)
        return [outputs[codes[b.positions]].reshape(*b.ids.shape, -1) for b in batches]

    def attention(self, p: str, stream: Stream, batches: list[Batch], scratch: Pass,
                  done: Callable[[float], None]) -> None:
        """One layer's heads: each position's update, added to the stream; `done(share)` after
        each batch."""
        f, w, index, heads = self.f, self.f.weights, self.f.index, self.f.num_heads

        def rows(name: str) -> tuple[np.ndarray, np.ndarray]:
            table, codes = stream.read(index[p + f"attn.{name}.in"])
            dims = w[p + f"attn.{name}.b"].shape[0]
            _check(len(table), dims)
            out = f.project(table, p + f"attn.{name}", scratch)  # no hidden layer: no temporary larger than `out`
            bias = w[p + f"attn.{name}.b"]
            out = np.add(out, bias, out=out) if out.flags.owndata else out + bias  # (a view of the table: a copy)
            return out.reshape(len(table), heads, -1), codes

        (q, q_codes), (k, k_codes), (v, v_codes) = rows("query"), rows("key"), rows("value")
        # a table of every (query row, key row) score when it is smaller than the batches' logits
        per_batch = sum(b.ids.shape[0] * b.ids.shape[1] ** 2 for b in batches)
        pairs = self.pair_scores(q, k) if len(q) * len(k) * heads <= min(MAX_TABLE_CELLS, per_batch * heads) else None
        scale = np.float32(np.sqrt(f.key_size))
        if pairs is not None:
            pairs /= scale  # once here, not in every batch
        out_columns = index[p + "attn.out"]
        _check(stream.positions, len(out_columns))
        update = np.empty((stream.positions, len(out_columns)), np.float32)
        for batch in batches:
            size, width = batch.ids.shape
            step = max(1, MAX_CHUNK_CELLS // (heads * width * max(width, q.shape[-1], v.shape[-1], len(out_columns))))
            for first in range(0, size, step):
                part = slice(batch.start + first * width, batch.start + min(size, first + step) * width)
                qc, kc, vc = (c[part].reshape(-1, width) for c in (q_codes, k_codes, v_codes))
                if pairs is not None:  # a flat index into each head's table: faster than four index arrays
                    at = qc[:, :, None].astype(np.int32) * pairs.shape[2] + kc[:, None, :].astype(np.int32)  # < 2^25
                    tables = pairs.reshape(heads, -1)
                    logits = np.take(tables[0], at)[:, None] if heads == 1 else \
                        np.stack([np.take(table, at) for table in tables], axis=1)
                else:
                    logits = q[qc].transpose(0, 2, 1, 3) @ k[kc].transpose(0, 2, 3, 1)
                    logits /= scale
                lengths = batch.lengths[first:first + len(qc)]
                if f.causal or np.any(lengths < width - 1):  # else every key is allowed
                    mask = np.arange(width)[None, None, :] <= lengths[:, None, None]
                    if f.causal:
                        mask = mask & (np.arange(width)[None, None, :] <= np.arange(width)[None, :, None])
                    np.copyto(logits, np.float32(-1e30), where=~mask[:, None])
                weights = softmax_in_place(logits)
                attended = (weights @ v[vc].transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3).reshape(len(qc), width, -1)
                update[part] = (f.project(attended, p + "attn.linear", scratch)
                                + w[p + "attn.linear.b"]).reshape(-1, len(out_columns))
            done(batch.positions.stop / stream.positions)
        stream.add(out_columns, *distinct_rows(update))

    @staticmethod
    def pair_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
        """`[heads, query rows, key rows]`: q . k for every pair of rows; for one-hot key rows
        (tracr's categorical selects) the query's entries at the keys' ones, gathered."""
        found = ones(k) if k.shape[-1] >= SPARSE_ROWS else None
        if found is None:
            return q.transpose(1, 0, 2) @ k.transpose(1, 2, 0)
        total = np.zeros((q.shape[1], len(q), len(k)), np.float32)
        for column, present in found:  # [key rows, heads] each
            if present.any():  # per head, the query rows' entries at the keys' columns
                for h in range(q.shape[1]):
                    picked = np.take(q[:, h], column[:, h], axis=1)
                    if not present[:, h].all():
                        picked *= present[None, :, h]
                    total[h] += picked
        return total
