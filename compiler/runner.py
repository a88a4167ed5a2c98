"""The batched runner: a compiled model on many inputs at once, in NumPy: the interned pass
(`compiler.interned`, each position-wise block once per distinct row) over batches of inputs of
one or a few neighbouring lengths; the plain pass (`compiler.forward`) for one input's internals.

The computation is tracr's (no layer norm, ReLU MLPs, attention logits scaled by 1/sqrt(key
size)); the beginning-of-sequence token is added here and its position dropped from the
output, and padding positions are masked out as keys, so a padded input gives exactly the
outputs it gives alone.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from compiler.forward import MAX_SLICE_RUNS, Forward, column_runs
from compiler.interned import Batch, Interned, TooLarge
from compiler.internals import Head, Internals, Stage, dim_owners, head_sops, stage_names
from compiler.model import CompiledModel
from grammar.errors import RaspError
from rasp.language.inputs import token_key
from rasp.language.sops import Encoding

BUCKET_CELLS = 2**17  # inputs x width^2 of a batch that merges several lengths


def _used(matrix: np.ndarray, axis: int, bias: np.ndarray | None = None, among: np.ndarray | None = None) -> np.ndarray:
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
        """`_used(matrix, axis, bias, among)`."""
        local = None if among is None else self._inside(among, axis)[0]
        found = _used(self.block, axis, None, local) + self.origin[1 - axis]
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
        nonzero = self.block != 0  # (as booleans: counted and found 10-40x faster than in a view of floats)
        if np.count_nonzero(nonzero) > 2 * len(columns) + 1024:
            return None  # too many non-zeros for one per column
        (r, r_at), (c, c_at) = self._inside(rows, 0), self._inside(columns, 1)
        at_row, at_column = np.full(self.block.shape[0], -1), np.full(self.block.shape[1], -1)
        at_row[r], at_column[c] = r_at, c_at
        found_rows, found_columns = np.divmod(np.flatnonzero(nonzero), self.block.shape[1])
        keep = (at_row[found_rows] >= 0) & (at_column[found_columns] >= 0)
        found_rows, found_columns = found_rows[keep], found_columns[keep]
        picked = at_column[found_columns]
        if len(np.unique(picked)) < len(picked) or not np.all(self.block[found_rows, found_columns] == 1.0):
            return None
        pick, has = np.zeros(len(columns), np.int64), np.zeros(len(columns), np.float32)
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

    rows = _used(a["unembed"], 1)
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


class Runner:
    """Runs a compiled model on plain token sequences (no BOS), in batches."""

    def __init__(self, model: CompiledModel):
        self.model = model
        meta = model.meta
        slimmed = slim(model)
        index = {k: v for k, v in slimmed.items() if k.endswith((".in", ".out", ".rows", ".dims", ".pick", ".has"))}
        weights = {k: np.asarray(v, dtype=np.float32) for k, v in slimmed.items() if k not in index}
        self.forward = Forward(meta.layout.num_layers, meta.layout.num_heads, meta.layout.key_size, model.causal,
                               weights, index)
        self.interned = Interned(self.forward)
        # tokens are told apart as everywhere else (`token_key`): 1 and 1.0 are one token, "1" another
        self.token_ids = {token_key(t): i for i, t in enumerate(meta.tokens)}
        self.bos_id = self.token_ids[token_key(meta.bos)]
        self.pad_id = self.token_ids[token_key(meta.pad)]
        self.categorical = meta.output.encoding is Encoding.CATEGORICAL
        self.output_values = meta.output.values or []
        self.output_table = np.empty(len(self.output_values), dtype=object)  # the values themselves, by index
        for j, value in enumerate(self.output_values):
            self.output_table[j] = value
        self._seen: dict[tuple[type, Any], int | None] = {}

    def check(self, inputs: list[list[Any]]) -> list[list[int]]:
        """Each input's token ids; an input the model cannot take gives a clear error naming it."""
        for number, tokens in enumerate(inputs, start=1):
            if len(tokens) > self.model.max_len:
                raise RaspError(f"input {number} has {len(tokens)} tokens; this model was compiled "
                                f"for at most {self.model.max_len}")
        flat = list(itertools.chain.from_iterable(inputs))
        try:
            kinds, distinct = set(map(type, flat)), set(flat)
        except TypeError:  # an unhashable token: the slow path names it
            kinds, distinct = {bool}, set()
        if not any(issubclass(kind, (bool, np.bool_)) for kind in kinds):  # by value: True would pass as 1
            ids = {token: self.token_id(token) for token in distinct}
            if None not in ids.values():  # every token known: looked up in C, a dictionary per value
                found = list(map(ids.__getitem__, flat))
                ends = list(itertools.accumulate(map(len, inputs)))
                return [found[end - len(tokens):end] for tokens, end in zip(inputs, ends)]
        out = []
        for number, tokens in enumerate(inputs, start=1):
            if len(tokens) > self.model.max_len:
                raise RaspError(f"input {number} has {len(tokens)} tokens; this model was compiled "
                                f"for at most {self.model.max_len}")
            ids = [self.token_id(token) for token in tokens]
            if None in ids:
                position = ids.index(None)
                raise RaspError(f"input {number}: token {tokens[position]!r} at position {position} is not in "
                                f"the model's vocabulary {self.model.vocab}")
            out.append(ids)
        return out

    def token_id(self, token: Any) -> int | None:
        """The token's id, None for a token outside the vocabulary (BOS and padding included);
        remembered by type and value, the long verification batches repeat a few tokens."""
        try:
            return self._seen[type(token), token]
        except KeyError:
            meta = self.model.meta
            found = None if token in (meta.bos, meta.pad) else self.token_ids.get(token_key(token))
            self._seen[type(token), token] = found
            return found
        except TypeError:  # unhashable: never a token
            return None

    def encode(self, inputs: list[list[Any]], known: list[list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Token ids `[inputs, longest + 1]` (BOS first, then padding) and lengths; `known`: the
        inputs' ids from `check`, when the caller has them."""
        width = max((len(t) for t in inputs), default=0) + 1
        ids = np.full((len(inputs), width), self.pad_id, dtype=np.int32)
        ids[:, 0] = self.bos_id
        lengths = np.zeros(len(inputs), dtype=np.int32)
        for i, tokens in enumerate(inputs):
            ids[i, 1:len(tokens) + 1] = known[i] if known is not None else [self.token_id(t) for t in tokens]
            lengths[i] = len(tokens)
        return ids, lengths

    def raw(self, inputs: list[list[Any]]) -> np.ndarray:
        """The unembedded outputs of the plain pass, `(len(inputs), width, outputs)`, BOS position
        included, for inputs already `check`ed (one batch: the caller keeps it small enough)."""
        return self.forward(*self.encode(inputs)).outputs

    @functools.cached_property
    def heads(self) -> list[Head]:
        """Every head that writes to the residual stream, with the s-op it computes."""
        owners = head_sops(self.model)
        return [Head(layer, head, owners[layer, head]) for layer, head in sorted(owners)]

    def run(self, inputs: list[list[Any]], progress: Callable[[int, int], None] | None = None) -> list[list[Any]]:
        """The model's output at every position of every input; `progress(done, total)` (in
        inputs, the share of the pass counted as done) after every layer and every batch of an
        attention layer, when given.

        All inputs go through the interned pass at once (`compiler.interned`), in batches of one
        length or a few neighbouring ones (`buckets`); when a table would be too large, the inputs are split in two and run in turn,
        down to a single input, which takes the plain pass."""
        known = self.check(inputs)
        results: list[list[Any]] = [[] for _ in inputs]
        if not inputs:
            return results
        pending, done = [self.buckets(inputs)], 0
        while pending:
            groups = pending.pop()
            count = sum(map(len, groups))
            tell = (lambda share: progress(done + int(count * share), len(inputs))) if progress else (lambda share: None)
            try:
                outputs = self.interned(self.batches([[inputs[i] for i in g] for g in groups],
                                                     [[known[i] for i in g] for g in groups]), tell)
            except TooLarge:
                if count == 1:
                    outputs = [self.raw([inputs[groups[0][0]]])]
                else:
                    pending += _halves(groups)[::-1]
                    continue
            for group, out in zip(groups, outputs):
                decoded = self.decode(out)  # a whole batch at once, then each input's positions
                for row, i in zip(decoded, group):
                    results[i] = row[1:len(inputs[i]) + 1]
            done += count
            if progress:
                progress(done, len(inputs))
        return results

    @staticmethod
    def buckets(inputs: list[list[Any]]) -> list[list[int]]:
        """Input numbers grouped by length, neighbouring lengths together (padded to the longest)
        while a group's attention stays under `BUCKET_CELLS` weights per head: short inputs in a
        few batches, not one per length (Python's cost per batch is most of a small model's)."""
        by_length: dict[int, list[int]] = {}
        for i in sorted(range(len(inputs)), key=lambda i: len(inputs[i])):
            by_length.setdefault(len(inputs[i]), []).append(i)
        groups: list[list[int]] = []
        for length, numbers in by_length.items():  # shortest first: a merged group's width is the new length's
            if groups and (len(groups[-1]) + len(numbers)) * (length + 1) ** 2 <= BUCKET_CELLS:
                groups[-1] = groups[-1] + numbers
            else:
                groups.append(list(numbers))
        return groups

    def batches(self, groups: list[list[list[Any]]], known: list[list[list[int]]] | None = None) -> list[Batch]:
        """Each group of inputs as one `Batch` (BOS first, padded to its longest), laid end to end;
        `known`: their token ids, when the caller has them (`check`)."""
        out, start = [], 0
        for k, group in enumerate(groups):
            ids, lengths = self.encode(group, known[k] if known is not None else None)
            out.append(Batch(ids, lengths, start))
            start += ids.size
        return out

    def decode(self, values: np.ndarray) -> list[Any]:
        """The outputs of unembedded positions `[..., positions, outputs]` (nested lists as deep)."""
        if self.categorical:
            return self.output_table[values.argmax(axis=-1)].tolist()
        return values[..., 0].astype(float).tolist()

    def internals(self, tokens: list[Any]) -> Internals:
        """Every head's attention and the residual stream after every sublayer, on one input
        (`compiler.internals`); the same computation as `run`, its intermediate values kept."""
        self.check([tokens])
        result = self.forward(*self.encode([tokens]), internals=True)
        n = len(tokens) + 1
        meta, model, heads = self.model.meta, self.model, self.heads
        return Internals(
            tokens=[meta.bos, *tokens], heads=heads,
            attention=[result.attention[h.layer][0, h.head, :n, :n] for h in heads],
            stages=[Stage(name, values[0, :n]) for name, values in zip(stage_names(model.num_layers),
                                                                       result.residuals)],
            residual_labels=list(meta.residual_labels), dim_sops=dim_owners(model),
            outputs=self.decode(result.outputs[0, 1:n]))


def _halves(groups: list[list[int]]) -> list[list[list[int]]]:
    """Groups of input numbers split in two: between groups, or within the only one."""
    if len(groups) > 1:
        return [groups[:len(groups) // 2], groups[len(groups) // 2:]]
    group = groups[0]
    return [[group[:len(group) // 2]], [group[len(group) // 2:]]]
