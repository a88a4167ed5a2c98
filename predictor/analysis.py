"""`rasp analyze`: will a Transformer trained on short inputs of this task work on longer ones?

The answer is made of facts that do not depend on how the program happens to be phrased or on
random samples (docs/analysis.md):

- **Expressibility** (`predictor.crasp`): whether the program lies in C-RASP[periodic, local]
  (Huang et al., ICLR 2025), with the witness or every escape at its source position.
- **Value sets** (`predictor.valuesets`): computed over the vocabulary at a length and at twice
  it; the s-ops whose values grow.
- **Minimality and diversity** (`predictor.search`, when a search size is given): the shortest
  equivalent program found (if it is in the fragment, the task is), and the shortest program that
  fits the training lengths but differs beyond them (Zhou et al.'s diversity condition).
- **Realizability** (given by the caller, from `rasp check`'s search): the program against a
  reference at longer lengths.
- **The setting** the prediction is for: positional encoding, offsets, training lengths.

The verdict is `yes` (a witness in the fragment, under learned positions with offsets, and no
shortcut found at the training lengths), `no` (something proves failure: the program is wrong at
longer lengths, its outputs grow with the length, or the positions past the training lengths are
never trained), or `unknown`. It never looks at a program's name or file name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Callable

from predictor import crasp, probability, valuesets
from predictor.crasp import CRasp, Escape
from predictor.graph import counts, program_graph
from predictor.search_inputs import TaskInputs
from rasp.language import notebook, sops
from rasp.language.inputs import sample_vocab
from rasp.language.program import Program
from rasp.language.values import plural

GROWTH_LENGTH = 8  # value sets are computed at this length and at twice it


class Verdict(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"




@dataclass(frozen=True)
class Setting:
    """The training setting a prediction is for (a protocol's, or a user's)."""

    protocol: str | None
    pe: str
    offsets: bool
    train_lengths: tuple[int, int]

    @classmethod
    def of(cls, protocol: Any, train_lengths: tuple[int, int] | None = None, pe: str | None = None) -> Setting:
        """A protocol's setting (`predictor.protocols.Protocol`), with these lengths or encoding."""
        return cls(protocol.name, pe or str(protocol.pe), protocol.offsets,
                   tuple(train_lengths or protocol.train_lengths))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.protocol, "pe": self.pe, "offsets": self.offsets,
                "train_lengths": list(self.train_lengths)}


@dataclass(frozen=True)
class Realizable:
    """The program against a reference up to `max_len` (4x the longest training length)."""

    ok: bool
    counterexample: dict[str, Any] | None
    max_len: int
    tried: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Finding:
    rule: str
    message: str
    line: int | None
    col: int | None
    name: str
    source: str = ""


@dataclass
class Analysis:
    verdict: Verdict
    probability: float
    reasons: list[str]
    crasp: CRasp
    findings: list[Finding]
    growing: list[valuesets.Growth]
    setting: Setting
    vocab: list[Any]
    causal: bool
    size: dict[str, int]
    features: probability.Features
    minimal: dict[str, Any] | None = None
    diversity: dict[str, Any] | None = None
    realizable: Realizable | None = None
    graph: Any = field(default=None, repr=False)

    @property
    def generalizes(self) -> bool:
        return self.verdict is Verdict.YES

    def __repr__(self) -> str:
        """The verdict, its probability, the reasons and the constructs outside the fragment."""
        lines = [f"Analysis: {self.verdict} (probability {self.probability:.2f})"]
        lines += [f"  - {reason}" for reason in self.reasons]
        lines += [f"  line {f.line}, col {f.col}: [{f.rule}] {f.message}" for f in self.findings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = notebook.paragraph(f"will it length-generalize? {self.verdict} (probability {self.probability:.2f})")
        escapes = "" if not self.findings else notebook.table(
            ["line", "col", "rule", "name", "message"],
            [[f.line or "", f.col or "", f.rule, f.name, f.message] for f in self.findings],
            caption=f"{plural(len(self.findings), 'construct')} outside C-RASP[periodic, local]")
        return notebook.Html("<div>" + head + notebook.items(self.reasons) + escapes + "</div>")

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": str(self.verdict), "probability": self.probability, "generalizes": self.generalizes,
                "reasons": self.reasons, "crasp": self.crasp.as_dict(),
                "findings": [asdict(f) for f in self.findings],
                "growing": [g.as_dict() for g in self.growing],
                "minimal": self.minimal, "diversity": self.diversity,
                "realizable": self.realizable.as_dict() if self.realizable else None,
                "protocol": self.setting.as_dict(), "vocab": self.vocab, "causal": self.causal,
                "size": self.size, "features": asdict(self.features)}


def findings_of(escapes: list[crasp.EscapeFinding]) -> list[Finding]:
    return [Finding(str(e.kind), e.message, e.line, e.col, e.name, e.source) for e in escapes]


