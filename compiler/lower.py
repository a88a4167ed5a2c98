"""Pass 1: our s-op graph to tracr RASP, with every value set computed and every encoding chosen.

Each element-wise operation becomes a tracr `Map` or `SequenceMap` whose function is a table
computed with the interpreter's own operations (`rasp.language.execute`) over the operands' value sets,
so the compiled model and the interpreter share one definition of every operator. Constants are
folded into the tables. Composite selectors (`and`, `or`, `not` of selects over different
s-ops) become one `Select` over paired keys and paired queries with the combined predicate.

Encodings (LANGUAGE.md section 7): `numerical(x)` / `categorical(x)` decide; otherwise an
aggregate whose values are the numbers 0 and 1 is numerical (a mean), arithmetic `+ -` on
numerical s-ops stays numerical, and everything else is categorical. Conversions between the
two are inserted where an operation needs the other one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tracr.rasp import rasp as tr

from rasp.language import execute, sops
from grammar.errors import RaspError, Span

MAX_VALUE_SET = 2_000_000  # combinations enumerated for one operation's value set
MAX_TABLE_WORK = 4_000_000  # attention scores and MLP table entries tracr fills, in all


class CompileError(RaspError):
    """A program, or a part of one, that cannot be compiled."""


@dataclass
class Info:
    """What the later passes need to know about one tracr s-op, keyed by its label."""

    label: str
    values: list[Any]
    encoding: str  # "categorical" or "numerical"
    origin: sops.Value | None = None  # our node it computes; None for helpers
    table: dict[Any, Any] = field(default_factory=dict)  # Map/SequenceMap results
    default: Any = None  # categorical aggregate: the value when nothing is selected
    role: str = ""
    span: Span | None = None  # where a helper (a pairing of keys, say) comes from


def _check_combinations(total: int, node: sops.Value | None, what: str = "this operation's inputs") -> None:
    if total > MAX_VALUE_SET:
        raise CompileError(f"{what} have {total:,} combinations of values (limit {MAX_VALUE_SET:,}); "
                           "shrink the vocabulary or the maximum length",
                           node.span if node is not None else None)


def _sorted(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _where(node: sops.Value | None) -> str:
    if node is None or node.span is None:
        return ""
    return f" (line {node.span.line})"


def _is_binary_numbers(values: list[Any]) -> bool:
    return bool(values) and all(
        not isinstance(v, bool) and isinstance(v, (int, float)) and v in (0, 1) for v in values)


class Lowering:
    def __init__(self, vocab: list[Any], max_len: int):
        self.vocab, self.max_len = vocab, max_len
        self.info: dict[str, Info] = {}
        self.memo: dict[tuple[int, str], tr.SOp] = {}
        self.tuples: dict[tuple[int, ...], tr.SOp] = {}
        self.tokens = self._register(tr.tokens, list(vocab), "categorical", None, role="tokens")
        self.indices = self._register(tr.indices, list(range(max_len)), "categorical", None, role="indices")

    # ---- bookkeeping

    def _name(self, node: sops.Value | None, hint: str) -> str:
        return node.label if node is not None and node.label else hint  # tracr appends a unique id

    def _register(self, expr: tr.SOp, values: list[Any], encoding: str, origin: sops.Value | None,
                  **extra: Any) -> tr.SOp:
        if expr.label not in ("tokens", "indices"):
            expr = tr.numerical(expr) if encoding == "numerical" else tr.categorical(expr)
        self.info[expr.label] = Info(expr.label, values, encoding, origin, **extra)
        return expr

    def values(self, expr: tr.SOp) -> list[Any]:
        return self.info[expr.label].values

    def encoding(self, expr: tr.SOp) -> str:
        return self.info[expr.label].encoding

    # ---- the output

    def output(self, node: sops.SOp) -> tr.SOp:
        return self.sop(node, None)

    def sop(self, node: sops.SOp, want: str | None) -> tr.SOp:
        """`node` as a tracr s-op, in encoding `want` (None: its natural encoding)."""
        key = (id(node), want or "natural")
        if key not in self.memo:
            natural_key = (id(node), "natural")
            if natural_key not in self.memo:
                self.memo[natural_key] = self._lower(node)
            expr = self.memo[natural_key]
            if want is not None and self.encoding(expr) != want:
                expr = self._convert(expr, want, node)
            self.memo[key] = expr
        return self.memo[key]

    def _convert(self, expr: tr.SOp, want: str, node: sops.SOp) -> tr.SOp:
        values = self.values(expr)
        if want == "numerical" and not all(isinstance(v, (int, float)) for v in values):
            raise CompileError(f"this s-op must be numerical here, but its values include "
                               f"{_sorted({v for v in values if not isinstance(v, (int, float))})[:3]}",
                               node.span)
        label = f"{expr.label}_as_{want[:3]}"
        converted = tr.Map(lambda v: v, expr, simplify=False).named(label)
        return self._register(converted, values, want, None, table={v: v for v in values},
                              role=f"{want} copy of {expr.label}")

    # ---- node kinds

    def _lower(self, node: sops.SOp) -> tr.SOp:
        if isinstance(node, sops.Tokens):
            if node.view == "tokens":
                return self.tokens
            return self._map_table(node, [self.tokens], lambda arrays: execute._tokens(node, arrays[0]))
        if isinstance(node, sops.Indices):
            return self.indices
        if isinstance(node, sops.Length):
            everything = tr.Select(self.tokens, self.tokens, tr.Comparison.TRUE).named("all")
            width = tr.SelectorWidth(everything).named(self._name(node, "length"))
            return self._register(width, list(range(0, self.max_len + 1)), "categorical", node)
        if isinstance(node, sops.Full):
            return self._map_table(node, [self.indices], lambda arrays: np.full(arrays[0].shape, node.value))
        if isinstance(node, sops.Map):
            return self._map(node)
        if isinstance(node, sops.SelectorWidth):
            select = self.selector(node.selector)
            width = tr.SelectorWidth(select).named(self._name(node, "selector_width"))
            return self._register(width, list(range(0, self.max_len + 1)), "categorical", node)
        if isinstance(node, sops.Aggregate):
            return self._aggregate(node)
        raise CompileError(f"cannot compile {type(node).__name__}", node.span)  # pragma: no cover

    def _map(self, node: sops.Map) -> tr.SOp:
        operands = [a for a in node.args if isinstance(a, sops.SOp)]
        natural = [self.sop(a, None) for a in operands]
        # numerical arithmetic stays numerical where tracr has a layer for it
        if all(self.encoding(e) == "numerical" for e in natural) and node.encoding != "categorical":
            if len(natural) == 2 and node.op in ("+", "-"):
                factor = 1 if node.op == "+" else -1
                combined = tr.LinearSequenceMap(natural[0], natural[1], 1, factor).named(self._name(node, node.op))
                values = self._combine(node, [self.values(e) for e in natural])
                return self._register(combined, values, "numerical", node)
            if len(natural) == 1:
                return self._map_table(node, natural, self._elementwise(node, operands),
                                       encoding=node.encoding or "categorical")
        inputs = [self.sop(a, "categorical") for a in operands]
        return self._map_table(node, inputs, self._elementwise(node, operands),
                               encoding=node.encoding or "categorical")

    def _elementwise(self, node: sops.Map, operands: list[sops.SOp]) -> Callable[[list[np.ndarray]], np.ndarray]:
        """The interpreter's operation, with the s-op operands replaced by arrays."""
        def run(arrays: list[np.ndarray]) -> np.ndarray:
            queue = iter(arrays)
            args = [next(queue) if isinstance(a, sops.SOp) else execute._as_array(a, arrays[0].shape)
                    for a in node.args]
            return execute._map(node, args)
        return run

    def _combine(self, node: sops.SOp, value_sets: list[list[Any]]) -> list[Any]:
        _check_combinations(int(np.prod([len(v) for v in value_sets])), node)
        op = node.op if isinstance(node, sops.Map) else "+"
        grids = np.meshgrid(*[np.array(v, dtype=float) for v in value_sets], indexing="ij")
        out = grids[0] + grids[1] if op == "+" else grids[0] - grids[1]
        return _sorted(set(out.ravel().tolist()))

    def _map_table(self, node: sops.SOp, inputs: list[tr.SOp], fn: Callable[[list[np.ndarray]], np.ndarray],
                   encoding: str | None = None) -> tr.SOp:
        """A Map (one input) or a chain of SequenceMaps (several) computing `fn` by table."""
        encoding = encoding or node.encoding or "categorical"
        if len(inputs) > 2:  # pair the first two, then treat the pair as one input
            pair = self._pair(inputs[0], inputs[1], node)
            rest = inputs[2:]
            return self._map_table(node, [pair, *rest],
                                   lambda arrays: fn([*_unpair(arrays[0]), *arrays[1:]]), encoding)
        value_sets = [self.values(e) for e in inputs]
        _check_combinations(int(np.prod([len(v) for v in value_sets])), node)
        combos = list(itertools.product(*value_sets))
        table = _evaluate(fn, combos, len(inputs), node)
        outputs = set(table.values())
        if encoding == "numerical" and not all(isinstance(v, (int, float)) for v in outputs):
            raise CompileError("numerical(...) of an s-op whose values are not all numbers", node.span)
        label = self._name(node, getattr(node, "op", "map") or "map")
        fallback = next(iter(outputs)) if outputs else 0
        if len(inputs) == 1:
            expr = tr.Map(lambda x, t=table, f=fallback: t.get((x,), f), inputs[0], simplify=False)
        else:
            expr = tr.SequenceMap(lambda x, y, t=table, f=fallback: t.get((x, y), f), inputs[0], inputs[1])
        return self._register(expr.named(label), _sorted(outputs), encoding, node, table=table)

    def _pair(self, a: tr.SOp, b: tr.SOp, node: sops.Value | None) -> tr.SOp:
        _check_combinations(len(self.values(a)) * len(self.values(b)), node, "the paired s-ops")
        values = list(itertools.product(self.values(a), self.values(b)))
        expr = tr.SequenceMap(lambda x, y: (x, y), a, b).named("pair")
        return self._register(expr, values, "categorical", None, table={(x, y): (x, y) for x, y in values},
                              role=f"({a.label}, {b.label})", span=node.span if node is not None else None)

    def _aggregate(self, node: sops.Aggregate) -> tr.SOp:
        if node.reduce != "mean":
            raise CompileError(f"aggregate_{node.reduce} cannot be compiled: a transformer's attention "
                               "averages, it has no max or min; it runs in the interpreter only", node.span)
        values = self.sop(node.values, None)
        value_set = self.values(values)
        encoding = node.encoding or ("numerical" if _is_binary_numbers(value_set) else "categorical")
        select = self.selector(node.selector)
        label = self._name(node, "aggregate")
        if encoding == "numerical":
            if not _is_binary_numbers(value_set):
                raise CompileError("a numerical aggregate (a mean) can only average the numbers 0 and 1 "
                                   f"in a compiled model; these values are {value_set[:5]}", node.span)
            if node.default != 0:
                raise CompileError(f"a numerical aggregate's default must be 0, not {node.default!r}",
                                   node.span)
            values = self.sop(node.values, "numerical")
            expr = tr.numerical(tr.Aggregate(select, values, default=0)).named(label)
            means = {k / n for n in range(1, self.max_len + 1) for k in range(n + 1)}
            return self._register(expr, _sorted(means), "numerical", node)
        values = self.sop(node.values, "categorical")
        expr = tr.categorical(tr.Aggregate(select, values, default=None)).named(label)
        output = _sorted(set(self.values(values)) | {node.default})
        return self._register(expr, output, "categorical", node, default=node.default)

    # ---- selectors

    def selector(self, node: sops.Selector) -> tr.Select:
        """One tracr Select for a selector tree: leaves' keys and queries are paired as needed."""
        leaves: list[sops.Select] = []
        collect_leaves(node, leaves)
        keys = _distinct([leaf.keys for leaf in leaves if not isinstance(leaf.keys, sops.Full)])
        queries = _distinct([leaf.queries for leaf in leaves if not isinstance(leaf.queries, sops.Full)])
        scores = 1
        for part in (*keys, *queries):  # refuse at once what the attention scores make too large
            scores *= len(self.values(self.sop(part, "categorical")))
        if scores > MAX_TABLE_WORK:
            raise CompileError(f"this selector compares {scores:,} pairs of key and query values (the "
                               f"limit is {MAX_TABLE_WORK:,}); shrink the vocabulary (now {len(self.vocab)}) "
                               f"or the maximum length (now {self.max_len})", node.span)
        key_expr, key_index = self._tuple(keys, node)
        query_expr, query_index = self._tuple(queries, node)
        tables = [self._leaf_table(leaf) for leaf in leaves]

        def component(value: Any, index: dict[int, int], sop: sops.SOp) -> Any:
            if isinstance(sop, sops.Full):
                return sop.value
            position = index[id(sop)]
            return value if len(index) == 1 else value[position]

        def predicate(key: Any, query: Any) -> bool:
            def leaf_holds(i: int) -> bool:
                leaf = leaves[i]
                return tables[i][(component(key, key_index, leaf.keys),
                                  component(query, query_index, leaf.queries))]
            try:
                return evaluate_selector(node, leaves, leaf_holds)
            except (KeyError, IndexError, TypeError):  # a value outside the tables (BOS)
                return False

        return tr.Select(key_expr, query_expr, predicate).named("select")

    def _tuple(self, parts: list[sops.SOp], node: sops.Value) -> tuple[tr.SOp, dict[int, int]]:
        if not parts:
            return self.tokens, {}
        key = tuple(id(p) for p in parts)
        if key in self.tuples:  # keys and queries over the same s-ops share one pairing
            return self.tuples[key], {id(p): i for i, p in enumerate(parts)}
        exprs = [self.sop(p, "categorical") for p in parts]
        combined = exprs[0]
        for e in exprs[1:]:
            combined = self._pair(combined, e, node) if combined is exprs[0] else self._extend(combined, e, node)
        self.tuples[key] = combined
        return combined, {id(p): i for i, p in enumerate(parts)}

    def _extend(self, pair: tr.SOp, extra: tr.SOp, node: sops.Value) -> tr.SOp:
        _check_combinations(len(self.values(pair)) * len(self.values(extra)), node,
                            "this selector's keys or queries")
        values = [(*t, v) for t in self.values(pair) for v in self.values(extra)]
        expr = tr.SequenceMap(lambda t, v: (*t, v), pair, extra).named("tuple")
        return self._register(expr, values, "categorical", None, span=node.span,
                              table={(t, v): (*t, v) for t in self.values(pair) for v in self.values(extra)})

    def _leaf_table(self, leaf: sops.Select) -> dict[tuple[Any, Any], bool]:
        """`keys[k] op queries[q]` for every pair of values, computed by the interpreter."""
        def values_of(sop: sops.SOp) -> list[Any]:
            if isinstance(sop, sops.Full):
                return [sop.value]
            return self.values(self.sop(sop, "categorical"))

        key_values, query_values = values_of(leaf.keys), values_of(leaf.queries)
        if len(key_values) * len(query_values) > MAX_VALUE_SET:
            raise CompileError(f"this select compares {len(key_values):,} key values with "
                               f"{len(query_values):,} query values; too many to tabulate", leaf.span)
        k = _typed(_object_array(key_values).reshape(1, -1))
        q = _typed(_object_array(query_values).reshape(1, -1))
        result = execute._compare(leaf, leaf.op, k[:, None, :], q[:, :, None])[0]  # [q, k]
        return {(kv, qv): bool(result[j, i]) for i, kv in enumerate(key_values)
                for j, qv in enumerate(query_values)}


