"""Bottom-up enumeration of small RASP-L terms, one term per behaviour on a fixed input set.

Terms are `rasp.language.sops` nodes evaluated with `rasp.language.semantics` (the interpreter's
operations) on all inputs at once, in padded blocks (lengths 1-4, 5-8, 9-16, ...; no selector picks
a padded key, a padded query row picks key 0). Level `s` holds the terms whose operands' levels
add up to `s - 1`. Terms equal on the input set are interchangeable inside larger ones, so only the
first (smallest) of each behaviour is kept: why "equivalent" means "equal on this input set".
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from rasp.language import semantics, sops
from rasp.language.inputs import token_key, tokens_array
from rasp.language.semantics import ArrayKind, ExecError
from rasp.language.sops import COMPARISONS, Reduce

NUMBER, BOOL, STR, MIXED = ArrayKind.NUMBER, ArrayKind.BOOL, ArrayKind.STR, ArrayKind.MIXED

MAX_KEPT_PER_SIZE = 20_000  # terms kept per size level; a level stops there (the search is then incomplete)
PROGRESS_SECONDS = 1.0  # at most this long between progress lines inside a level
CHECK_EVERY = 32  # candidates between looks at the clock
UNPACKED = 8  # selectors kept unpacked at once (families take turns, each with its own)
FLOAT_DIGITS = 9  # numbers are compared rounded to this many decimals

# ---- the operators: the one place that says which terms the search builds -------------------

# `x op c` for an s-op x and a constant c of x's kind; (op, True) is `c op x`.
CONSTANT_MAPS: dict[ArrayKind, tuple[tuple[str, bool], ...]] = {
    NUMBER: (("+", False), ("-", False), ("-", True), ("%", False), *((op, False) for op in COMPARISONS)),
    STR: tuple((op, False) for op in COMPARISONS)}
# `op(x)` for an s-op x alone.
UNARY_MAPS: dict[ArrayKind, tuple[str, ...]] = {BOOL: ("indicator",)}
# `x op y` for two s-ops of one kind; both orders are built, so `>` and `>=` are not needed.
PAIR_MAPS: dict[ArrayKind, tuple[str, ...]] = {
    NUMBER: ("+", "-", "==", "!=", "<", "<="), STR: ("==", "!=", "<", "<="), BOOL: ("and", "or")}
COMMUTATIVE = frozenset({"+", "==", "!=", "and", "or"})  # built for one order of operands only
# `c1 if b else c2`, `c if b else x` and `x if b else c` for a boolean s-op b; never two s-op branches.
CONDITIONAL_KINDS = (NUMBER, STR, BOOL)
# `select(keys, queries, op)` for keys and queries of one kind; one of them may be a constant.
SELECT_OPS: dict[ArrayKind, tuple[str, ...]] = {NUMBER: COMPARISONS, STR: COMPARISONS, BOOL: ("==", "!=")}
# `aggregate(selector, values, default)` by the values' kind, default 0 or one of the program's own
# (a mean of strings only for selectors that pick one key at most; for those, max and min are the
# mean and not built). Values may also be the constant 1 (mean, default 0): whether any key is picked.
REDUCES: dict[ArrayKind, tuple[Reduce, ...]] = {NUMBER: tuple(Reduce), STR: tuple(Reduce)}
# and also: `selector_width(s)`; selectors `s1 and s2`, `s1 or s2`, `not s`.

FAILURES = (ExecError, ValueError, TypeError, OverflowError, ZeroDivisionError)
INTS = [(t, np.iinfo(t).min, np.iinfo(t).max) for t in (np.int8, np.int16, np.int32, np.int64)]


def kind_of_value(value: Any) -> ArrayKind:
    """The kind of a plain constant."""
    return BOOL if isinstance(value, bool) else NUMBER if isinstance(value, (int, float)) else (
        STR if isinstance(value, str) else MIXED)


class Const(NamedTuple):
    """A plain value used as an operand (free: size 0), and its kind."""
    value: Any
    kind: ArrayKind


ONE = Const(1, NUMBER)  # always among the constants


@dataclass(eq=False)
class Term:
    """A term the search built: its node and its values on the input set."""

    node: sops.Value
    values: np.ndarray  # s-op: every padded cell of every block, flat; selector: those bits, packed
    kind: ArrayKind | None  # an s-op's kind of values (MIXED ones are never kept); None: a selector
    key: bytes  # its behaviour on the whole input set
    train_key: bytes  # its behaviour on the first part of the set (the training inputs)


class Outcome(NamedTuple):
    """How a search ended."""
    found: Term | None  # the first term `matches` accepted, or None
    searched_up_to: int  # the found term's level, else the last level tried in full
    complete: bool  # False when the time ran out, or a level below the last was cut at the cap


@dataclass(frozen=True)
class Block:
    """`rows` inputs of similar length padded to the longest (`n`, each with its own first token),
    and where their cells start in the flat s-op and selector arrays."""

    rows: int
    n: int
    start: int
    sel_start: int
    tokens: np.ndarray  # (rows, n)
    lengths: np.ndarray  # (rows,)
    pair_ok: np.ndarray  # (rows, n, n): real query and key (key at or before query, if causal)
    pad_rows: np.ndarray  # (rows, n, n): the padded query rows, picking key 0


class Cells:
    """The input set ready for evaluation: the first `split` inputs (all when None) the training
    part; a term's key reads each input's positions from its `reads` entry on (all when None)."""

    def __init__(self, inputs: list[list[Any]], causal: bool, split: int | None = None,
                 reads: list[int] | None = None):
        reads = reads or [0] * len(inputs)
        self.causal, self.blocks = causal, []
        start = sel_start = 0
        for _, grouped in itertools.groupby(inputs, lambda t: max(2, (len(t) - 1).bit_length())):
            group = list(grouped)
            n = max(len(t) for t in group)
            lengths = np.array([len(t) for t in group])
            valid = np.arange(n)[None, :] < lengths[:, None]
            pair_ok = valid[:, :, None] & valid[:, None, :] & (np.tri(n, dtype=bool) if causal else True)
            padded = tokens_array([list(t) + [t[0]] * (n - len(t)) for t in group])
            self.blocks.append(Block(len(group), n, start, sel_start, padded, lengths, pair_ok,
                                     ~valid[:, :, None] & (np.arange(n) == 0)))
            start, sel_start = start + len(group) * n, sel_start + len(group) * n * n
        self.cells, self.sel_cells = start, sel_start
        firsts = np.split(np.array(reads, dtype=int), np.cumsum([b.rows for b in self.blocks])[:-1])
        self.valid = np.flatnonzero(np.concatenate([
            ((np.arange(b.n) < b.lengths[:, None]) & (np.arange(b.n) >= first[:, None])).ravel()
            for b, first in zip(self.blocks, firsts)]))
        self.split = sum(len(t) - r for t, r in zip(inputs[:split], reads))
        self.pair_ok = np.packbits(np.concatenate([b.pair_ok.ravel() for b in self.blocks]))
        self.pad_rows = np.packbits(np.concatenate([b.pad_rows.ravel() for b in self.blocks]))

    def leaf(self, node: sops.SOp) -> np.ndarray:
        """The values of tokens (in a view), indices or length."""
        def block(b: Block) -> np.ndarray:
            if isinstance(node, sops.Tokens):
                return semantics.token_view(node, b.tokens)
            if isinstance(node, sops.Indices) or self.causal:
                return np.broadcast_to(np.arange(b.n) + isinstance(node, sops.Length), (b.rows, b.n))
            return np.broadcast_to(b.lengths[:, None], (b.rows, b.n))
        return flatten([block(b).ravel() for b in self.blocks])

    def per_block(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[b.start:b.start + b.rows * b.n].reshape(b.rows, b.n) for b in self.blocks]

    def selections(self, packed: np.ndarray) -> list[np.ndarray]:
        bits = np.unpackbits(packed, count=self.sel_cells).view(bool)
        return [bits[b.sel_start:b.sel_start + b.rows * b.n * b.n].reshape(b.rows, b.n, b.n) for b in self.blocks]


def flatten(parts: list[np.ndarray]) -> np.ndarray:
    """One flat array of parts that may differ in type (numbers with numbers, else objects)."""
    kinds = {semantics.array_kind(p) for p in parts}
    return np.concatenate(parts if len(kinds) < 2 or kinds <= {NUMBER} else [p.astype(object) for p in parts])


def compact(values: np.ndarray) -> np.ndarray:
    """Integers in the smallest type that holds them (kept terms take less memory)."""
    if values.dtype.kind == "i" and values.size:
        low, high = int(values.min()), int(values.max())
        return values.astype(next(t for t, least, most in INTS if least <= low and high <= most))
    return values


def canonical(values: np.ndarray) -> tuple[ArrayKind, np.ndarray]:
    """Values in a form that is equal exactly when the values are: numbers rounded (1 and 1.0
    are equal; whole numbers as small integers, so that hashing them is quick), booleans apart
    from numbers, objects by the type they all share (or, mixed, by `token_key`)."""
    kind = semantics.array_kind(values)
    if kind is MIXED:
        types = {type(v) for v in values.tolist()}
        if not (types <= {str} or types <= {bool} or types <= {int, float}):
            return kind, np.array([repr(token_key(v)) for v in values.tolist()], dtype=str)
        kind = STR if str in types else BOOL if bool in types else NUMBER
        values = values.astype({STR: str, BOOL: bool, NUMBER: np.float64}[kind])
    if kind is not NUMBER:
        return kind, values
    if values.dtype.kind == "f":
        values = np.round(values, FLOAT_DIGITS) + 0.0
        if not np.array_equal(values, np.round(values)):
            return kind, values
    small = values.size and np.abs(values).max() < 2**15
    return kind, values.astype(np.int16 if small else np.float64)


def digest(kind: ArrayKind, values: np.ndarray) -> bytes:
    """A short hash of canonical values."""
    data = values.tobytes() if values.dtype.kind in "fbi" else "\x1f".join(values.tolist()).encode()
    return hashlib.blake2b(f"{kind}:{values.dtype.kind}:".encode() + data, digest_size=16).digest()


def keys_of(values: np.ndarray, split: int) -> tuple[ArrayKind, bytes, bytes]:
    """The kind, whole-set key and first-`split`-cells key of real cells' values."""
    kind, canon = canonical(values)
    whole = digest(kind, canon)
    return kind, whole, whole if split >= len(canon) else digest(*canonical(values[:split]))


