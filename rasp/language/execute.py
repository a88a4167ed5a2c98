"""Run the s-op graph on a batch of same-length inputs with NumPy.

An s-op over a batch is a `(batch, n)` array, a selector a `(batch, n, n)` boolean array
with rows for queries and columns for keys. Errors that depend on the input (a mean of
strings, a division by zero) raise `ExecError` naming the batch row and position; the
caller turns the row back into the user's input.
"""

from __future__ import annotations

from typing import Any, Callable

import operator

import numpy as np

from rasp.language import sops
from rasp.language.sops import Value


class ExecError(Exception):
    def __init__(self, node: Value, message: str, row: int | None = None, position: int | None = None):
        super().__init__(message)
        self.node, self.message, self.row, self.position = node, message, row, position


# ---- dtypes ------------------------------------------------------------------------------


def _kind(a: np.ndarray) -> str:
    """'num' (ints, floats), 'bool', 'str' or 'obj'."""
    k = a.dtype.kind
    return {"i": "num", "u": "num", "f": "num", "b": "bool", "U": "str"}.get(k, "obj")


def _as_array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, str):
        return np.full(shape, value, dtype=f"<U{max(1, len(value))}")
    if isinstance(value, (bool, int, float)):
        return np.full(shape, value)
    out = np.empty(shape, dtype=object)
    out.fill(value)
    return out


