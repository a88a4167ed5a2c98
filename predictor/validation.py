"""How well the analysis agrees with known outcomes: agreement, balanced accuracy, AUC and Brier
score, with bootstrap intervals over tasks, beside the trivial predictors (always yes, always no)
and C-RASP membership alone.

The outcomes are the published ones (`predictor.anchors.OUTCOMES`, Huang et al.'s formal languages
in bench/programs/languages) or those an experiment measured (its results.json). The analysis's
probability (`predictor.probability`) is fitted on the **training suite** (the formal languages)
and scored on the **held-out** tasks (the experiment suite's tasks, published and measured), which
the fit never sees; on the training suite itself the honest figure is leave-one-out (each task's
probability from a model fitted without it). docs/analysis.md shows the tables and the command.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from predictor import probability as fitted
from predictor.probability import Features, Model
from predictor.stats import wilson

BOOTSTRAP = 2000  # resamples of the tasks


@dataclass(frozen=True)
class Case:
    """One task with a known outcome, and what each predictor said."""

    task: str
    generalizes: bool  # the outcome
    source: str  # where the outcome comes from
    verdict: str  # the analysis's yes / no / unknown
    probability: float  # the analysis's (the shipped model's)
    member: bool  # C-RASP membership of the program
    features: Features | None = None  # the probability model's inputs


@dataclass(frozen=True)
class Score:
    """One predictor's agreement with the outcomes; intervals are 95%."""

    predictor: str
    agree: int
    n: int
    agreement_interval: tuple[float, float]  # Wilson
    balanced_accuracy: float
    balanced_accuracy_interval: tuple[float, float]  # bootstrap over tasks
    auc: float
    auc_interval: tuple[float, float]
    brier: float
    brier_interval: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def balanced_accuracy(said: list[bool], truth: list[bool]) -> float:
    """The mean of the rates of right answers on the positives and on the negatives (0.5 for a
    predictor that always says one thing); a class with no cases counts as 0.5."""
    rates = []
    for label in (True, False):
        cases = [s == t for s, t in zip(said, truth) if t is label]
        rates.append(sum(cases) / len(cases) if cases else 0.5)
    return sum(rates) / 2


def auc(probabilities: list[float], truth: list[bool]) -> float:
    """The chance that a random positive gets a higher probability than a random negative (ties
    count half): the Mann-Whitney form of the area under the ROC curve; 0.5 without both classes."""
    positives = [p for p, t in zip(probabilities, truth) if t]
    negatives = [p for p, t in zip(probabilities, truth) if not t]
    if not positives or not negatives:
        return 0.5
    wins = sum((p > q) + 0.5 * (p == q) for p in positives for q in negatives)
    return wins / (len(positives) * len(negatives))


def brier(probabilities: list[float], truth: list[bool]) -> float:
    return sum((p - t) ** 2 for p, t in zip(probabilities, truth)) / len(truth)