def decide(member: bool, escapes: list[crasp.EscapeFinding], setting: Setting, ambiguous: bool,
           realizable: Realizable | None, witness_member: bool) -> tuple[Verdict, list[str]]:
    """The verdict and the reasons, in the order they decide."""
    if realizable is not None and not realizable.ok:
        return Verdict.NO, [f"the program is wrong at longer inputs (checked up to length "
                                  f"{realizable.max_len}): {realizable.counterexample}"]
    if setting.pe == "learned" and not setting.offsets:
        return Verdict.NO, ["learned positions without offsets: the position rows past the longest "
                                  "training row are never trained, so no model can extrapolate"]
    growing_output = [e for e in escapes if e.kind is Escape.GROWING_OUTPUT]
    if growing_output:
        return Verdict.NO, ["the output takes more values on longer inputs: a model trained on short "
                                  "inputs never produced the new ones"]
    if not (member or witness_member):
        kinds = sorted({str(e.kind) for e in escapes})
        return Verdict.UNKNOWN, [
            f"no C-RASP[periodic, local] program found for the task (escapes: {', '.join(kinds)}); "
            "an escape in this program does not prove the task is outside"]
    how = "the program is" if member else "an equivalent program found by the search is"
    reasons = [f"{how} in C-RASP[periodic, local] (Huang et al., ICLR 2025)"]
    if setting.pe != "learned":
        return Verdict.UNKNOWN, reasons + [
            f"the fragment's guarantee is for learned absolute positions; this setting uses {setting.pe}"]
    if ambiguous:
        return Verdict.UNKNOWN, reasons + [
            f"a shorter program fits every input at lengths {setting.train_lengths[0]}-"
            f"{setting.train_lengths[1]} but differs beyond: the training data do not rule it out "
            "(Zhou et al., ICLR 2024)"]
    return Verdict.YES, reasons


def analyze(program: Program, vocab: list[Any] | None = None, causal: bool | None = None,
            setting: Setting | None = None, search_size: int = 0, time_limit: float = 10.0,
            realizable: Realizable | None = None, say: Callable[[str], None] | None = None,
            domain: TaskInputs | None = None) -> Analysis:
    """The analysis of `program` for a setting (default: learned positions with offsets, training
    lengths 1-30). `search_size` > 0 runs the minimality and diversity searches up to that many
    operations, each within `time_limit` seconds, on inputs drawn from `domain` when given (a
    task's, `predictor.tasks.inputs_of`), else on every input over the vocabulary."""
    causal = program.causal if causal is None else causal
    setting = setting or Setting(None, "learned", True, (1, 30))
    output = program.output
    graph = program_graph(output)
    vocab = list(vocab) if vocab else sample_vocab(sops.walk([output]))
    short = valuesets.value_sets(output, vocab, GROWTH_LENGTH)
    checked = crasp.check(output, vocab, causal=causal, distinct=program.tree.distinct, sets=short)
    for node, data in graph.nodes(data=True):
        data["sort"] = checked.by_node.get(id(node))
    growing = valuesets.growth(output, short, valuesets.value_sets(output, vocab, 2 * GROWTH_LENGTH),
                               {id(node): sops.display_name(node) for node in sops.walk([output])})
    counted = counts(graph)
    size = {**counted, "operations": counted["selects"] + counted["aggregates"] + counted["selector_widths"]
            + counted["maps"] + counted["selector_combinations"],
            "attention_layers": probability.attention_layers(graph)}
    minimal = diversity = None
    witness_member, ambiguous = False, False
    if search_size > 0:
        minimal, diversity, witness_member = searched(program, vocab, setting, search_size, time_limit, say,
                                                      causal, domain)
        ambiguous = bool(diversity and diversity.get("ambiguous"))
    verdict, reasons = decide(checked.member, checked.escapes, setting, ambiguous, realizable, witness_member)
    features = probability.Features(int(checked.member or witness_member), size["attention_layers"])
    # a "no" is a proof that this program fails in this setting, not an estimate
    chance = 0.0 if verdict is Verdict.NO else round(probability.MODEL.probability(features), 4)
    return Analysis(verdict, chance, reasons, checked, findings_of(checked.escapes), growing, setting, vocab,
                    causal, size, features, minimal, diversity, realizable, graph)


def searched(program: Program, vocab: list[Any], setting: Setting, size: int, time_limit: float,
             say: Callable[[str], None] | None, causal: bool, domain: TaskInputs | None = None) -> tuple[dict, dict, bool]:
    """The minimality and diversity searches, and whether the minimal witness is in the fragment."""
    from predictor import search
    from rasp.language.program import from_text

    minimal = search.minimal(program, vocab, max_size=size, time_limit=time_limit, progress=say, domain=domain)
    witness_member = False
    if minimal.witness is not None:
        witness = from_text(minimal.witness)
        witness_member = crasp.check(witness.output, vocab, causal=causal, distinct=program.tree.distinct,
                                     length=GROWTH_LENGTH).member
    lo, hi = setting.train_lengths
    bound = size if minimal.witness_size is None else min(size, minimal.witness_size)
    diversity = search.diversity(program, vocab, (lo, hi), 2 * hi, max_size=bound, time_limit=time_limit,
                                 progress=say, domain=domain)
    return minimal.as_dict(), diversity.as_dict(), witness_member