class Enumerator:
    """Terms over `leaves` (tokens, indices, length) and `constants`, level by level; aggregates
    take their default from `defaults` (of the values' kind) or 0."""

    def __init__(self, cells: Cells, leaves: list[sops.SOp], constants: list[Any], defaults: list[Any]):
        self.cells, self.leaves = cells, leaves
        self.consts = [Const(c, kind_of_value(c)) for c in constants]
        self.defaults = [0, *(d for d in defaults if d != 0 or isinstance(d, bool))]
        self.fulls = {c: sops.Full(value=c.value) for c in [ONE, *self.consts]}
        self.sops: list[list[Term]] = []
        self.sels: list[list[Term]] = []
        self.seen: set[bytes] = set()
        self.const_arrays = {c: semantics.as_array(c.value, (cells.cells,)) for c in [ONE, *self.consts]}
        self.selections = functools.lru_cache(maxsize=UNPACKED)(lambda term: cells.selections(term.values))
        self.width_range: dict[int, tuple[int, int]] = {}

    def array(self, part: Term | Const) -> np.ndarray:
        if isinstance(part, Const):
            return self.const_arrays[part]
        return part.values.astype(np.int64) if part.values.dtype.kind == "i" else part.values

    def evaluate(self, node: sops.Value, parts: tuple) -> np.ndarray | None:
        """The node's values (s-op: flat; selector: packed bits), or None where it fails."""
        cells = self.cells
        try:
            with np.errstate(all="ignore"):
                if isinstance(node, (sops.Tokens, sops.Indices, sops.Length)):
                    return compact(cells.leaf(node))
                if isinstance(node, sops.Map):
                    return compact(semantics.apply_map(node, [self.array(p) for p in parts]))
                if isinstance(node, sops.Select):
                    keys, queries = (cells.per_block(self.array(p)) for p in parts)
                    return np.packbits(np.concatenate([((semantics.select(node, k, q) & b.pair_ok) | b.pad_rows).ravel()
                                                       for b, k, q in zip(cells.blocks, keys, queries)]))
                if isinstance(node, (sops.SelectAnd, sops.SelectOr)):
                    left, right = parts[0].values, parts[1].values
                    return left & right if isinstance(node, sops.SelectAnd) else left | right
                if isinstance(node, sops.SelectNot):
                    return (~parts[0].values & cells.pair_ok) | cells.pad_rows
                if isinstance(node, sops.SelectorWidth):
                    return compact(np.concatenate([np.count_nonzero(s, axis=-1).ravel()
                                                   for s in self.selections(parts[0])]))
                values = cells.per_block(self.array(parts[1]))
                return compact(flatten([semantics.aggregate(node, s, v).ravel()
                                        for s, v in zip(self.selections(parts[0]), values)]))
        except FAILURES:
            return None

    def width_span(self, sel: Term) -> tuple[int, int]:
        """The fewest and most keys a selector picks in a row (remembered)."""
        if id(sel) not in self.width_range:
            counts = np.concatenate([np.count_nonzero(s, axis=-1).ravel() for s in self.selections(sel)])
            self.width_range[id(sel)] = int(counts.min()), int(counts.max())
        return self.width_range[id(sel)]

    def term(self, node: sops.Value, values: np.ndarray) -> Term:
        if isinstance(node, sops.Selector):
            key = hashlib.blake2b(b"selector:" + values.tobytes(), digest_size=16).digest()
            return Term(node, values, None, key, key)
        _, key, train_key = keys_of(values[self.cells.valid], self.cells.split)
        return Term(node, values, semantics.array_kind(values), key, train_key)

    def search(self, bound: int, matches: Callable[[Term], bool], want: ArrayKind | None,
               deadline: float, progress: Callable[[str], None] | None) -> Outcome:
        """Levels 0..bound, until `matches` accepts an s-op term or the deadline passes. `want`: the
        kind of values sought (None: any, mixed included); the last level builds only s-ops of that
        kind and keeps none; s-ops of mixed values are never kept, nor looked at unless `want` is None."""
        self.say, self.deadline, self.tried = progress or (lambda _: None), deadline, 0
        self.started = self.last_said = time.monotonic()
        cut: list[int] = []
        for level in range(bound + 1):
            self.sops, self.sels = [*self.sops, []], [*self.sels, []]
            try:
                found, was_cut = self.level(level, level == bound, want, matches)
            except TimeoutError:
                self.say(f"search: size {level}: out of time after {self.tried:,} candidates")
                return Outcome(None, level - 1, False)
            if found is not None:
                return Outcome(found, level, not cut)
            cut += [level] if was_cut else []
            self.say(f"search: size {level} done: {self.tried:,} candidates, {len(self.seen):,} behaviours, "
                     f"{time.monotonic() - self.started:.1f} s" + (" (term cap reached)" if was_cut else ""))
        return Outcome(None, bound, not any(c < bound for c in cut))

    def level(self, level: int, final: bool, want: ArrayKind | None,
              matches: Callable[[Term], bool]) -> tuple[Term | None, bool]:
        """One level, a candidate of each family in turn (so that a cut at MAX_KEPT_PER_SIZE or by the
        clock treats all alike): the term `matches` accepted, if any, and whether the level was cut."""
        kept, families = 0, self.families(level, final, want if final else None)
        for node, parts in (c for turn in itertools.zip_longest(*families) for c in turn if c is not None):
            self.tick(level, kept)
            values = self.evaluate(node, parts)
            if values is None or (want is not None and values.dtype == object):
                continue
            term = self.term(node, values)
            if term.key in self.seen:
                continue
            if isinstance(node, sops.SOp) and matches(term):
                return term, False
            if final or term.kind is MIXED:
                continue
            if kept == MAX_KEPT_PER_SIZE:
                return None, True
            self.seen.add(term.key)
            kept += 1
            (self.sels if term.kind is None else self.sops)[level].append(term)
        return None, False

    def tick(self, level: int, kept: int) -> None:
        """Count a candidate; now and then, look at the clock and say how far the level is."""
        self.tried += 1
        if self.tried % CHECK_EVERY == 0 and (now := time.monotonic()) > self.deadline:
            raise TimeoutError
        if self.tried % CHECK_EVERY == 0 and now - self.last_said >= PROGRESS_SECONDS:
            self.last_said = now
            self.say(f"search: size {level}: {self.tried:,} candidates, {kept:,} kept, {now - self.started:.1f} s")

    def families(self, level: int, final: bool, want: ArrayKind | None) -> list[Iterator[tuple]]:
        """The candidates of one level, by family of operation (selectors only below the last level)."""
        if level == 0:
            return [iter([(leaf, ()) for leaf in self.leaves])]
        families = [self.constant_maps(level, want), self.conditionals(level, want), self.aggregates(level, want),
                    self.pair_maps(level, want)]
        return families if final else [*families, self.selects(level), self.combinations(level)]

    def map(self, op: str, *parts: Term | Const) -> tuple[sops.Map, tuple]:
        return sops.Map(op=op, args=tuple(p.value if isinstance(p, Const) else p.node for p in parts)), parts

    def pairs(self, pool: list[list[Term]], level: int) -> Iterator[tuple[Term, Term, bool]]:
        """Operand pairs whose levels add up to level - 1, and whether the pair is in its first order."""
        for a in range(level):
            for i, x in enumerate(pool[a]):
                for j, y in enumerate(pool[level - 1 - a]):
                    yield x, y, (a, i) < (level - 1 - a, j)

    def constant_maps(self, level: int, want: ArrayKind | None) -> Iterator[tuple]:
        for x in self.sops[level - 1]:
            if x.kind in UNARY_MAPS and want in (None, NUMBER):
                yield from (self.map(op, x) for op in UNARY_MAPS[x.kind])
            for op, flipped in CONSTANT_MAPS.get(x.kind, ()):
                for c in self.consts:
                    if c.kind is x.kind and want in (None, BOOL if op in COMPARISONS else NUMBER) and not (
                            op in "+-" and c.value == 0) and (op != "%" or type(c.value) is int and c.value > 1):
                        yield self.map(op, c, x) if flipped else self.map(op, x, c)

    def pair_maps(self, level: int, want: ArrayKind | None) -> Iterator[tuple]:
        for x, y, first in self.pairs(self.sops, level):
            for op in PAIR_MAPS.get(x.kind, ()) if x.kind is y.kind else ():
                if (first or op not in COMMUTATIVE) and want in (None, NUMBER if op in "+-" else BOOL):
                    yield self.map(op, x, y)

    def conditionals(self, level: int, want: ArrayKind | None) -> Iterator[tuple]:
        for cond in self.sops[level - 1]:
            for c1, c2 in itertools.permutations(self.consts, 2) if cond.kind is BOOL else ():
                if c1.kind is c2.kind in CONDITIONAL_KINDS and want in (None, c1.kind):
                    yield self.map("ifelse", cond, c1, c2)
        for cond, x, _ in self.pairs(self.sops, level):
            if cond.kind is BOOL and x.kind in CONDITIONAL_KINDS and want in (None, x.kind):
                for c in (c for c in self.consts if c.kind is x.kind):
                    yield from (self.map("ifelse", cond, c, x), self.map("ifelse", cond, x, c))

    def aggregates(self, level: int, want: ArrayKind | None) -> Iterator[tuple]:
        """Aggregates and (of selectors one level below) selector widths."""
        for a in range(1, level):
            for sel in self.sels[a]:
                if a == level - 1 and want in (None, NUMBER):
                    yield sops.SelectorWidth(selector=sel.node), (sel,)
                    yield sops.Aggregate(selector=sel.node, values=self.fulls[ONE], default=0), (sel, ONE)
                fewest, most = self.width_span(sel)  # one key at most: max = min = mean; never none: any default
                defaults = self.defaults if fewest == 0 else [0]
                for v in self.sops[level - 1 - a]:
                    reduces = REDUCES.get(v.kind, ()) if most > 1 else (Reduce.MEAN,) if v.kind in REDUCES else ()
                    for reduce, default in itertools.product(reduces if want in (None, v.kind) else (), defaults):
                        if (default == 0 or kind_of_value(default) is v.kind) and (
                                reduce is not Reduce.MEAN or v.kind is NUMBER or most < 2):  # a mean needs numbers
                            yield sops.Aggregate(selector=sel.node, values=v.node, default=default,
                                                 reduce=reduce), (sel, v)

    def selects(self, level: int) -> Iterator[tuple]:
        if level == 1:
            yield sops.Select(keys=self.fulls[ONE], queries=self.fulls[ONE], op="=="), (ONE, ONE)
        pool = [self.sops[0] + self.consts, *self.sops[1:]]
        for a in range(level):
            for k, q in itertools.product(pool[a], pool[level - 1 - a]):
                if k.kind is q.kind and not (isinstance(k, Const) and isinstance(q, Const)):
                    keys, queries = (self.fulls[p] if isinstance(p, Const) else p.node for p in (k, q))
                    for op in SELECT_OPS.get(k.kind, ()):
                        yield sops.Select(keys=keys, queries=queries, op=op), (k, q)

    def combinations(self, level: int) -> Iterator[tuple]:
        for sel in self.sels[level - 1]:
            yield sops.SelectNot(inner=sel.node), (sel,)
        for x, y, first in self.pairs(self.sels, level):
            if first:
                yield from ((sops.SelectAnd(left=x.node, right=y.node), (x, y)),
                            (sops.SelectOr(left=x.node, right=y.node), (x, y)))
