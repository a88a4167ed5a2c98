"""Composite selectors: `and`, `or` and `not` of selects become one tracr `Select`.

tracr's heads take one select of one key s-op and one query s-op. A selector tree over several
s-ops becomes one select whose keys are all the leaves' keys paired into one tuple-valued s-op
(and likewise the queries), with a predicate that looks up each leaf's comparison in a table
and combines them as the tree says. So a composite selector costs one head, however deep it is.

Trees are walked and evaluated without recursion: an unrolled loop may nest thousands deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from tracr.rasp import rasp as tr

from compiler.errors import CompileError
from compiler.estimate import SCORE_BYTES, memory_budget
from compiler.lowered import Helper
from compiler.tables import ComparisonTable, check_combinations, comparison_table
from rasp.language import sops
from rasp.language.sops import Encoding


class Lowering(Protocol):
    """What lowering a selector needs from the lowering of the whole program (`compiler.lower`)."""

    vocab: list[Any]
    max_len: int
    tokens: tr.SOp

    def sop(self, node: sops.SOp, want: Encoding | None) -> tr.SOp: ...

    def values(self, expr: tr.SOp) -> list[Any]: ...

    def pair(self, a: tr.SOp, b: tr.SOp, node: sops.Value | None) -> tr.SOp: ...

    def register(self, expr: tr.SOp, values: list[Any], encoding: Encoding, origin: sops.Value | None,
                 **extra: Any) -> tr.SOp: ...


class Step(StrEnum):
    """What one instruction of an evaluated selector tree does."""

    LEAF = "leaf"  # look up one select's comparison
    NOT = "not"
    AND = "and"
    OR = "or"


@dataclass(frozen=True)
class Instruction:
    """One node of a selector tree: `args` are a leaf's number, or earlier instructions' numbers."""

    step: Step
    args: tuple[int, ...]


_ERROR = object()  # a leaf looked up with a value outside its table (the BOS position's)


def leaves_of(node: sops.Selector) -> list[sops.Select]:
    """The distinct selects of a selector tree, left to right."""
    return [n for n in sops.walk([node], only=sops.Selector) if isinstance(n, sops.Select)]


def compared(leaves: list[sops.Select]) -> tuple[list[sops.SOp], list[sops.SOp]]:
    """The distinct s-ops the leaves compare, keys and queries (constants are compared as values)."""
    keys = _distinct([leaf.keys for leaf in leaves if not isinstance(leaf.keys, sops.Full)])
    queries = _distinct([leaf.queries for leaf in leaves if not isinstance(leaf.queries, sops.Full)])
    return keys, queries


def instructions(node: sops.Selector, leaves: list[sops.Select]) -> list[Instruction]:
    """The tree as a list, each node after its children and once however often it is shared;
    the last instruction is the root."""
    leaf_number = {id(leaf): i for i, leaf in enumerate(leaves)}
    number: dict[int, int] = {}
    out: list[Instruction] = []
    for current in sops.walk([node], only=sops.Selector):
        if isinstance(current, sops.Select):
            out.append(Instruction(Step.LEAF, (leaf_number[id(current)],)))
        elif isinstance(current, sops.SelectNot):
            out.append(Instruction(Step.NOT, (number[id(current.inner)],)))
        else:
            step = Step.AND if isinstance(current, sops.SelectAnd) else Step.OR
            out.append(Instruction(step, (number[id(current.left)], number[id(current.right)])))
        number[id(current)] = len(out) - 1
    return out


def run(program: list[Instruction], leaf_holds: list[Any]) -> bool:
    """Evaluate the tree as Python's `and`, `or` and `not` would, short-circuits included: a
    leaf that could not be looked up makes the whole selector false only where it is reached."""
    results: list[Any] = []
    for instruction in program:
        args = instruction.args
        if instruction.step is Step.LEAF:
            value = leaf_holds[args[0]]
        elif instruction.step is Step.NOT:
            inner = results[args[0]]
            value = inner if inner is _ERROR else not inner
        else:
            left = results[args[0]]
            stop = False if instruction.step is Step.AND else True
            value = left if left is _ERROR or left is stop else results[args[1]]
        results.append(value)
    return results[-1] is True


@dataclass(frozen=True)
class SelectorPredicate:
    """A selector tree over its (paired) key and query values: called on one key and one query
    value, as tracr calls a predicate, or on whole value lists at once (`matrix`, what the
    compiler's heads are built from)."""

    leaves: tuple[sops.Select, ...]
    tables: tuple[ComparisonTable, ...]  # one per leaf
    program: tuple[Instruction, ...]
    key_index: dict[int, int]  # id of a leaf's key s-op -> its place in a paired key value
    query_index: dict[int, int]

    def __call__(self, key: Any, query: Any) -> bool:
        holds: list[Any] = []
        for leaf, table in zip(self.leaves, self.tables):
            try:
                holds.append(table.holds(_component(key, self.key_index, leaf.keys),
                                         _component(query, self.query_index, leaf.queries)))
            except (KeyError, IndexError, TypeError):  # a value outside the tables (BOS)
                holds.append(_ERROR)
        return run(list(self.program), holds)

    def matrix(self, key_values: list[Any], query_values: list[Any]) -> np.ndarray:
        """[query, key] -> whether the selector holds: `__call__` on every pair, as arrays (a
        value outside a leaf's table counts as tracr's `_ERROR` does, short-circuits included)."""
        shape = (len(query_values), len(key_values))
        results: list[np.ndarray] = []  # per instruction: 0 false, 1 true, 2 could not be looked up
        for instruction in self.program:
            a = instruction.args
            if instruction.step is Step.LEAF:
                leaf, table = self.leaves[a[0]], self.tables[a[0]]
                q = table.query_positions([_component_or_none(v, self.query_index, leaf.queries) for v in query_values])
                k = table.key_positions([_component_or_none(v, self.key_index, leaf.keys) for v in key_values])
                value = np.full(shape, 2, np.int8)
                found = np.ix_(q >= 0, k >= 0)
                value[found] = table.matrix[np.ix_(q[q >= 0], k[k >= 0])]
            elif instruction.step is Step.NOT:
                inner = results[a[0]]
                value = np.where(inner == 2, 2, 1 - inner).astype(np.int8)
            else:
                left, right = results[a[0]], results[a[1]]
                stop = 0 if instruction.step is Step.AND else 1
                value = np.where((left == 2) | (left == stop), left, right).astype(np.int8)
            results.append(value)
        return results[-1] == 1


def _component(value: Any, index: dict[int, int], sop: sops.SOp) -> Any:
    if isinstance(sop, sops.Full):
        return sop.value
    return value if len(index) == 1 else value[index[id(sop)]]


def _component_or_none(value: Any, index: dict[int, int], sop: sops.SOp) -> Any:
    try:
        return _component(value, index, sop)
    except (KeyError, IndexError, TypeError):
        return _MISSING


_MISSING = object()  # a component that cannot be taken from a value (matches no table entry)


class SelectorLowering:
    """Lowers selector trees for one `Lowering`, sharing the pairings of keys and queries."""

    def __init__(self, lowering: Lowering):
        self.lowering = lowering
        self.tuples: dict[tuple[int, ...], tr.SOp] = {}

    def lower(self, node: sops.Selector) -> tr.Select:
        """One tracr Select for a selector tree: leaves' keys and queries are paired as needed."""
        leaves = leaves_of(node)
        keys, queries = compared(leaves)
        self._refuse_large(node, [*keys, *queries])
        key_expr, key_index = self._tuple(keys, node)
        query_expr, query_index = self._tuple(queries, node)
        tables = [comparison_table(leaf, self._values_of(leaf.keys), self._values_of(leaf.queries))
                  for leaf in leaves]
        predicate = SelectorPredicate(tuple(leaves), tuple(tables), tuple(instructions(node, leaves)),
                                      key_index, query_index)
        return tr.Select(key_expr, query_expr, predicate).named("select")

    def _refuse_large(self, node: sops.Selector, parts: list[sops.SOp]) -> None:
        """Refuse at once a selector whose attention scores would not fit in memory."""
        pairs = 1
        for part in parts:
            pairs *= len(self.lowering.values(self.lowering.sop(part, Encoding.CATEGORICAL)))
        need, budget = SCORE_BYTES * pairs, memory_budget()
        if need > budget:
            raise CompileError(f"this selector compares {pairs:,} pairs of key and query values (about "
                               f"{need / 2**30:.1f} GiB to build its scores; about {budget / 2**30:.1f} GiB can "
                               f"be spent here); shrink the vocabulary (now {len(self.lowering.vocab)}) or the "
                               f"maximum length (now {self.lowering.max_len})", node.span)

    def _values_of(self, sop: sops.SOp) -> list[Any]:
        if isinstance(sop, sops.Full):
            return [sop.value]
        return self.lowering.values(self.lowering.sop(sop, Encoding.CATEGORICAL))

    def _tuple(self, parts: list[sops.SOp], node: sops.Value) -> tuple[tr.SOp, dict[int, int]]:
        """`parts` as one s-op (tuples of their values when several), and each part's place in it."""
        if not parts:
            return self.lowering.tokens, {}
        index = {id(p): i for i, p in enumerate(parts)}
        key = tuple(id(p) for p in parts)
        if key in self.tuples:  # keys and queries over the same s-ops share one pairing
            return self.tuples[key], index
        exprs = [self.lowering.sop(p, Encoding.CATEGORICAL) for p in parts]
        combined = exprs[0]
        for e in exprs[1:]:
            combined = (self.lowering.pair(combined, e, node) if combined is exprs[0]
                        else self._extend(combined, e, node))
        self.tuples[key] = combined
        return combined, index

    def _extend(self, pair: tr.SOp, extra: tr.SOp, node: sops.Value) -> tr.SOp:
        """A tuple-valued s-op with one more component."""
        values_of = self.lowering.values
        check_combinations(len(values_of(pair)) * len(values_of(extra)), node, "this selector's keys or queries")
        values = [(*t, v) for t in values_of(pair) for v in values_of(extra)]
        expr = tr.SequenceMap(lambda t, v: (*t, v), pair, extra).named("tuple")
        return self.lowering.register(expr, values, Encoding.CATEGORICAL, None, helper=Helper.PAIRING,
                                      span=node.span, table={(t, v): (*t, v) for t in values_of(pair)
                                                             for v in values_of(extra)})


def _distinct(items: list[sops.SOp]) -> list[sops.SOp]:
    out: list[sops.SOp] = []
    for item in items:
        if all(item is not o for o in out):
            out.append(item)
    return out
