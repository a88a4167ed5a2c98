"""A compiled model's weights cut down to what each matrix reads and writes (`slim`), for the
runner's passes (`compiler.forward`, `compiler.interned`).

tracr pads every layer to its largest head and MLP, and every matrix spans the whole residual
stream, though each block reads a few dimensions and writes a few others. A model just compiled
says where each matrix may be non-zero (`CompiledModel.support`), so only that part is read
(`Part`); a model loaded from a file is read whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler.forward import MAX_SLICE_RUNS, column_runs
from compiler.model import CompiledModel


def lines_used(matrix: np.ndarray, axis: int, bias: np.ndarray | None = None, among: np.ndarray | None = None) -> np.ndarray:
    """Indices of the rows (axis=1) or columns (axis=0) of `matrix` that hold a non-zero (among
    the columns, or rows, `among` only, when given). Read in place (`ndarray.any` on the floats,
    slices for runs of indices): these matrices span the residual stream, 18M numbers at sort 128 x 32."""
    if among is None:
        used = matrix.any(axis=axis)
    elif matrix.size < 2**20 or len(runs := column_runs(among)) > MAX_SLICE_RUNS:  # one copy of the part
        used = np.take(matrix, among, axis=axis).any(axis=axis)
    else:  # a few runs of indices: read as slices, in place
        used = np.zeros(matrix.shape[1 - axis], bool)
        for first, end, _ in runs:
            used |= (matrix[:, first:end] if axis == 1 else matrix[first:end]).any(axis=axis)
    if bias is not None:
        used = used | (bias != 0)
    return np.flatnonzero(used)


def _block(matrix: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """`matrix[np.ix_(rows, columns)]` (both sorted), copied as slices where the indices make a
    few runs (a copy of whole blocks: 5-10x faster than indexing)."""
    row_runs, column_runs_ = column_runs(rows), column_runs(columns)
    if len(row_runs) > MAX_SLICE_RUNS or len(column_runs_) > MAX_SLICE_RUNS:
        return np.take(np.take(matrix, rows, axis=0), columns, axis=1)
    out = np.empty((len(rows), len(columns)), matrix.dtype)
    for first, end, at in row_runs:
        for left, right, to in column_runs_:
            out[at:at + end - first, to:to + right - left] = matrix[first:end, left:right]
    return out


@dataclass(frozen=True)
class Part:
    """A weight matrix of `shape` known to be zero outside `block`, a view of it from row and
    column `origin` on (the whole matrix when nothing is known). Nothing is copied, and no page
    the compile never wrote is read."""

    block: np.ndarray
    origin: tuple[int, int]
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: np.ndarray, support: tuple[np.ndarray, np.ndarray] | None) -> "Part":
        if support is None:
            return cls(matrix, (0, 0), matrix.shape)
        rows, columns = support
        if not len(rows) or not len(columns):
            return cls(matrix[:0, :0], (0, 0), matrix.shape)
        return cls(matrix[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1], (int(rows[0]), int(columns[0])),
                   matrix.shape)

    def any(self, axis: int) -> np.ndarray:
        """`matrix.any(axis)`."""
        out, start = np.zeros(self.shape[1 - axis], bool), self.origin[1 - axis]
        out[start:start + self.block.shape[1 - axis]] = self.block.any(axis=axis)
        return out

    def used(self, axis: int, bias: np.ndarray | None = None, among: np.ndarray | None = None) -> np.ndarray:
        """`lines_used(matrix, axis, bias, among)`."""
        local = None if among is None else self._inside(among, axis)[0]
        found = lines_used(self.block, axis, None, local) + self.origin[1 - axis]
        return found if bias is None else np.union1d(found, np.flatnonzero(bias != 0))

    def take(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """`matrix[np.ix_(rows, columns)]`, for sorted `rows` and `columns`."""
        (r, r_at), (c, c_at) = self._inside(rows, 0), self._inside(columns, 1)
        found = _block(self.block, r, c)
        if len(r) == len(rows) and len(c) == len(columns):
            return found
        out = np.zeros((len(rows), len(columns)), self.block.dtype)
        out[np.ix_(r_at, c_at)] = found
        return out

    def selection(self, rows: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """When `matrix[np.ix_(rows, columns)]` is a selection matrix (each column a single 1, or
        empty): (pick, has), each column's row among `rows` and whether it has one; else None.
        Found from the non-zeros, without copying the matrix (`x @ w` is then `x[..., pick] * has`)."""
        if not len(rows) or not len(columns):
            return None  # nothing to pick from
        (r, r_at), (c, c_at) = self._inside(rows, 0), self._inside(columns, 1)
        pick, has = np.zeros(len(columns), np.int64), np.zeros(len(columns), np.float32)
        if not len(r) or not len(c):
            return pick, has  # all of it outside the block: zeros
        box = self.block[r[0]:r[-1] + 1, c[0]:c[-1] + 1]  # only what `rows` and `columns` span is read
        nonzero = box != 0  # (as booleans: counted and found 10-40x faster than in a view of floats)
        if np.count_nonzero(nonzero) > 2 * len(columns) + 1024:
            return None  # too many non-zeros for one per column
        at_row, at_column = np.full(box.shape[0], -1), np.full(box.shape[1], -1)
        at_row[r - r[0]], at_column[c - c[0]] = r_at, c_at
        found_rows, found_columns = np.divmod(np.flatnonzero(nonzero), box.shape[1])
        keep = (at_row[found_rows] >= 0) & (at_column[found_columns] >= 0)
        found_rows, found_columns = found_rows[keep], found_columns[keep]
        picked = at_column[found_columns]
        if len(np.unique(picked)) < len(picked) or not np.all(box[found_rows, found_columns] == 1.0):
            return None
        pick[picked], has[picked] = at_row[found_rows], 1.0
        return pick, has

    def _inside(self, indices: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Those of `indices` (of the matrix's `axis`) inside the block: as the block's, and where in `indices`."""
        start = self.origin[axis]
        at = np.flatnonzero((indices >= start) & (indices < start + self.block.shape[axis]))
        return indices[at] - start, at


