"""Pass 1: our s-op graph to tracr RASP, with every value set computed and every encoding chosen.

Each element-wise operation becomes a tracr `Map` or `SequenceMap` whose function is a table
computed with the language's own semantics (`compiler.tables`) over the operands' value sets,
so the compiled model and the interpreter share one definition of every operator. Constants are
folded into the tables, and a chain of maps over at most two s-ops becomes one table
(`compiler.fusion`). Composite selectors (`and`, `or`, `not` of selects over different
s-ops) become one `Select` (`compiler.selectors`).

Encodings (LANGUAGE.md section 7): `numerical(x)` / `categorical(x)` decide; otherwise an
aggregate whose values are the numbers 0 and 1 is numerical (a mean), arithmetic `+ -` on
numerical s-ops stays numerical, and everything else is categorical. Conversions between the
two are inserted where an operation needs the other one.

The graph is lowered depth-first from the output, in one loop with a stack of its own, so a
program thousands of operations deep (an unrolled loop) needs no recursion; the order is that of
a plain recursive descent, which decides which of several errors is reported.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np
from tracr.rasp import rasp as tr

from compiler import fusion, tables
from compiler.errors import CompileError
from compiler.lowered import Helper, Info, Lowered
from compiler.selectors import SelectorLowering, compared, leaves_of
from compiler.tables import Columns, all_numbers, check_combinations, sorted_values
from rasp.language import semantics, sops
from rasp.language.sops import Encoding

CATEGORICAL, NUMERICAL = Encoding.CATEGORICAL, Encoding.NUMERICAL
FUSED_TABLE = 4_096  # a chain of maps becomes one table of up to this many entries (or no larger than unfused)


def lower(output: sops.SOp, vocab: list[Any], max_len: int) -> Lowered:
    """The tracr program for `output`, and what we know of each of its s-ops.
    (Causal or not makes no difference here: the mask is the model's, added when assembling.)"""
    lowering = Lowering(vocab, max_len)
    stack: list[tuple[sops.SOp, bool]] = [(output, False)]
    while stack:
        node, inputs_done = stack.pop()
        if (id(node), None) in lowering.memo:
            continue
        if inputs_done:
            lowering.sop(node, None)
            continue
        refuse_on_sight(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(inputs_to_lower(node)))
    return Lowered(lowering.sop(output, None), lowering.info)


def inputs_to_lower(node: sops.SOp) -> list[sops.SOp]:
    """The s-ops `node`'s lowering reads, in the order it reads them: an aggregate's values, then
    the s-ops its selector compares (a select compares with a constant's value directly)."""
    if isinstance(node, sops.Map):
        return [a for a in node.args if isinstance(a, sops.SOp)]
    if isinstance(node, sops.Aggregate):
        keys, queries = compared(leaves_of(node.selector))
        return [node.values, *keys, *queries]
    if isinstance(node, sops.SelectorWidth):
        keys, queries = compared(leaves_of(node.selector))
        return [*keys, *queries]
    return []


def refuse_on_sight(node: sops.SOp) -> None:
    """What cannot be compiled whatever its inputs: said before lowering them."""
    if isinstance(node, sops.Aggregate) and node.reduce != sops.Reduce.MEAN and node.encoding is NUMERICAL:
        raise CompileError(f"aggregate_{node.reduce} compiles as categorical (its result is one of the "
                           "values); drop numerical(...)", node.span)


def table_expr(inputs: list[tr.SOp], table: dict[tuple, Any], fallback: Any) -> tr.SOp:
    """tracr's Map (one input) or SequenceMap (two) looking its result up in `table`."""
    if len(inputs) == 1:
        return tr.Map(lambda x, t=table, f=fallback: t.get((x,), f), inputs[0], simplify=False)
    return tr.SequenceMap(lambda x, y, t=table, f=fallback: t.get((x, y), f), inputs[0], inputs[1])


class Lowering:
    """The state of one lowering: every tracr s-op made so far, and what is known of each."""

    def __init__(self, vocab: list[Any], max_len: int):
        self.vocab, self.max_len = vocab, max_len
        self.info: dict[str, Info] = {}
        self.memo: dict[tuple[int, Encoding | None], tr.SOp] = {}  # (our node, encoding) -> tracr
        self.fused: dict[int, fusion.Fused] = {}  # maps lowered as one table over their chain's leaves
        self.selectors = SelectorLowering(self)
        self.tokens = self.register(tr.tokens, list(vocab), CATEGORICAL, None, helper=Helper.INPUT)
        self.indices = self.register(tr.indices, list(range(max_len)), CATEGORICAL, None, helper=Helper.INPUT)

    # ---- bookkeeping

    def _name(self, node: sops.Value | None, hint: str) -> str:
        return node.label if node is not None and node.label else hint  # tracr appends a unique id

    def register(self, expr: tr.SOp, values: list[Any], encoding: Encoding, origin: sops.Value | None,
                 **extra: Any) -> tr.SOp:
        """Record what we know of a new tracr s-op (after giving it its tracr encoding)."""
        if expr.label not in ("tokens", "indices"):
            expr = tr.numerical(expr) if encoding is NUMERICAL else tr.categorical(expr)
        self.info[expr.label] = Info(expr.label, values, encoding, origin, **extra)
        return expr

    def values(self, expr: tr.SOp) -> list[Any]:
        return self.info[expr.label].values

    def encoding(self, expr: tr.SOp) -> Encoding:
        return self.info[expr.label].encoding

    def sop(self, node: sops.SOp, want: Encoding | None) -> tr.SOp:
        """`node` as a tracr s-op, in encoding `want` (None: its natural encoding). `lower` lowers
        inputs first, so here only conversions are made on demand."""
        key = (id(node), want)
        if key not in self.memo:
            natural_key = (id(node), None)
            if natural_key not in self.memo:
                self.memo[natural_key] = self._lower(node)
            expr = self.memo[natural_key]
            if want is not None and self.encoding(expr) is not want:
                expr = self._retabled(node, expr, want) or self._convert(expr, want, node)
            self.memo[key] = expr
        return self.memo[key]

    def _retabled(self, node: sops.SOp, expr: tr.SOp, want: Encoding) -> tr.SOp | None:
        """A map's table in the other encoding, when its inputs are categorical and (for
        numerical) its values numbers: the same MLP lookup writing the encoding the reader
        needs, instead of a second MLP that converts (`numerical(aggregate(s, indicator(...)))`
        needs no `numerical` around the indicator)."""
        entry = self.info[expr.label]
        if not isinstance(node, sops.Map) or entry.origin is not node or not entry.table:
            return None
        if not isinstance(expr, (tr.Map, tr.SequenceMap)) or isinstance(expr, tr.LinearSequenceMap):
            return None
        if want is NUMERICAL and not isinstance(expr, tr.Map):  # a numerical table has one input
            return None
        inputs = [expr.inner] if isinstance(expr, tr.Map) else [expr.fst, expr.snd]
        if any(self.encoding(e) is NUMERICAL for e in inputs):
            return None
        if want is NUMERICAL and not all_numbers(entry.values):
            return None
        label = f"{self._name(node, getattr(node, 'op', 'map') or 'map')}_{want.value[:3]}"
        again = table_expr(inputs, entry.table, entry.values[0] if entry.values else 0)
        return self.register(again.named(label), list(entry.values), want, node, table=entry.table)

    def _convert(self, expr: tr.SOp, want: Encoding, node: sops.SOp) -> tr.SOp:
        values = self.values(expr)
        if want is NUMERICAL and not all_numbers(values):
            raise CompileError(f"this s-op must be numerical here, but its values include "
                               f"{sorted_values({v for v in values if not isinstance(v, (int, float))})[:3]}",
                               node.span)
        label = f"{expr.label}_as_{want.value[:3]}"
        converted = tr.Map(lambda v: v, expr, simplify=False).named(label)
        return self.register(converted, values, want, None, table={v: v for v in values},
                             helper=Helper.CONVERSION)

    def pair(self, a: tr.SOp, b: tr.SOp, node: sops.Value | None) -> tr.SOp:
        """One s-op whose values are the pairs of `a`'s and `b`'s."""
        check_combinations(len(self.values(a)) * len(self.values(b)), node, "the paired s-ops")
        values = list(itertools.product(self.values(a), self.values(b)))
        expr = tr.SequenceMap(lambda x, y: (x, y), a, b).named("pair")
        return self.register(expr, values, CATEGORICAL, None, table={(x, y): (x, y) for x, y in values},
                             helper=Helper.PAIRING, span=node.span if node is not None else None)

    # ---- node kinds

    def _lower(self, node: sops.SOp) -> tr.SOp:
        if isinstance(node, sops.Tokens):
            if node.view == sops.TokenView.TOKENS:
                return self.tokens
            return self._map_table(node, [self.tokens], lambda arrays: semantics.token_view(node, arrays[0]))
        if isinstance(node, sops.Indices):
            return self.indices
        if isinstance(node, sops.Length):
            everything = tr.Select(self.tokens, self.tokens, tr.Comparison.TRUE).named("all")
            width = tr.SelectorWidth(everything).named(self._name(node, "length"))
            return self.register(width, list(range(0, self.max_len + 1)), CATEGORICAL, node)
        if isinstance(node, sops.Full):
            return self._map_table(node, [self.indices], lambda arrays: np.full(arrays[0].shape, node.value))
        if isinstance(node, sops.Map):
            return self._map(node)
        if isinstance(node, sops.SelectorWidth):
            select = self.selectors.lower(node.selector)
            width = tr.SelectorWidth(select).named(self._name(node, "selector_width"))
            return self.register(width, list(range(0, self.max_len + 1)), CATEGORICAL, node)
        if isinstance(node, sops.Aggregate):
            return self._aggregate(node)
        raise CompileError(f"cannot compile {type(node).__name__}", node.span)  # pragma: no cover

    def _map(self, node: sops.Map) -> tr.SOp:
        operands = [a for a in node.args if isinstance(a, sops.SOp)]
        natural = [self.sop(a, None) for a in operands]
        fused = self._fused(node, natural)
        if fused is not None:
            return fused
        encoding = node.encoding or CATEGORICAL
        # numerical arithmetic stays numerical where tracr has a layer for it
        if all(self.encoding(e) is NUMERICAL for e in natural) and node.encoding != CATEGORICAL:
            if len(natural) == 2 and node.op in ("+", "-"):
                factor = 1 if node.op == "+" else -1
                combined = tr.LinearSequenceMap(natural[0], natural[1], 1, factor).named(self._name(node, node.op))
                values = tables.linear_values(node.op, [self.values(e) for e in natural], node)
                return self.register(combined, values, NUMERICAL, node)
            if len(natural) == 1:
                return self._map_table(node, natural, tables.map_function(node, operands), encoding)
        inputs = [self.sop(a, CATEGORICAL) for a in operands]
        return self._map_table(node, inputs, tables.map_function(node, operands), encoding)

    def _fused(self, node: sops.Map, natural: list[tr.SOp]) -> tr.SOp | None:
        """The chain of maps ending at `node` as one table over the chain's leaves
        (`compiler.fusion`), when everything in it is categorical and the table is no larger than
        FUSED_TABLE or the one over `node`'s own operands; else None."""
        found = fusion.chain(node, self.fused)
        if found is None or any(self.encoding(e) is NUMERICAL for e in natural):
            return None
        maps, leaves = found
        leaf_exprs = [self.sop(leaf, None) for leaf in leaves]
        if any(self.encoding(e) is NUMERICAL for e in leaf_exprs):
            return None
        size = int(np.prod([len(self.values(e)) for e in leaf_exprs]))
        if size > max(FUSED_TABLE, int(np.prod([len(self.values(e)) for e in natural]))):
            return None
        expr = self._map_table(node, leaf_exprs, fusion.chain_function(maps, leaves, self.fused),
                               node.encoding or CATEGORICAL)
        table = self.info[expr.label].table if expr.label in self.info else None
        if table and all(isinstance(k, tuple) and len(k) == len(leaves) for k in table):
            self.fused[id(node)] = fusion.Fused(list(leaves), table)
        return expr

    def _map_table(self, node: sops.SOp, inputs: list[tr.SOp], fn: Callable[[Columns], np.ndarray],
                   encoding: Encoding | None = None) -> tr.SOp:
        """A Map (one input) or a chain of SequenceMaps (several) computing `fn` by table."""
        encoding = encoding or node.encoding or CATEGORICAL
        if len(inputs) > 2:  # pair the first two, then treat the pair as one input
            pair = self.pair(inputs[0], inputs[1], node)
            rest = inputs[2:]
            return self._map_table(node, [pair, *rest],
                                   lambda arrays: fn([*tables.unpair(arrays[0]), *arrays[1:]]), encoding)
        if len(inputs) == 2 and encoding is NUMERICAL:  # tracr's two-input table writes categories
            return self._convert(self._map_table(node, inputs, fn, CATEGORICAL), NUMERICAL, node)
        value_sets = [self.values(e) for e in inputs]
        check_combinations(int(np.prod([len(v) for v in value_sets])), node)
        combos = list(itertools.product(*value_sets))
        table = tables.tabulate(fn, combos, len(inputs), node)
        outputs = set(table.values())
        if encoding is NUMERICAL and not all_numbers(outputs):
            raise CompileError("numerical(...) of an s-op whose values are not all numbers", node.span)
        label = self._name(node, getattr(node, "op", "map") or "map")
        expr = table_expr(inputs, table, next(iter(outputs)) if outputs else 0)
        return self.register(expr.named(label), sorted_values(outputs), encoding, node, table=table)

    def _aggregate(self, node: sops.Aggregate) -> tr.SOp:
        values = self.sop(node.values, None)
        value_set = self.values(values)
        if node.reduce != sops.Reduce.MEAN:
            return self._extreme(node, values, value_set)
        encoding = node.encoding or (NUMERICAL if tables.is_binary_numbers(value_set) else CATEGORICAL)
        select = self.selectors.lower(node.selector)
        label = self._name(node, "aggregate")
        if encoding is NUMERICAL:
            if not tables.is_binary_numbers(value_set):
                raise CompileError("a numerical aggregate (a mean) can only average the numbers 0 and 1 "
                                   f"in a compiled model; these values are {value_set[:5]}", node.span)
            if node.default != 0:
                raise CompileError(f"a numerical aggregate's default must be 0, not {node.default!r}",
                                   node.span)
            values = self.sop(node.values, NUMERICAL)
            expr = tr.numerical(tr.Aggregate(select, values, default=0)).named(label)
            means = {k / n for n in range(1, self.max_len + 1) for k in range(n + 1)}
            return self.register(expr, sorted_values(means), NUMERICAL, node)
        values = self.sop(node.values, CATEGORICAL)
        expr = tr.categorical(tr.Aggregate(select, values, default=None)).named(label)
        output = sorted_values(set(self.values(values)) | {node.default})
        return self.register(expr, output, CATEGORICAL, node, default=node.default)

    def _extreme(self, node: sops.Aggregate, values: tr.SOp, value_set: list[Any]) -> tr.SOp:
        """aggregate_max / aggregate_min: a categorical head that ranks the selected keys by their
        value (`compiler.blocks.attention_head`)."""
        kinds = {"number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
                 for v in value_set}
        if len(kinds) > 1:
            raise CompileError(f"aggregate_{node.reduce} needs values of one type to order; these are "
                               f"{sorted(kinds)}", node.span)
        values = self.sop(node.values, CATEGORICAL)
        select = self.selectors.lower(node.selector)
        label = self._name(node, "aggregate")
        expr = tr.categorical(tr.Aggregate(select, values, default=None)).named(label)
        output = sorted_values(set(self.values(values)) | {node.default})
        return self.register(expr, output, CATEGORICAL, node, default=node.default, reduce=node.reduce)
