"""Value sets and tables: each operation of the program, computed once for every combination of
its inputs' values, by the language's own semantics (`rasp.language.semantics`).

A compiled MLP is a lookup table and an attention head compares every key value with every
query value, so the compiler needs every value an s-op can take (its value set) and every
result. Both come from here; the limits keep them small enough to enumerate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from compiler.errors import CompileError
from rasp.language import semantics, sops

MAX_VALUE_SET = 2_000_000  # combinations enumerated for one operation's value set

Columns = list[np.ndarray]  # one array per input of an operation, a value combination per entry


def check_combinations(total: int, node: sops.Value | None, what: str = "this operation's inputs") -> None:
    if total > MAX_VALUE_SET:
        raise CompileError(f"{what} have {total:,} combinations of values (limit {MAX_VALUE_SET:,}); "
                           "shrink the vocabulary or the maximum length",
                           node.span if node is not None else None)


def sorted_values(values: set[Any]) -> list[Any]:
    """A value set in a stable order (by type name, then text, when the values do not compare)."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def is_binary_numbers(values: list[Any]) -> bool:
    return bool(values) and all(
        not isinstance(v, bool) and isinstance(v, (int, float)) and v in (0, 1) for v in values)


def all_numbers(values: Any) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def typed(array: np.ndarray) -> np.ndarray:
    """An object array of one type as that type (the interpreter's arrays are typed)."""
    values = array.ravel().tolist()
    kinds = {type(v) for v in values}
    if kinds and kinds <= {str}:
        return np.array(values, dtype=str).reshape(array.shape)
    if kinds and kinds <= {int, float, bool} and not (bool in kinds and kinds != {bool}):
        return np.array(values).reshape(array.shape)
    return array


def unpair(array: np.ndarray) -> Columns:
    """An array of tuples as one array per tuple component."""
    flat = array.ravel().tolist()
    width = len(flat[0]) if flat else 0
    return [typed(object_array([t[i] for t in flat]).reshape(array.shape)) for i in range(width)]


def map_function(node: sops.Map, operands: list[sops.SOp]) -> Callable[[Columns], np.ndarray]:
    """The language's operation for `node`, taking one array per s-op operand (plain values are
    broadcast in their places)."""
    def run(arrays: Columns) -> np.ndarray:
        queue = iter(arrays)
        args = [next(queue) if isinstance(a, sops.SOp) else semantics.as_array(a, arrays[0].shape)
                for a in node.args]
        return semantics.apply_map(node, args)
    return run


def linear_values(op: str, value_sets: list[list[Any]], node: sops.Value) -> list[Any]:
    """The value set of `a + b` or `a - b` for numerical a and b."""
    check_combinations(int(np.prod([len(v) for v in value_sets])), node)
    grids = np.meshgrid(*[np.array(v, dtype=float) for v in value_sets], indexing="ij")
    out = grids[0] + grids[1] if op == "+" else grids[0] - grids[1]
    return sorted_values(set(out.ravel().tolist()))


def tabulate(fn: Callable[[Columns], np.ndarray], combos: list[tuple], arity: int,
             node: sops.Value) -> dict[tuple, Any]:
    """Run the language's operation on every combination; drop those it rejects (a division
    by zero, or a string plus the number 0 of a default that never meets it in practice)."""
    def columns(rows: list[tuple]) -> Columns:
        return [typed(object_array([r[j] for r in rows]).reshape(1, -1)) for j in range(arity)]

    alive = list(range(len(combos)))
    for _ in range(64):
        if not alive:
            return {}
        try:
            out = fn(columns([combos[i] for i in alive]))
        except semantics.ExecError as e:
            if e.position is None:
                break  # a type clash somewhere in the batch: go one combination at a time
            del alive[e.position]
            continue
        return {combos[i]: v for i, v in zip(alive, np.asarray(out).reshape(-1).tolist())}
    table = {}
    for i in alive:
        try:
            table[combos[i]] = np.asarray(fn(columns([combos[i]]))).reshape(-1).tolist()[0]
        except semantics.ExecError:
            pass
    if not table:
        raise CompileError("no combination of this operation's input values can be computed", node.span)
    return table


@dataclass(frozen=True)
class ComparisonTable:
    """One select's comparison for every pair of key and query values."""

    key_values: list[Any]
    query_values: list[Any]
    matrix: np.ndarray  # [query, key] -> bool

    @cached_property
    def _key_position(self) -> dict[Any, int]:
        return {v: i for i, v in enumerate(self.key_values)}

    @cached_property
    def _query_position(self) -> dict[Any, int]:
        return {v: i for i, v in enumerate(self.query_values)}

    def holds(self, key: Any, query: Any) -> bool:
        """The comparison of one key and one query value (KeyError outside the table)."""
        return bool(self.matrix[self._query_position[query], self._key_position[key]])

    def key_positions(self, values: list[Any]) -> np.ndarray:
        """Each value's place among the key values, -1 where it is not one."""
        return _positions(self._key_position, values)

    def query_positions(self, values: list[Any]) -> np.ndarray:
        return _positions(self._query_position, values)


def _positions(position: dict[Any, int], values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = position.get(v, -1)
        except TypeError:  # an unhashable value is in no table
            out[i] = -1
    return out


def comparison_table(leaf: sops.Select, key_values: list[Any], query_values: list[Any]) -> ComparisonTable:
    """`keys[k] op queries[q]` for every pair of key and query values."""
    if len(key_values) * len(query_values) > MAX_VALUE_SET:
        raise CompileError(f"this select compares {len(key_values):,} key values with "
                           f"{len(query_values):,} query values; too many to tabulate", leaf.span)
    keys = typed(object_array(key_values).reshape(1, -1))
    queries = typed(object_array(query_values).reshape(1, -1))
    result = semantics.select(leaf, keys, queries)[0]  # [q, k]
    return ComparisonTable(list(key_values), list(query_values), np.asarray(result, dtype=bool))
