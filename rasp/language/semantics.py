"""What every operation of the language means, on NumPy arrays: the one definition of the semantics.

The interpreter (`rasp.language.execute`) applies these functions to a batch, `(batch, n)` arrays
for s-ops and `(batch, n, n)` boolean arrays for selectors (rows are queries, columns keys). The
compiler (`compiler/`) applies the same functions to value sets, to tabulate what each MLP and
attention head must compute; so the two cannot disagree about an operator.

Errors that depend on the values (a mean of strings, a division by zero) raise `ExecError`
naming the batch row and position where they are known.
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Any, Callable

import numpy as np

from rasp.language import sops
from rasp.language.sops import Reduce, TokenView, Value


class ExecError(Exception):
    """An operation that cannot be applied to these values; `row` and `position` locate the first
    offending entry when known (None: the whole batch); `rows`: every row that fails here, when known."""

    def __init__(self, node: Value, message: str, row: int | None = None, position: int | None = None,
                 rows: list[int] | None = None):
        super().__init__(message)
        self.node, self.message, self.row, self.position, self.rows = node, message, row, position, rows


# ---- kinds of arrays ------------------------------------------------------------------------
class ArrayKind(StrEnum):
    """What an array holds, as far as the operators care."""

    NUMBER = "numbers"  # ints and floats
    BOOL = "booleans"
    STR = "strings"
    MIXED = "mixed values"  # a Python object array: anything, possibly of several types


def array_kind(a: np.ndarray) -> ArrayKind:
    return {"i": ArrayKind.NUMBER, "u": ArrayKind.NUMBER, "f": ArrayKind.NUMBER, "b": ArrayKind.BOOL,
            "U": ArrayKind.STR}.get(a.dtype.kind, ArrayKind.MIXED)


def _numeric_kinds(*kinds: ArrayKind) -> bool:
    return set(kinds) <= {ArrayKind.NUMBER, ArrayKind.BOOL}


def as_array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A plain value (number, string, list...) broadcast to an array of `shape`; arrays pass through."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, str):
        return np.full(shape, value, dtype=f"<U{max(1, len(value))}")
    if isinstance(value, (bool, int, float)):
        return np.full(shape, value)
    out = np.empty(shape, dtype=object)
    out.fill(value)
    return out


def unify(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make two arrays safe to mix in one result: numbers with numbers, strings with strings,
    anything else as Python objects (NumPy would otherwise turn 1 into "1")."""
    ka, kb = array_kind(a), array_kind(b)
    if ka == kb or _numeric_kinds(ka, kb):
        return a, b
    return a.astype(object), b.astype(object)


def truthy(a: np.ndarray) -> np.ndarray:
    k = array_kind(a)
    if k is ArrayKind.BOOL:
        return a
    if k is ArrayKind.NUMBER:
        return a != 0
    if k is ArrayKind.STR:
        return a != ""
    return np.frompyfunc(bool, 1, 1)(a).astype(bool)


def _first(mask: np.ndarray) -> tuple[int, int]:
    """The (row, position) of the first true entry of a `(batch, n, ...)` mask."""
    row, pos = np.argwhere(mask)[0][:2]
    return int(row), int(pos)


def _failure(node: Value, message: str, mask: np.ndarray) -> ExecError:
    """The error at the first true entry of a `(batch, n, ...)` mask, naming every row with one."""
    return ExecError(node, message, *_first(mask), np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1)).tolist())


# ---- comparisons ----------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
}