def _unify(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make two arrays safe to mix in one result: numbers with numbers, strings with strings,
    anything else as Python objects (NumPy would otherwise turn 1 into "1")."""
    ka, kb = _kind(a), _kind(b)
    if ka == kb or {ka, kb} <= {"num", "bool"}:
        return a, b
    return a.astype(object), b.astype(object)


def truthy(a: np.ndarray) -> np.ndarray:
    k = _kind(a)
    if k == "bool":
        return a
    if k == "num":
        return a != 0
    if k == "str":
        return a != ""
    return np.frompyfunc(bool, 1, 1)(a).astype(bool)


def _first(mask: np.ndarray) -> tuple[int, int]:
    row, pos = np.argwhere(mask)[0][:2]
    return int(row), int(pos)


def _numeric(node: Value, op: str, *arrays: np.ndarray) -> list[np.ndarray]:
    out = []
    for a in arrays:
        k = _kind(a)
        if k == "bool":
            a = a.astype(np.int64)
        elif k != "num":  # a type for the whole batch: report its first input
            what = "strings" if k == "str" else "non-numbers"
            raise ExecError(node, f"'{op}' needs numbers, got {what}", row=0)
        out.append(a)
    return out


def _compare(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ka, kb = _kind(a), _kind(b)
    numeric = {ka, kb} <= {"num", "bool"}
    if not numeric and ka != kb:
        if op == "==":
            return np.zeros(np.broadcast_shapes(a.shape, b.shape), bool)
        if op == "!=":
            return np.ones(np.broadcast_shapes(a.shape, b.shape), bool)
        if "obj" not in (ka, kb):
            raise ExecError(node, f"cannot compare {_kind_name(ka)} with {_kind_name(kb)} using '{op}'", row=0)
        a, b = a.astype(object), b.astype(object)
    try:
        result = _COMPARE[op](a, b)
    except TypeError:
        raise ExecError(node, f"cannot compare these values with '{op}'") from None
    return np.asarray(result, dtype=bool)


def _kind_name(k: str) -> str:
    return {"num": "numbers", "bool": "booleans", "str": "strings", "obj": "mixed values"}[k]


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
}


_PYTHON_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                 "%": operator.mod, "^": operator.pow}


def _arith_objects(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mixed values (strings and numbers in one s-op): Python's operator, position by position."""
    a, b = np.broadcast_arrays(a.astype(object), b.astype(object))
    out = np.empty(a.shape, dtype=object)
    for index in np.ndindex(a.shape):
        x, y = a[index], b[index]
        try:
            out[index] = _PYTHON_ARITH[op](x, y)
        except (TypeError, ZeroDivisionError, OverflowError):
            raise ExecError(node, f"cannot apply '{op}' to {x!r} and {y!r}", index[0], index[1]) from None
    return out


def _arith(node: Value, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "+" and _kind(a) == "str" and _kind(b) == "str":
        return np.char.add(a, b)
    if "obj" in (_kind(a), _kind(b)):
        return _arith_objects(node, op, a, b)
    a, b = _numeric(node, op, a, b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        zero = np.broadcast_to(b == 0, np.broadcast_shapes(a.shape, b.shape))
        if zero.any():
            row, pos = _first(zero)
            raise ExecError(node, "division by zero" if op == "/" else "modulo by zero", row, pos)
        return a / b if op == "/" else np.mod(a, b)
    if op == "^":
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (np.any(b < 0) or np.any(b > 62)):
            a = a.astype(np.float64)
        with np.errstate(all="ignore"):
            out = np.power(a, b)
        if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
            row, pos = _first(~np.isfinite(out))
            raise ExecError(node, "'^' gives a number too large or undefined", row, pos)
        return out
    raise ExecError(node, f"unknown operator '{op}'")


def _map(node: sops.Map, args: list[np.ndarray]) -> np.ndarray:
    op = node.op
    if op in _COMPARE:
        return _compare(node, op, *args)
    if op in ("+", "-", "*", "/", "%", "^"):
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
        (a,) = _numeric(node, {"neg": "-", "pos": "+"}.get(op, op), args[0])
        if op == "neg":
            return -a
        if op == "abs":
            return np.abs(a)
        if op == "round":
            return np.round(a).astype(np.int64)
        return a
    if op == "ifelse":
        cond, then, otherwise = args
        then, otherwise = _unify(then, otherwise)
        return np.where(truthy(cond), then, otherwise)
    if op == "in":
        values, options = args[0], node.args[1]
        return np.frompyfunc(lambda v: v in options, 1, 1)(values).astype(bool)
    raise ExecError(node, f"unknown operation '{op}'")


# ---- selectors and aggregation ------------------------------------------------------------


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



def _aggregate(node: sops.Aggregate, sel: np.ndarray, values: np.ndarray) -> np.ndarray:
    width = np.count_nonzero(sel, axis=-1)
    empty = width == 0
    default = _as_array(node.default, width.shape)
    kind = _kind(values)
    if node.reduce == "mean":
        if kind == "num" and width.max(initial=0) > 1:
            total = np.matmul(sel.astype(np.float64), values.astype(np.float64)[..., None])[..., 0]
            result = total / np.maximum(width, 1)
        else:
            several = width > 1
            if several.any():
                row, pos = _first(several)
                raise ExecError(node, f"aggregate selects {int(width[row, pos])} positions but "
                                f"their values are {_kind_name(kind)}, which have no mean", row, pos)
            chosen = np.argmax(sel, axis=-1)
            result = np.take_along_axis(values, chosen, axis=-1)
    else:
        result = _extreme(node, sel, values, kind)
    if not empty.any():
        return result  # the default's type only matters where it is used
    result, default = _unify(result, default)
    return np.where(empty, default, result)


def _extreme(node: sops.Aggregate, sel: np.ndarray, values: np.ndarray, kind: str) -> np.ndarray:
    """The largest (max) or smallest (min) selected value, by ranking the values first."""
    if kind == "obj":
        raise ExecError(node, f"aggregate_{node.reduce} needs values of one type")
    ranks_of, ranks = np.unique(values, return_inverse=True)
    ranks = ranks.reshape(values.shape)
    expanded = np.broadcast_to(ranks[:, None, :], sel.shape)
    if node.reduce == "max":
        best = np.where(sel, expanded, -1).max(axis=-1)
    else:
        best = np.where(sel, expanded, len(ranks_of)).min(axis=-1)
    return ranks_of[np.clip(best, 0, len(ranks_of) - 1)]


def _tokens(node: sops.Tokens, raw: np.ndarray) -> np.ndarray:
    view = node.view
    if view == "tokens":
        return raw
    if view == "tokens_str":
        if _kind(raw) == "str":
            return raw
        return np.array([str(v) for v in raw.reshape(-1).tolist()]).reshape(raw.shape)
    convert = {"tokens_int": int, "tokens_float": float, "tokens_bool": _token_bool}[view]
    flat = raw.reshape(-1)
    out = []
    for i, v in enumerate(flat.tolist()):
        try:
            out.append(convert(v))
        except (ValueError, TypeError):
            row, pos = divmod(i, raw.shape[1])
            kind = {"tokens_int": "an integer", "tokens_float": "a number", "tokens_bool": "a boolean"}[view]
            raise ExecError(node, f"token {v!r} is not {kind} ({view})", row, pos) from None
    return np.array(out).reshape(raw.shape)


def _token_bool(v: Any) -> bool:
    if isinstance(v, (bool, int, float)):
        return bool(v)
    text = str(v)
    if text in ("True", "true", "T", "1"):
        return True
    if text in ("False", "false", "F", "0"):
        return False
    raise ValueError(v)


def execute(outputs: list[Value], tokens: np.ndarray, causal: bool = False) -> list[np.ndarray]:
    """Evaluate `outputs` on a `(batch, n)` array of tokens; one array per output."""
    batch, n = tokens.shape
    positions = np.arange(n)
    causal_mask = positions[None, :] <= positions[:, None]  # [q, k]: key at or before query
    memo: dict[int, np.ndarray] = {}

    def arg(x: Any) -> Any:
        return memo[id(x)] if isinstance(x, Value) else _as_array(x, (batch, n))

    def value_of(node: Value) -> np.ndarray:
        if isinstance(node, sops.Tokens):
            return _tokens(node, tokens)
        if isinstance(node, sops.Indices):
            return np.broadcast_to(positions, (batch, n))
        if isinstance(node, sops.Length):
            return np.broadcast_to(positions + 1 if causal else np.full(n, n), (batch, n))
        if isinstance(node, sops.Full):
            return _as_array(node.value, (batch, n))
        if isinstance(node, sops.Map):
            return _map(node, [arg(a) for a in node.args])
        if isinstance(node, sops.Select):
            keys, queries = _compact(arg(node.keys), arg(node.queries))
            keys, queries = np.ascontiguousarray(keys), np.ascontiguousarray(queries)
            out = _compare(node, node.op, keys[:, None, :], queries[:, :, None])
            return out & causal_mask if causal else out
        if isinstance(node, sops.SelectAnd):
            return memo[id(node.left)] & memo[id(node.right)]
        if isinstance(node, sops.SelectOr):
            return memo[id(node.left)] | memo[id(node.right)]
        if isinstance(node, sops.SelectNot):
            out = ~memo[id(node.inner)]
            return out & causal_mask if causal else out
        if isinstance(node, sops.SelectorWidth):
            return np.count_nonzero(memo[id(node.selector)], axis=-1)
        if isinstance(node, sops.Aggregate):
            return _aggregate(node, memo[id(node.selector)], arg(node.values))
        raise ExecError(node, f"cannot execute {type(node).__name__}")  # pragma: no cover

    for node in sops.walk(outputs):
        try:
            memo[id(node)] = value_of(node)
        except OverflowError:
            raise ExecError(node, "a number is too large for 64-bit arithmetic") from None
    return [memo[id(o)] for o in outputs]
