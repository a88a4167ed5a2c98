"""Is this program in C-RASP[periodic, local]?

C-RASP (Yang & Chiang 2024, "Counting Like Transformers"; extended by Huang et al., ICLR 2025,
"A Formal Framework for Understanding Length Generalization in Transformers") computes, at each
position i of a causal prefix, Boolean vectors (token tests, Boolean combinations, comparisons of
counts) and count vectors (`#[j <= i : P(j)]`, constants, sums, differences and constant
multiples of counts, and conditionals on Booleans). Huang et al. allow positional relations in a
count that are local (`j = i - c`) or periodic (positions modulo a constant), and prove that
every function of that fragment is identified in the limit by Transformers with learned absolute
positions: they length-generalize once trained on long enough inputs.

This module reads the program graph once, inputs before the operations that read them, and gives
each s-op a *sort*:

- `finite`: a bounded value set that does not grow with the length (token views, constants, maps
  of finite s-ops, comparisons of counts, lookups of finite values): each value is a C-RASP
  Boolean, and any map of finite s-ops is a Boolean combination;
- `count`: a linear combination of prefix counts (indices = `#[j <= i : true] - 1`, length,
  selector widths, sums and constant multiples of counts, conditionals on finite s-ops), with
  its slope in the position when it is `a * indices + b` (needed for local and periodic tests);
- `ratio`: a mean of finite numbers over a selection that can grow (a count divided by a
  count): allowed only in a linear comparison, where it is one (`k/n > c` is `k > c n`);
- `outside`: reads an escape.

An operation that C-RASP cannot express is an **escape**, reported at its source position with
its kind and why; s-ops reading an escape are outside without a report of their own. Means and
counts get the same sort by construction (a mean compared with a constant is a comparison of two
counts), so phrasing a task with means or with selector widths does not change the answer. The
graph holds only what the output reads (dead code is gone) and plain values are already folded
by the builder.

Scope: the fragment is defined for causal, decoder-only programs. A program that is not causal
is checked as if every position read the whole input (true of its value at the last position,
the `answer` framing); its per-position values are a bidirectional task, outside the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from predictor.valuesets import ValueSet, averages, value_sets
from rasp.language import sops

Affine = tuple[float, float]  # (a, b): the s-op is a * indices + b


class Sort(StrEnum):
    FINITE = "finite"
    COUNT = "count"
    RATIO = "ratio"
    OUTSIDE = "outside"


class Escape(StrEnum):
    """The constructs that leave C-RASP[periodic, local]."""

    NON_LOCAL_LOOKUP = "non-local-lookup"  # selects a position computed from counts or the length
    CROSS_POSITION_COUNT = "cross-position-count"  # a selector compares counts of two positions
    COPIED_COUNT = "copied-count"  # aggregates a growing (count or mean) value from other positions
    MODULAR_COUNTING = "modular-counting"  # a count of tokens modulo a constant
    NON_LINEAR = "non-linear-arithmetic"  # product, quotient or power of counts
    MEAN_PRECISION = "mean-precision"  # a mean fed to a non-linear map: precision grows with length
    GROWING_OUTPUT = "growing-output"  # the output's values grow with the length


WHY = {
    Escape.NON_LOCAL_LOOKUP: "C-RASP relates positions only locally (j = i - c) or periodically; a lookup at "
                             "a position computed from a count or the length is neither",
    Escape.CROSS_POSITION_COUNT: "counts are compared only at one position; comparing a key's count with a "
                                 "query's is a relation between two growing numbers",
    Escape.COPIED_COUNT: "a value that grows with the length is moved between positions; C-RASP moves only "
                         "bounded values",
    Escape.MODULAR_COUNTING: "counting modulo a constant (parity) is outside C-RASP; only positions may be "
                             "taken modulo a constant",
    Escape.NON_LINEAR: "C-RASP combines counts only linearly (sums, differences, constant multiples)",
    Escape.MEAN_PRECISION: "a mean is usable only in a linear comparison; any other map of it needs "
                           "precision that grows with the length",
    Escape.GROWING_OUTPUT: "C-RASP outputs come from a bounded set; these grow with the input length",
}


@dataclass(frozen=True)
class EscapeFinding:
    """One construct outside the fragment, at its source position."""

    kind: Escape
    message: str
    line: int | None
    col: int | None
    name: str
    source: str = ""  # the source line

    def as_dict(self) -> dict[str, Any]:
        return {"rule": str(self.kind), "message": self.message, "line": self.line, "col": self.col,
                "name": self.name, "source": self.source}


@dataclass
class Fact:
    """What the check knows of one node."""

    sort: Sort
    affine: Affine | None = None  # counts of the form a * indices + b
    unique: bool = False  # selectors: selects at most one key for every query
    selector: Any = None  # ratios: the selector of the mean (same-denominator ratios combine)


@dataclass
class CRasp:
    """The answer: `member` True with a printable `witness`, or False with every escape."""

    member: bool
    witness: str | None
    escapes: list[EscapeFinding] = field(default_factory=list)
    sorts: dict[str, int] = field(default_factory=dict)  # how many s-ops of each sort
    by_node: dict[int, Sort] = field(default_factory=dict, repr=False)  # id(node) -> its sort

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "witness": self.witness,
                "escapes": [e.as_dict() for e in self.escapes], "sorts": self.sorts}


LINEAR_OPS = {"+", "-", "neg", "pos"}
BOOLEAN_OPS = {"and", "or", "not", "indicator", "in"}  # of a count: a comparison with 0 or constants


def constant(node: Any) -> Any:
    """The plain value of a constant argument or a `Full` node, else None."""
    if isinstance(node, sops.Full):
        return node.value
    if not isinstance(node, sops.Value):
        return node
    return None


def is_constant(node: Any) -> bool:
    return isinstance(node, sops.Full) or not isinstance(node, sops.Value)


class Checker:
    """One pass over the graph (see the module's docstring)."""

    def __init__(self, names: dict[int, str], causal: bool, distinct: bool):
        self.causal, self.distinct = causal, distinct
        self.sets: dict[int, ValueSet] = {}  # s-op -> its value set (predictor.valuesets)
        self.facts: dict[int, Fact] = {}
        self.escapes: list[EscapeFinding] = []
        self.lines: list[str] = []
        self.names = names

    def name(self, node: Any) -> str:
        if is_constant(node):
            return repr(constant(node))
        return self.names[id(node)]

    def called(self, node: Any) -> str:
        """A node as messages name it: a constant's value, a name quoted, else what the node does
        and where (`sops.display_name`); the witness's v<k> names are for the witness alone."""
        if is_constant(node):
            return repr(constant(node))
        return repr(node.label) if node.label else sops.display_name(node)

    def fact(self, node: Any) -> Fact:
        return Fact(Sort.FINITE) if is_constant(node) else self.facts[id(node)]

    def escape(self, kind: Escape, node: sops.Value, detail: str) -> Fact:
        span = node.span
        self.escapes.append(EscapeFinding(kind, f"{detail}: {WHY[kind]}", span.line if span else None,
                                          span.col if span else None, sops.display_name(node),
                                          span.source.line(span.line).strip() if span else ""))
        return Fact(Sort.OUTSIDE)

    def say(self, node: sops.Value, text: str) -> None:
        self.lines.append(f"{self.name(node)} := {text}")

    # ---- s-ops

    def visit(self, node: sops.Value) -> None:
        args = [a for a in node.inputs()]
        if any(self.fact(a).sort is Sort.OUTSIDE for a in args):
            self.facts[id(node)] = Fact(Sort.OUTSIDE)
            return
        method = {sops.Tokens: self.tokens, sops.Indices: self.indices, sops.Length: self.length,
                  sops.Full: self.full, sops.Map: self.map, sops.SelectorWidth: self.width,
                  sops.Aggregate: self.aggregate, sops.Select: self.select, sops.SelectAnd: self.combine,
                  sops.SelectOr: self.combine, sops.SelectNot: self.combine}[type(node)]
        self.facts[id(node)] = method(node)

    def tokens(self, node: sops.Tokens) -> Fact:
        self.say(node, f"{node.view}(i)  [token predicates Q_a(i)]")
        return Fact(Sort.FINITE)

    def indices(self, node: sops.Indices) -> Fact:
        self.say(node, "#[j <= i : true] - 1  [count]")
        return Fact(Sort.COUNT, affine=(1.0, 0.0))

    def length(self, node: sops.Length) -> Fact:
        if self.causal:  # a causal program's length is the prefix's: indices + 1
            self.say(node, "#[j <= i : true]  [count]")
            return Fact(Sort.COUNT, affine=(1.0, 1.0))
        self.say(node, "#[j <= n : true]  [count]")
        return Fact(Sort.COUNT)

    def full(self, node: sops.Full) -> Fact:
        return Fact(Sort.FINITE)  # printed as its value where it is read

    def map(self, node: sops.Map) -> Fact:
        operands = [a for a in node.args if isinstance(a, sops.SOp)]
        facts = [self.fact(a) for a in operands]
        sorts = {f.sort for f in facts}
        shown = f"{node.op}({', '.join(self.name(a) for a in node.args)})"
        branches = [self.fact(a).sort for a in node.args[1:]] if node.op == "ifelse" else []
        if sorts <= {Sort.FINITE} or (branches and set(branches) <= {Sort.FINITE}):
            # (a count or a mean as a condition is a comparison with 0)
            self.say(node, f"{shown}  [finite map: a Boolean combination]")
            return Fact(Sort.FINITE)
        if node.op in sops.COMPARISONS or node.op in BOOLEAN_OPS:
            return self.comparison(node, operands, facts, shown)
        if Sort.RATIO in sorts:
            return self.ratio_map(node, operands, facts, shown)
        return self.count_map(node, operands, facts, shown)

    def comparison(self, node: sops.Map, operands: list, facts: list[Fact], shown: str) -> Fact:
        ratios = {self.selection(f.selector) for f in facts if f.sort is Sort.RATIO}
        if len(ratios) > 1 or (ratios and any(f.sort is Sort.COUNT for f in facts)):
            return self.escape(Escape.NON_LINEAR, node, f"'{node.op}' compares means over different "
                               "selections (or a mean with a count): a product of counts once cleared")
        self.say(node, f"{shown}  [linear comparison of counts]")
        return Fact(Sort.FINITE)

    def ratio_map(self, node: sops.Map, operands: list, facts: list[Fact], shown: str) -> Fact:
        """A map of a mean stays a mean when it is linear in it: sums and differences of means over
        one selection and of bounded s-ops, and multiples by a bounded s-op or constant."""
        ratios = [(a, f) for a, f in zip(operands, facts) if f.sort is Sort.RATIO]
        same = len({self.selection(f.selector) for _, f in ratios}) == 1
        counts = any(f.sort is Sort.COUNT for f in facts)
        op = node.op
        linear = not counts and same and (op in LINEAR_OPS or (op == "*" and len(ratios) == 1)
                                          or (op == "/" and len(ratios) == 1 and ratios[0][0] is node.args[0]))
        if linear:
            self.say(node, f"{shown}  [linear in a mean]")
            return Fact(Sort.RATIO, selector=ratios[0][1].selector)
        names = ", ".join(self.called(a) for a, _ in ratios)
        return self.escape(Escape.MEAN_PRECISION, node, f"'{op}' of the mean {names}")

    def count_map(self, node: sops.Map, operands: list, facts: list[Fact], shown: str) -> Fact:
        counts = [(a, f) for a, f in zip(operands, facts) if f.sort is Sort.COUNT]
        consts = [constant(a) for a in node.args if is_constant(a)]
        numbers = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in consts)
        op = node.op
        first, first_fact = counts[0]
        if op == "%":
            divisor = constant(node.args[1])
            slope = first_fact.affine[0] if first_fact.affine is not None else None
            if first is node.args[0] and slope is not None and slope == int(slope) and isinstance(divisor, int):
                self.say(node, f"{shown}  [periodic: a position modulo {divisor}]")
                return Fact(Sort.FINITE)
            return self.escape(Escape.MODULAR_COUNTING, node, f"'%' of the count {self.called(first)}")
        if op in LINEAR_OPS and numbers:
            self.say(node, f"{shown}  [linear combination of counts]")
            return Fact(Sort.COUNT, affine=self.linear_affine(node))
        if op in ("*", "/") and len(counts) == 1 and numbers and (op == "*" or first is node.args[0]):
            other = node.args[1] if node.args[0] is first else node.args[0]
            k, affine = constant(other), first_fact.affine
            if affine is not None and isinstance(k, (int, float)) and k != 0:
                k = k if op == "*" else 1 / k
                affine = (affine[0] * k, affine[1] * k)
            else:
                affine = None
            self.say(node, f"{shown}  [a count times a bounded value]")
            return Fact(Sort.COUNT, affine=affine)
        if op in ("ifelse", "abs", "round"):
            self.say(node, f"{shown}  [conditional count]")
            return Fact(Sort.COUNT)
        names = ", ".join(self.called(a) for a, _ in counts)
        return self.escape(Escape.NON_LINEAR, node, f"'{op}' of the count(s) {names}")

    def selection(self, selector: Any) -> Any:
        """A structural key of a selector, so that two selectors written alike are one selection
        (a selector that keeps every key is "all", also the prefix of a causal program)."""
        if isinstance(selector, sops.Select):
            k, q = selector.keys, selector.queries
            if self.causal and isinstance(k, sops.Indices) and isinstance(q, sops.Indices) and selector.op == "<=":
                return "all"
            if is_constant(k) and is_constant(q) and constant(k) == constant(q) and selector.op in ("==", "<=", ">="):
                return "all"
            return ("select", selector.op, self.leaf(k), self.leaf(q))
        parts = tuple(self.selection(p) for p in selector.inputs())
        if isinstance(selector, sops.SelectAnd) and "all" in parts:
            rest = [p for p in parts if p != "all"]
            return rest[0] if rest else "all"
        return (type(selector).__name__, parts)

    def leaf(self, node: Any) -> Any:
        if is_constant(node):
            return ("const", repr(constant(node)))
        if isinstance(node, sops.Tokens):
            return ("tokens", str(node.view))
        if isinstance(node, (sops.Indices, sops.Length)):
            return (type(node).__name__,)
        return id(node)

    def linear_affine(self, node: sops.Map) -> Affine | None:
        """The slope and intercept in `indices` of a sum or difference, when every operand has one."""
        parts: list[Affine] = []
        for a in node.args:
            if is_constant(a):
                parts.append((0.0, float(constant(a))))
            else:
                f = self.fact(a)
                if f.sort is not Sort.COUNT or f.affine is None:
                    return None
                parts.append(f.affine)
        if node.op in ("neg",):
            return (-parts[0][0], -parts[0][1])
        if node.op == "pos":
            return parts[0]
        sign = 1 if node.op == "+" else -1
        return (parts[0][0] + sign * parts[1][0], parts[0][1] + sign * parts[1][1])

    def width(self, node: sops.SelectorWidth) -> Fact:
        self.say(node, f"#[j : {self.name(node.selector)}(i, j)]  [count]")
        return Fact(Sort.COUNT)

    def aggregate(self, node: sops.Aggregate) -> Fact:
        selector, values = self.fact(node.selector), self.fact(node.values)
        what = f"{sops.operation_name(node)}({self.name(node.selector)}, {self.name(node.values)}, default {node.default!r})"
        if values.sort is not Sort.FINITE:
            return self.escape(Escape.COPIED_COUNT, node, f"aggregates {self.called(node.values)}, whose "
                               "values grow with the length")
        if selector.unique or not averages(self.sets.get(id(node.values)), node):
            self.say(node, f"{what}  [lookup of a bounded value: for each value v, #[j : sel(i, j) and "
                           f"value(j) = v] > 0]")
            return Fact(Sort.FINITE)
        self.say(node, f"{what}  [mean: #[j : sel and value] / #[j : sel]]")
        return Fact(Sort.RATIO, selector=node.selector)

    # ---- selectors

    def select(self, node: sops.Select) -> Fact:
        keys, queries = self.fact(node.keys), self.fact(node.queries)
        shown = f"{self.name(node.keys)}(j) {node.op} {self.name(node.queries)}(i)"
        if Sort.RATIO in (keys.sort, queries.sort):
            return self.escape(Escape.MEAN_PRECISION, node, f"selects by '{shown}', a mean")
        position = keys.affine is not None and keys.affine[0] == 1.0
        if Sort.FINITE in (keys.sort, queries.sort):
            unique = node.op == "==" and ((position and is_constant(node.queries))
                                          or (self.distinct and isinstance(node.keys, sops.Tokens)))
            self.say(node, f"{shown}  [a predicate of j, for each of finitely many values at i]")
            return Fact(Sort.FINITE, unique=unique)
        if position and queries.affine is not None and queries.affine[0] == 1.0:
            relation = "local: j - i is a constant" if node.op in ("==", "!=") else "prefix: j before i, shifted"
            self.say(node, f"{shown}  [{relation}]")
            return Fact(Sort.FINITE, unique=node.op == "==")
        if keys.affine is not None or queries.affine is not None:
            return self.escape(Escape.NON_LOCAL_LOOKUP, node, f"selects by '{shown}'")
        return self.escape(Escape.CROSS_POSITION_COUNT, node, f"selects by '{shown}'")

    def combine(self, node: sops.Selector) -> Fact:
        parts = [self.fact(p) for p in node.inputs()]
        op = {sops.SelectAnd: "and", sops.SelectOr: "or", sops.SelectNot: "not"}[type(node)]
        self.say(node, f"{op}({', '.join(self.name(p) for p in node.inputs())})  [Boolean combination]")
        return Fact(Sort.FINITE, unique=op == "and" and any(p.unique for p in parts))


