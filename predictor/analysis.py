"""`rasp analyze`: will a Transformer trained on short inputs of this task work on longer ones?

Reads the program graph, checks the RASP-L rules (each finding at a source position),
measures size and growth, and combines them into one score in [0, 1] by the formula in
docs/analysis.md. It never looks at a program's name or file name.

Some facts are measured, not guessed: the program runs in the interpreter on sample inputs at
two ranges of lengths, which tells how many keys each selector selects (a mean of several
values, or a lookup of one) and which s-ops take more values on longer inputs.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any, NotRequired, TypedDict

import networkx as nx
import numpy as np

from compiler.meta import ModelMeta
from predictor.graph import attach_layout, counts, describe, program_graph
from rasp.language import sops
from rasp.language.inputs import sample_inputs, sample_vocab
from rasp.language.program import Program

LINEAR = {"+", "-", "neg", "pos"}


@dataclass(frozen=True)
class Rule:
    id: str
    weight: float  # the score is multiplied by this for each s-op that breaks the rule
    summary: str


RULES = {r.id: r for r in [
    Rule("non-causal-selector", 0.6,
         "an autoregressive model sees only earlier positions; this selector selects only later ones"),
    Rule("index-arithmetic", 0.3,
         "arithmetic on index-valued s-ops (indices, length, selector widths) beyond a constant offset"),
    Rule("growing-categorical", 0.4,
         "a value set that grows with the input length is output or copied as categorical values"),
    Rule("mean-precision", 0.5,
         "a mean over a growing number of positions feeds a non-linear map, whose precision must grow"),
    Rule("max-min-compile", 1.0,
         "max/min aggregation is RASP-L, but tracr cannot compile it (no effect on the score)"),
]}

THRESHOLD = 0.5
FREE_OPERATIONS = 30  # description length up to this costs nothing


@dataclass
class Finding:
    rule: str
    message: str
    line: int | None
    col: int | None
    name: str
    source: str = ""


class Size(TypedDict):
    """How big the program is: operations counted in its graph, layers and heads once compiled."""

    selects: int
    aggregates: int
    selector_widths: int
    maps: int
    selector_combinations: int  # and / or / not of selectors
    operations: int  # selects + aggregates + selector widths + maps
    layers: NotRequired[int]  # of the model compiled at the smallest growth length
    heads: NotRequired[int]


class GrowthRow(TypedDict):
    """The model compiled at one maximum length."""

    max_len: int
    residual_width: int
    parameters: int
    layers: int
    heads: int


class Growth(TypedDict):
    """How the compiled model grows with the maximum length: fitted exponents of n."""

    available: bool  # False when fewer than two lengths compiled (then `reason` says why)
    reason: NotRequired[str]
    lengths: NotRequired[list[int]]  # the maximum lengths compiled
    compiled: NotRequired[list[GrowthRow]]
    residual_width_exponent: NotRequired[float]  # width ~ n^this
    parameters_exponent: NotRequired[float]  # parameters ~ n^this
    stopped: NotRequired[str | None]  # why compiling stopped before the last length, if it did
    growing_sops: NotRequired[list[str]]  # s-ops that take more values on longer inputs


@dataclass
class Analysis:
    score: float
    generalizes: bool
    findings: list[Finding]
    size: Size
    growth: Growth
    factors: dict[str, float]
    vocab: list[Any]
    causal: bool
    graph: nx.DiGraph = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "generalizes": self.generalizes,
                "findings": [asdict(f) for f in self.findings], "size": self.size,
                "growth": self.growth, "factors": self.factors, "vocab": self.vocab,
                "causal": self.causal, "threshold": THRESHOLD}


# ---- facts measured by running the program -----------------------------------------------


@dataclass
class Observed:
    values_short: dict[Any, set] = field(default_factory=dict)  # node -> values seen at lengths <= L
    values_long: dict[Any, set] = field(default_factory=dict)  # node -> values seen at lengths <= 2L
    widest: dict[Any, int] = field(default_factory=dict)  # aggregate -> most keys a query selected
    looks_ahead: set = field(default_factory=set)  # selectors that select only later keys


def observe(program: Program, graph: nx.DiGraph, vocab: list[Any], causal: bool, short: int = 8,
            per_length: int = 6, seed: int = 0) -> Observed:
    rng = random.Random(seed)
    distinct = program.tree.distinct
    seen = Observed()
    sops_nodes = [n for n in graph if isinstance(n, sops.SOp)]
    aggregates = [n for n in graph if isinstance(n, sops.Aggregate)]
    selectors = list(dict.fromkeys(n.selector for n in graph if isinstance(n, (sops.Aggregate, sops.SelectorWidth))))
    for limit, store in ((short, seen.values_short), (2 * short, seen.values_long)):
        inputs, _ = program.run_accepted(sample_inputs(vocab, range(1, limit + 1), per_length, distinct, rng),
                                         causal)
        rows = program.run_arrays(inputs, sops_nodes, causal)
        for node, per_input in zip(sops_nodes, rows):
            store[node] = {v for row in per_input for v in np.asarray(row).tolist()}
        if limit == 2 * short and inputs:
            widths = program.run_arrays(inputs, [a.selector for a in aggregates], causal)
            for node, per_input in zip(aggregates, widths):
                seen.widest[node] = max(int(np.count_nonzero(m, axis=-1).max(initial=0)) for m in per_input)
            if causal:
                # A causal program's selectors are all masked, so selecting later keys unmasked is
                # normal; it is a mistake when the mask leaves the selector nothing at all.
                free = program.run_arrays(inputs, selectors, causal=False)
                masked = program.run_arrays(inputs, selectors, causal=True)
                for node, unmasked, kept in zip(selectors, free, masked):
                    if any(np.triu(m, k=1).any() for m in unmasked) and not any(m.any() for m in kept):
                        seen.looks_ahead.add(node)
    return seen


def growing(seen: Observed, node: Any) -> bool:
    short, long = len(seen.values_short.get(node, ())), len(seen.values_long.get(node, ()))
    return long >= short + 2 and long > 1.25 * short


# ---- the rules ----------------------------------------------------------------------------


def _sop_args(node: sops.Map) -> list[sops.SOp]:
    return [a for a in node.args if isinstance(a, sops.SOp)]


def _is_offset(node: sops.Map) -> bool:
    return node.op in ("+", "-") and len(_sop_args(node)) == 1


def _is_linear(node: sops.Map) -> bool:
    if node.op in LINEAR and (node.op in ("neg", "pos") or len(_sop_args(node)) <= 2):
        return True
    return node.op in ("*", "/") and len(_sop_args(node)) == 1


def find(program: Program, graph: nx.DiGraph, seen: Observed, causal: bool) -> list[Finding]:
    findings: list[Finding] = []
    index_valued: set[int] = set()
    mean_valued: set[int] = set()

    def add(rule: str, node: sops.Value, message: str) -> None:
        span = node.span
        source = span.source.line(span.line).strip() if span else ""
        findings.append(Finding(rule, message, span.line if span else None, span.col if span else None,
                                describe(node), source))

    for node in nx.topological_sort(graph):
        if isinstance(node, (sops.Indices, sops.Length, sops.SelectorWidth)):
            index_valued.add(id(node))
        elif isinstance(node, sops.Aggregate):
            if id(node.values) in index_valued:
                index_valued.add(id(node))
            several = seen.widest.get(node, 0) > 1
            if node.reduce == "mean" and several:
                mean_valued.add(id(node))
            elif node.reduce == "mean" and growing(seen, node.values) and id(node.values) not in mean_valued:
                add("growing-categorical", node,
                    f"copies '{describe(node.values)}', whose values grow with the input length "
                    f"({len(seen.values_short.get(node.values, ()))} kinds at lengths up to 8, "
                    f"{len(seen.values_long.get(node.values, ()))} up to 16)")
            if node.reduce != "mean":
                add("max-min-compile", node, f"aggregate_{node.reduce} runs in the interpreter and in RASP-L, "
                                             "but cannot be compiled to weights")
        elif isinstance(node, sops.Map):
            args = _sop_args(node)
            tainted = [a for a in args if id(a) in index_valued]
            if tainted and node.op not in sops.COMPARISONS:
                index_valued.add(id(node))
                if not _is_offset(node):
                    add("index-arithmetic", node,
                        f"'{node.op}' computes with the index-valued "
                        f"{', '.join(repr(describe(a)) for a in tainted)}; only comparing them in a "
                        "selector, or adding a constant, carries over to longer inputs")
            means = [a for a in args if id(a) in mean_valued]
            if means:
                if _is_linear(node):
                    mean_valued.add(id(node))
                else:
                    add("mean-precision", node,
                        f"'{node.op}' of the mean {', '.join(repr(describe(a)) for a in means)}: telling its "
                        "values apart needs precision that grows with the input length")
        elif isinstance(node, sops.Selector) and node in seen.looks_ahead:
            add("non-causal-selector", node, "selects only keys after the query; an autoregressive model "
                                             "cannot see them (the causal mask leaves it nothing)")
    output = graph.graph["output"]
    if growing(seen, output) and id(output) not in mean_valued:
        add("growing-categorical", output,
            f"the output takes more values on longer inputs ({len(seen.values_short.get(output, ()))} kinds "
            f"at lengths up to 8, {len(seen.values_long.get(output, ()))} up to 16): a model trained on short "
            "inputs never produced the new ones")
    findings.sort(key=lambda f: (f.line or 0, f.col or 0, f.rule))
    return findings


# ---- size and growth -----------------------------------------------------------------------


def measure_growth(program: Program, vocab: list[Any], causal: bool, lengths: tuple[int, ...]
                   ) -> tuple[Growth, ModelMeta | None]:
    """Compile (without verification) at each maximum length; fit width and parameters ~ n^slope.
    Also returns the metadata of the first model compiled (its layout places the graph's nodes)."""
    from compiler import CompileError, compile_program

    rows: list[GrowthRow] = []
    first: ModelMeta | None = None
    for n in lengths:
        try:
            result = compile_program(program, vocab, n, causal=causal, verify=False)
        except CompileError as e:
            if len(rows) < 2:
                return Growth(available=False, reason=f"at max length {n}: {e.message}",
                              lengths=list(lengths), compiled=rows), first
            stopped = f"stopped at max length {n}: {e.message}"
            break
        model = result.model
        rows.append(GrowthRow(max_len=n, residual_width=model.meta.layout.residual_width,
                              parameters=model.parameter_count(), layers=model.num_layers,
                              heads=sum(model.meta.layout.heads_per_layer)))
        first = first or model.meta
    else:
        stopped = None
    logs = np.log([r["max_len"] for r in rows])
    fit = lambda key: float(np.polyfit(logs, np.log([r[key] for r in rows]), 1)[0]) if len(rows) > 1 else 0.0
    return Growth(available=True, lengths=[r["max_len"] for r in rows], compiled=rows,
                  residual_width_exponent=round(fit("residual_width"), 3),
                  parameters_exponent=round(fit("parameters"), 3), stopped=stopped), first


def analyze(program: Program, vocab: list[Any] | None = None, causal: bool | None = None,
            lengths: tuple[int, ...] = (8, 16, 32), growth: bool = True) -> Analysis:
    causal = program.causal if causal is None else causal
    graph = program_graph(program.output)
    vocab = list(vocab) if vocab else sample_vocab(graph)
    seen = observe(program, graph, vocab, causal)
    findings = find(program, graph, seen, causal)
    counted = counts(graph)
    size = Size(**counted, operations=counted["selects"] + counted["aggregates"] + counted["selector_widths"]
                + counted["maps"])
    grown, layout = (measure_growth(program, vocab, causal, lengths) if growth
                     else (Growth(available=False, reason="not measured"), None))
    if grown.get("compiled"):
        first = grown["compiled"][0]
        size.update(layers=first["layers"], heads=first["heads"])
    if layout is not None:
        attach_layout(graph, layout)
    grown["growing_sops"] = sorted({describe(n) for n in graph if isinstance(n, sops.SOp) and growing(seen, n)})
    factors = {rule: RULES[rule].weight ** sum(1 for f in findings if f.rule == rule) for rule in RULES}
    factors["description_length"] = math.exp(-max(0, size["operations"] - FREE_OPERATIONS) / FREE_OPERATIONS)
    excess = max(0.0, grown.get("residual_width_exponent", 1.0) - 1.0) if grown.get("available") else 0.0
    factors["growth"] = math.exp(-excess)
    score = float(np.prod(list(factors.values())))
    return Analysis(score, score >= THRESHOLD, findings, size, grown, {k: round(v, 4) for k, v in factors.items()},
                    vocab, causal, graph)