def compare(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a op b`, broadcast. Values of different kinds are never equal; ordering them is an error."""
    ka, kb = array_kind(a), array_kind(b)
    if not _numeric_kinds(ka, kb) and ka != kb:
        if op == "==":
            return np.zeros(np.broadcast_shapes(a.shape, b.shape), bool)
        if op == "!=":
            return np.ones(np.broadcast_shapes(a.shape, b.shape), bool)
        if ArrayKind.MIXED not in (ka, kb):
            raise ExecError(node, f"cannot compare {ka} with {kb} using '{op}'", row=0)
        a, b = a.astype(object), b.astype(object)
    try:
        result = _COMPARE[op](a, b)
    except TypeError:
        raise ExecError(node, f"cannot compare these values with '{op}'") from None
    return np.asarray(result, dtype=bool)


def select(node: sops.Select, keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The selector matrix `[batch, q, k]` of `keys[k] op queries[q]` for `(batch, n)` keys and queries."""
    keys, queries = _compact(keys, queries)
    keys, queries = np.ascontiguousarray(keys), np.ascontiguousarray(queries)
    return compare(node, node.op, keys[:, None, :], queries[:, :, None])


def _compact(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys and queries as the smallest integers that keep their order, so that the n-by-n
    comparison of a selector moves as few bytes as possible (strings become ranks)."""
    kinds = (keys.dtype.kind, queries.dtype.kind)
    if kinds == ("U", "U"):
        ranks = np.unique(np.concatenate([keys.ravel(), queries.ravel()]), return_inverse=True)[1]
        keys, queries = ranks[:keys.size].reshape(keys.shape), ranks[keys.size:].reshape(queries.shape)
    elif not (set(kinds) <= {"i", "u"}):
        return keys, queries
    low = min(int(keys.min(initial=0)), int(queries.min(initial=0)))
    high = max(int(keys.max(initial=0)), int(queries.max(initial=0)))
    for small in (np.int8, np.int16, np.int32):
        info = np.iinfo(small)
        if info.min <= low and high <= info.max:
            return keys.astype(small, order="C"), queries.astype(small, order="C")
    return keys, queries


# ---- arithmetic -----------------------------------------------------------------------------

_PYTHON_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                 "%": operator.mod, "^": operator.pow}


def _numeric(node: Value, op: str, *arrays: np.ndarray) -> list[np.ndarray]:
    out = []
    for a in arrays:
        k = array_kind(a)
        if k is ArrayKind.BOOL:
            a = a.astype(np.int64)
        elif k is not ArrayKind.NUMBER:  # a type for the whole batch: report its first input
            what = "strings" if k is ArrayKind.STR else "non-numbers"
            raise ExecError(node, f"'{op}' needs numbers, got {what}", row=0)
        out.append(a)
    return out


def _arith_objects(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mixed values (strings and numbers in one s-op): Python's operator, position by position."""
    a, b = np.broadcast_arrays(a.astype(object), b.astype(object))
    out = np.empty(a.shape, dtype=object)
    for index in np.ndindex(a.shape):
        x, y = a[index], b[index]
        try:
            out[index] = r = _PYTHON_ARITH[op](x, y)
        except (TypeError, ZeroDivisionError, OverflowError):
            raise ExecError(node, f"cannot apply '{op}' to {x!r} and {y!r}", index[0], index[1]) from None
        if (isinstance(r, int) and not INT_MIN <= r <= INT_MAX) or (isinstance(r, float) and not np.isfinite(r)):
            raise ExecError(node, f"'{op}' gives a number too large or undefined", index[0], index[1])
    return out


# The numeric contract (docs/language.md): integers are 64-bit and floats 64-bit and finite. An
# operation whose exact result is outside them (an integer past 2^63 - 1, an infinity, a NaN) is
# an error at that operation, naming the input and position: never a silent wrap-around.
INT_MIN, INT_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _checked(node: Value, op: str, out: np.ndarray, overflow: np.ndarray | None = None) -> np.ndarray:
    """`out`, unless an entry overflowed (`overflow`, for integers) or is not a finite float."""
    bad = overflow if out.dtype.kind in "iu" else (~np.isfinite(out) if out.dtype.kind == "f" else None)
    if bad is not None and np.any(bad):
        kind = "64-bit integers" if out.dtype.kind in "iu" else "finite 64-bit floats"
        raise _failure(node, f"'{op}' gives a number too large or undefined (numbers are {kind})",
                       np.broadcast_to(bad, out.shape))
    return out


def _int_overflow(op: str, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray | None:
    """Where an int64 `+`, `-` or `*` wrapped around (None for floats)."""
    if out.dtype.kind not in "iu":
        return None
    if op == "+":
        return ((a ^ out) & (b ^ out)) < 0
    if op == "-":
        return ((a ^ b) & (a ^ out)) < 0
    with np.errstate(all="ignore"):  # a product that wrapped cannot divide back to its factor
        nonzero = a != 0
        back = np.where(nonzero, out // np.where(nonzero, a, 1), b)
    return (back != b) | ((a == -1) & (b == INT_MIN)) | ((b == -1) & (a == INT_MIN))


def _arith(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "+" and array_kind(a) is ArrayKind.STR and array_kind(b) is ArrayKind.STR:
        return np.char.add(a, b)
    if ArrayKind.MIXED in (array_kind(a), array_kind(b)):
        return _arith_objects(node, op, a, b)
    a, b = _numeric(node, op, a, b)
    if op in ("+", "-", "*"):
        with np.errstate(all="ignore"):
            out = a + b if op == "+" else a - b if op == "-" else a * b
        return _checked(node, op, out, _int_overflow(op, a, b, out))
    if op in ("/", "%"):
        zero = np.broadcast_to(b == 0, np.broadcast_shapes(a.shape, b.shape))
        if zero.any():
            raise _failure(node, "division by zero" if op == "/" else "modulo by zero", zero)
        with np.errstate(all="ignore"):
            out = a / b if op == "/" else np.mod(a, b)
        overflow = (a == INT_MIN) & (b == -1) if out.dtype.kind in "iu" else None
        return _checked(node, op, out, overflow)
    if op == "^":
        ints = a.dtype.kind in "iu" and b.dtype.kind in "iu"
        if ints and (np.any(b < 0) or np.any(b > 62)):
            a, ints = a.astype(np.float64), False
        with np.errstate(all="ignore"):
            out = np.power(a, b)
            # exact where the float power says the integer one may not fit
            overflow = np.abs(np.power(a.astype(np.float64), b)) >= 2.0**62 if ints else None
        if overflow is not None and overflow.any():
            exact = np.frompyfunc(lambda x, y: not INT_MIN <= int(x) ** int(y) <= INT_MAX, 2, 1)
            overflow = overflow & exact(*np.broadcast_arrays(a, b)).astype(bool)
        return _checked(node, op, out, overflow)
    raise ExecError(node, f"unknown operator '{op}'")


# ---- element-wise operations ----------------------------------------------------------------
def apply_map(node: sops.Map, args: list[np.ndarray]) -> np.ndarray:
    """A `Map`'s operation on its arguments, one array per entry of `node.args` (plain values
    already broadcast with `as_array`)."""
    op = node.op
    if op in _COMPARE:
        return compare(node, op, *args)
    if op in _PYTHON_ARITH:
        return _arith(node, op, *args)
    if op == "and":
        return truthy(args[0]) & truthy(args[1])
    if op == "or":
        return truthy(args[0]) | truthy(args[1])
    if op == "not":
        return ~truthy(args[0])
    if op == "indicator":
        return truthy(args[0]).astype(np.int64)
    if op in ("neg", "pos", "abs", "round"):
        name = {"neg": "-", "pos": "+"}.get(op, op)
        (a,) = _numeric(node, name, args[0])
        if op in ("neg", "abs"):
            return _checked(node, name, -a if op == "neg" else np.abs(a), a == INT_MIN)
        if op == "round":
            if a.dtype.kind in "iu":
                return a
            rounded = np.round(a)
            outside = ~((rounded >= -2.0**63) & (rounded < 2.0**63))  # NaN included
            return _checked(node, name, np.where(outside, 0, rounded).astype(np.int64), outside)
        return a
    if op == "ifelse":
        cond, then, otherwise = args
        then, otherwise = unify(then, otherwise)
        return np.where(truthy(cond), then, otherwise)
    if op == "in":
        values, options = args[0], node.args[1]
        return np.frompyfunc(lambda v: v in options, 1, 1)(values).astype(bool)
    if op in ("lookup", "index"):
        return _lookup(node, args[0], dict(node.args[1]))
    raise ExecError(node, f"unknown operation '{op}'")


def _lookup(node: sops.Map, keys: np.ndarray, table: dict[Any, Any]) -> np.ndarray:
    """`d[tokens]`, `names[indices]`: each position's entry; a key with none is an error there."""
    flat = keys.reshape(-1).tolist()
    out = []
    for i, key in enumerate(flat):
        try:
            out.append(table[key])
        except (KeyError, TypeError):
            row, pos = divmod(i, keys.shape[-1]) if keys.ndim > 1 else (None, i)
            if node.op == "lookup":
                message = f"key {key!r} is not in the dict"
            else:
                message = f"index {key!r} is out of range for a list or string of length {len(table) // 2}"
            raise ExecError(node, message, row, pos) from None
    return from_values(out, keys.shape)


def from_values(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    """Plain values as an array: numbers, booleans or strings as NumPy holds them, a mixture as
    Python objects (so 1 never becomes "1")."""
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
    if len(kinds) <= 1:
        return np.array(values).reshape(shape)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def token_view(node: sops.Tokens, raw: np.ndarray) -> np.ndarray:
    """The input tokens read as `node.view` says (as given, or as strings, integers, ...)."""
    view = node.view
    if view == TokenView.TOKENS:
        return raw
    if raw.dtype.kind == "i" and view in (TokenView.INT, TokenView.FLOAT):  # 64-bit integers: in C
        return raw.astype(np.int64 if view == TokenView.INT else np.float64)
    if view == TokenView.STR:
        if array_kind(raw) is ArrayKind.STR:
            return raw
        return np.array([str(v) for v in raw.reshape(-1).tolist()]).reshape(raw.shape)
    convert, what = {TokenView.INT: (_token_int, "an integer"), TokenView.FLOAT: (float, "a number"),
                     TokenView.BOOL: (_token_bool, "a boolean")}[TokenView(view)]
    out = []
    for i, v in enumerate(raw.reshape(-1).tolist()):
        try:
            out.append(convert(v))
        except (ValueError, TypeError):
            row, pos = divmod(i, raw.shape[1])
            raise ExecError(node, f"token {v!r} is not {what} ({view})", row, pos) from None
    return np.array(out).reshape(raw.shape)


def _token_int(v: Any) -> int:
    """A token read as an integer: a whole number (1.0 is 1, 1.5 is not), never truncated."""
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(v)
    out = int(v)
    if not INT_MIN <= out <= INT_MAX:
        raise ValueError(v)
    return out


def _token_bool(v: Any) -> bool:
    if isinstance(v, (bool, int, float)):
        return bool(v)
    text = str(v)
    if text in ("True", "true", "T", "1"):
        return True
    if text in ("False", "false", "F", "0"):
        return False
    raise ValueError(v)


# ---- aggregation ----------------------------------------------------------------------------
def aggregate(node: sops.Aggregate, selection: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each query, the mean (or max, min) of the selected values; the default where none is."""
    width = np.count_nonzero(selection, axis=-1)
    empty = width == 0
    default = as_array(node.default, width.shape)
    k = array_kind(values)
    if node.reduce == Reduce.MEAN:
        if k is ArrayKind.NUMBER and width.max(initial=0) > 1:
            total = np.matmul(selection.astype(np.float64), values.astype(np.float64)[..., None])[..., 0]
            result = total / np.maximum(width, 1)
        else:
            several = width > 1
            if several.any():
                raise _failure(node, f"aggregate selects {int(width[_first(several)])} positions but their values "
                               f"are {k}, which have no mean", several)
            chosen = np.argmax(selection, axis=-1)
            result = np.take_along_axis(values, chosen, axis=-1)
    else:
        result = _extreme(node, selection, values, k)
    if not empty.any():
        return result  # the default's type only matters where it is used
    result, default = unify(result, default)
    return np.where(empty, default, result)


def _extreme(node: sops.Aggregate, selection: np.ndarray, values: np.ndarray, k: ArrayKind) -> np.ndarray:
    """The largest (max) or smallest (min) selected value, by ranking the values first."""
    if k is ArrayKind.MIXED:
        raise ExecError(node, f"aggregate_{node.reduce} needs values of one type")
    if k is ArrayKind.NUMBER and values.dtype != object and values.size:
        # numbers: fill the unselected keys with a value no selected one beats (rows picking none get the default)
        fill, pick = (values.min(), np.max) if node.reduce == Reduce.MAX else (values.max(), np.min)
        return pick(np.where(selection, values[:, None, :], fill), axis=-1)
    ranks_of, ranks = np.unique(values, return_inverse=True)
    ranks = ranks.reshape(values.shape)
    expanded = np.broadcast_to(ranks[:, None, :], selection.shape)
    if node.reduce == Reduce.MAX:
        best = np.where(selection, expanded, -1).max(axis=-1)
    else:
        best = np.where(selection, expanded, len(ranks_of)).min(axis=-1)
    return ranks_of[np.clip(best, 0, len(ranks_of) - 1)]