def collect_leaves(node: sops.Selector, leaves: list[sops.Select]) -> None:
    if isinstance(node, sops.Select):
        if all(leaf is not node for leaf in leaves):
            leaves.append(node)
    else:
        for child in node.inputs():
            collect_leaves(child, leaves)


def evaluate_selector(node: sops.Selector, leaves: list[sops.Select], leaf_holds: Callable[[int], bool]) -> bool:
    if isinstance(node, sops.Select):
        return leaf_holds(next(i for i, leaf in enumerate(leaves) if leaf is node))
    if isinstance(node, sops.SelectNot):
        return not evaluate_selector(node.inner, leaves, leaf_holds)
    left = evaluate_selector(node.left, leaves, leaf_holds)
    if isinstance(node, sops.SelectAnd):
        return left and evaluate_selector(node.right, leaves, leaf_holds)
    return left or evaluate_selector(node.right, leaves, leaf_holds)


def _distinct(items: list[sops.SOp]) -> list[sops.SOp]:
    out: list[sops.SOp] = []
    for item in items:
        if all(item is not o for o in out):
            out.append(item)
    return out


def _object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _typed(array: np.ndarray) -> np.ndarray:
    """An object array of one type as that type (the interpreter's arrays are typed)."""
    values = array.ravel().tolist()
    kinds = {type(v) for v in values}
    if kinds and kinds <= {str}:
        return np.array(values, dtype=str).reshape(array.shape)
    if kinds and kinds <= {int, float, bool} and not (bool in kinds and kinds != {bool}):
        return np.array(values).reshape(array.shape)
    return array