def interval(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[int(0.025 * len(ordered))], ordered[min(len(ordered) - 1, int(0.975 * len(ordered)))]


def score(name: str, cases: list[Case], said: Callable[[Case], bool], probability: Callable[[Case], float],
          seed: int = 0) -> Score:
    truth = [c.generalizes for c in cases]
    says = [said(c) for c in cases]
    probs = [probability(c) for c in cases]
    agree = sum(s == t for s, t in zip(says, truth))
    rng = random.Random(seed)
    boot: dict[str, list[float]] = {"bacc": [], "auc": [], "brier": []}
    for _ in range(BOOTSTRAP):
        pick = [rng.randrange(len(cases)) for _ in cases]
        t, s, p = [truth[i] for i in pick], [says[i] for i in pick], [probs[i] for i in pick]
        boot["bacc"].append(balanced_accuracy(s, t))
        boot["auc"].append(auc(p, t))
        boot["brier"].append(brier(p, t))
    return Score(name, agree, len(cases), wilson(agree, len(cases)), balanced_accuracy(says, truth),
                 interval(boot["bacc"]), auc(probs, truth), interval(boot["auc"]), brier(probs, truth),
                 interval(boot["brier"]))


def scores(cases: list[Case]) -> list[Score]:
    """The analysis beside C-RASP alone, always yes and always no."""
    return [
        score("analysis (yes = generalizes)", cases, lambda c: c.verdict == "yes", lambda c: c.probability),
        score("C-RASP membership alone", cases, lambda c: c.member, lambda c: float(c.member)),
        score("always yes", cases, lambda c: True, lambda c: 1.0),
        score("always no", cases, lambda c: False, lambda c: 0.0),
    ]


def table(cases: list[Case], rows: list[Score]) -> str:
    """Both tables as markdown: the cases, then the scores."""
    out = ["| task | outcome | source | verdict | probability | in C-RASP |", "|---|---|---|---|---|---|"]
    for c in cases:
        out.append(f"| {c.task} | {'generalizes' if c.generalizes else 'does not'} | {c.source} | {c.verdict} "
                   f"| {c.probability:.2f} | {'yes' if c.member else 'no'} |")
    out += ["", "| predictor | agreement | 95% (Wilson) | balanced accuracy | AUC | Brier |", "|---|---|---|---|---|---|"]
    for s in rows:
        out.append(f"| {s.predictor} | {s.agree} of {s.n} | {s.agreement_interval[0]:.2f}-{s.agreement_interval[1]:.2f} "
                   f"| {s.balanced_accuracy:.2f} ({s.balanced_accuracy_interval[0]:.2f}-"
                   f"{s.balanced_accuracy_interval[1]:.2f}) | {s.auc:.2f} ({s.auc_interval[0]:.2f}-"
                   f"{s.auc_interval[1]:.2f}) | {s.brier:.3f} ({s.brier_interval[0]:.3f}-{s.brier_interval[1]:.3f}) |")
    return "\n".join(out)


def task_case(name: str, generalizes: bool, source: str, protocol: Any, pe: str | None = None) -> Case:
    """A suite task with a known outcome, analysed as an experiment analyses it: its program as the
    task runs it, its tokens, the protocol's setting (`predictor.experiment.prediction`'s inputs)."""
    from predictor.analysis import Setting, analyze
    from predictor.protocols import apply
    from predictor.tasks import find_task

    task = apply(protocol, find_task(name))
    program = task.build()  # (not `load`: its probe runs the interpreter, seconds a task)
    result = analyze(program, task.tokens, causal=program.causal, setting=Setting.of(protocol, task.train_lengths, pe))
    return Case(name, generalizes, source, str(result.verdict), result.probability, result.crasp.member,
                result.features)


def literature_cases(protocol_name: str = "paper") -> list[Case]:
    """The suite's tasks with a published outcome, analysed under a protocol's setting."""
    from predictor.anchors import OUTCOMES
    from predictor.protocols import protocol

    chosen = protocol(protocol_name)
    return [task_case(name, outcome.generalizes, f"{outcome.citation.partition(':')[0]}: {outcome.what}", chosen)
            for name, outcome in OUTCOMES.items()]


def file_cases(path: str, root: str = ".") -> list[Case]:
    """Tasks with a published outcome listed in a JSON file: a list of objects with `name`,
    `program` (a .rasp path, relative to `root`), `vocab`, `generalizes`, `citation` and
    `evidence`; analysed under learned positions with offsets (the papers' setting)."""
    import json
    from pathlib import Path

    from predictor.analysis import Setting, analyze
    from rasp.language.program import load_program

    cases = []
    for item in json.loads(Path(path).read_text()):
        program = load_program(str(Path(root) / item["program"]))
        result = analyze(program, item["vocab"], setting=Setting(None, "learned", True, (1, 100)))
        cases.append(Case(item["name"], bool(item["generalizes"]), item.get("citation", ""), str(result.verdict),
                          result.probability, result.crasp.member, result.features))
    return cases


def measured_cases(path: str) -> list[Case]:
    """The tasks inside the conjecture that an experiment judged (its results.json), with the
    measured outcome (generalized: enough fitted seeds reached the EM threshold in the first held-out
    bin), analysed under the experiment's protocol and training lengths."""
    import json
    from pathlib import Path

    from predictor.protocols import protocol

    result = json.loads(Path(path).read_text())
    chosen = protocol(result["settings"]["protocol"]["name"])
    return [task_case(row["task"], bool(row["generalized"]), f"measured: {chosen.name}, {row['fitted_seeds']} "
                      "fitted seeds", chosen, row["pe"])
            for row in result["summary"] if row["in_conjecture"] and row["judged"]]


def rows(cases: list[Case]) -> list[fitted.Row]:
    return [(c.task, c.features, c.generalizes) for c in cases]


def refit(training: list[Case], source: str, scored: list | None = None) -> Model:
    """The probability model chosen and fitted on these cases (`predictor.probability.select`)."""
    return fitted.select(rows(training), source, scored)


def leave_one_out(training: list[Case], model: Model) -> list[Case]:
    """Each case with the probability of the model's feature set and penalty fitted on all the
    other cases (the choice of feature set and penalty itself saw every training case)."""
    out = []
    for k, case in enumerate(training):
        alone = fitted.fit(rows(training[:k] + training[k + 1:]), model.source, model.features, model.penalty)
        out.append(Case(case.task, case.generalizes, case.source, case.verdict,
                        round(alone.probability(case.features), 4), case.member, case.features))
    return out