def node_names(output: sops.SOp) -> dict[int, str]:
    """A name for every node: its own, else v<k> by its place in the graph."""
    return {id(node): node.label or f"v{k}" for k, node in enumerate(sops.walk([output]))}


def check(output: sops.SOp, vocab: list[Any], causal: bool = True, distinct: bool = False,
          length: int = 8, sets: dict[int, ValueSet] | None = None) -> CRasp:
    """C-RASP[periodic, local] membership of the program computing `output` (see the module);
    the value sets at `length` over `vocab` (or `sets`, when the caller has them) decide whether
    an aggregate averages."""
    nodes = list(sops.walk([output]))
    checker = Checker(node_names(output), causal, distinct)
    checker.sets = sets if sets is not None else value_sets(output, vocab, length)
    for node in nodes:
        checker.visit(node)
    out = checker.facts[id(output)]
    if out.sort in (Sort.COUNT, Sort.RATIO):
        what = "a count" if out.sort is Sort.COUNT else "a mean"
        checker.escape(Escape.GROWING_OUTPUT, output, f"the output is {what}")
    sorts: dict[str, int] = {}
    for node in nodes:
        if isinstance(node, sops.SOp):
            sort = checker.facts[id(node)].sort
            sorts[str(sort)] = sorts.get(str(sort), 0) + 1
    checker.escapes.sort(key=lambda e: (e.line or 0, e.col or 0, str(e.kind)))
    member = not checker.escapes
    return CRasp(member, "\n".join(checker.lines) if member else None, checker.escapes, sorts,
                 {key: fact.sort for key, fact in checker.facts.items()})