def _unpair(array: np.ndarray) -> list[np.ndarray]:
    flat = array.ravel().tolist()
    width = len(flat[0]) if flat else 0
    return [_typed(_object_array([t[i] for t in flat]).reshape(array.shape)) for i in range(width)]


def _evaluate(fn: Callable[[list[np.ndarray]], np.ndarray], combos: list[tuple], arity: int,
              node: sops.SOp) -> dict[tuple, Any]:
    """Run the interpreter's operation on every combination; drop those it rejects (a division
    by zero, or a string plus the number 0 of a default that never meets it in practice)."""
    def columns(rows: list[tuple]) -> list[np.ndarray]:
        return [_typed(_object_array([r[j] for r in rows]).reshape(1, -1)) for j in range(arity)]

    alive = list(range(len(combos)))
    for _ in range(64):
        if not alive:
            return {}
        try:
            out = fn(columns([combos[i] for i in alive]))
        except execute.ExecError as e:
            if e.position is None:
                break  # a type clash somewhere in the batch: go one combination at a time
            del alive[e.position]
            continue
        return {combos[i]: v for i, v in zip(alive, np.asarray(out).reshape(-1).tolist())}
    table = {}
    for i in alive:
        try:
            table[combos[i]] = np.asarray(fn(columns([combos[i]]))).reshape(-1).tolist()[0]
        except execute.ExecError:
            pass
    if not table:
        raise CompileError("no combination of this operation's input values can be computed", node.span)
    return table


def lower(output: sops.SOp, vocab: list[Any], max_len: int) -> tuple[tr.SOp, dict[str, Info]]:
    """The tracr program for `output`, and what we know of each of its s-ops.
    (Causal or not makes no difference here: the mask is the model's, added when assembling.)"""
    lowering = Lowering(vocab, max_len)
    sink = lowering.output(output)
    return sink, lowering.info