def slim(model: CompiledModel) -> dict[str, np.ndarray]:
    """The weights cut down to what each matrix reads and writes.

    tracr pads every layer to the largest head and MLP, and every matrix spans the whole
    residual stream, though each block reads a few dimensions and writes a few others. Zero
    rows and columns contribute exactly nothing, so cutting them changes no result and most
    of the work. Index arrays (`.in`, `.out`, `.dims`) say which dimensions remain. Where the
    compile says which part of a matrix it wrote (`CompiledModel.support`), only that part is read.
    Selection matrices (each column a single 1, or empty: tracr's key projections, the second
    layers of its table MLPs, many value maps) become index arrays `.pick` and `.has`: `x @ w`
    is then `x[..., pick] * has`, a copy instead of a product.
    """
    a, layout, support = model.arrays, model.meta.layout, model.support
    nothing = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # a matrix the compile never wrote
    heads, key_size = layout.num_heads, layout.key_size
    out: dict[str, np.ndarray] = {"token_embed": a["token_embed"], "pos_embed": a["pos_embed"]}

    def put(name: str, part: Part, rows: np.ndarray, columns: np.ndarray) -> None:
        """`name.w` = the matrix's `rows` x `columns`, or `name.pick` and `name.has` for a selection matrix."""
        selection = part.selection(rows, columns)
        if selection is None:
            out[name + ".w"] = part.take(rows, columns)
        else:
            out[name + ".pick"], out[name + ".has"] = selection

    rows = lines_used(a["unembed"], 1)
    out["unembed.rows"] = rows
    put("unembed", Part.of(a["unembed"], None), rows, np.arange(a["unembed"].shape[1]))

    def per_head(columns: np.ndarray) -> np.ndarray:
        """Head dimensions (0..key_size-1) used by any head, as columns of all heads."""
        return np.array([h * key_size + d for h in range(heads) for d in columns], dtype=np.int64)

    for i in range(model.num_layers):
        p = f"layer{i}."
        part = {name: Part.of(a[name], None if support is None else support.get(name, nothing)) for name in (
            *(p + f"attn.{n}.w" for n in ("query", "key", "value", "linear")), p + "mlp.linear_1.w", p + "mlp.linear_2.w")}
        wq, wk, wv, wo = (part[p + f"attn.{n}.w"] for n in ("query", "key", "value", "linear"))
        bq, bk, bv, bo = (a[p + f"attn.{n}.b"] for n in ("query", "key", "value", "linear"))
        by_dim = lambda w, b: (w.any(axis=0) | (b != 0)).reshape(heads, key_size).any(axis=0)
        qk_dims = np.flatnonzero(by_dim(wq, bq) & by_dim(wk, bk))
        v_dims = np.flatnonzero(by_dim(wv, bv) & wo.any(axis=1).reshape(heads, key_size).any(axis=0))
        qk_cols, v_cols = per_head(qk_dims), per_head(v_dims)
        for name, w, b, cols in (("query", wq, bq, qk_cols), ("key", wk, bk, qk_cols), ("value", wv, bv, v_cols)):
            used = w.used(1, among=cols)
            out[p + f"attn.{name}.in"] = used
            put(p + f"attn.{name}", w, used, cols)
            out[p + f"attn.{name}.b"] = b[cols]
        written = wo.used(0, bo, among=v_cols)
        out[p + "attn.out"] = written
        put(p + "attn.linear", wo, v_cols, written)
        out[p + "attn.linear.b"] = bo[written]
        out[p + "attn.qk.dims"], out[p + "attn.v.dims"] = qk_dims, v_dims
        w1, w2 = part[p + "mlp.linear_1.w"], part[p + "mlp.linear_2.w"]
        b1, b2 = a[p + "mlp.linear_1.b"], a[p + "mlp.linear_2.b"]
        hidden = np.intersect1d(w1.used(0, b1), w2.used(1))
        mlp_in = w1.used(1, among=hidden)
        mlp_out = w2.used(0, b2, among=hidden)
        out[p + "mlp.in"], out[p + "mlp.out"] = mlp_in, mlp_out
        put(p + "mlp.linear_1", w1, mlp_in, hidden)
        out[p + "mlp.linear_1.b"] = b1[hidden]
        put(p + "mlp.linear_2", w2, hidden, mlp_out)
        out[p + "mlp.linear_2.b"] = b2[mlp_out]
    return out
