"""The statistics of an experiment: seeds are the unit, and every rate comes with its interval.

A seed *generalizes* in a held-out bin when its EM there is at least GENERALIZED. A task and
positional encoding is *judged* when at least half its seeds fitted the train lengths; its outcome
is then whether most fitted seeds generalize in the first bin, and the prediction *held* when the
analysis's verdict equals that outcome. Rates are given with Wilson score intervals, which stay
inside [0, 1] and behave at 0 of n and n of n, where the normal approximation does not.

JSON turns integer keys (lengths, offsets) into strings; every reader here accepts both.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Iterable, Mapping, TypeVar

from predictor.anchors import anchor_for, published
from predictor.records import Agreement, BinSummary, Failures, RunRecord, SummaryRow, TaskRecord

GENERALIZED = 0.9  # a seed generalizes in a bin when its EM there is at least this
V = TypeVar("V")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (z = 1.96: 95%); (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def mean(values: Iterable[float]) -> float:
    """The mean, 0.0 for no values."""
    values = list(values)
    return float(statistics.fmean(values)) if values else 0.0


def sd(values: Iterable[float]) -> float:
    """The sample standard deviation, 0.0 for fewer than two values."""
    values = list(values)
    return float(statistics.stdev(values)) if len(values) > 1 else 0.0


def int_keys(mapping: Mapping[int | str, V] | None) -> dict[int, V]:
    """A dict keyed by length or offset with int keys, whether or not it went through JSON."""
    return {int(k): v for k, v in (mapping or {}).items()}


def bin_em(run: RunRecord, lengths: list[int]) -> float | None:
    """The run's EM in the bin with these [first, last] lengths (None: the run has no such bin)."""
    for b in run["bins"]:
        if list(b["lengths"]) == list(lengths):
            return b["em"]
    return None


def compiled_bin_em(task: TaskRecord, lengths: list[int]) -> float | None:
    """The compiled model's mean EM over the bin's lengths that it was scored at (None: none)."""
    scores = int_keys(task["compiled"].get("em_by_length"))
    values = [scores[n] for n in range(lengths[0], lengths[1] + 1) if n in scores]
    return mean(values) if values else None


def summarize_bin(task: TaskRecord, runs: list[RunRecord], lengths: list[int]) -> BinSummary:
    """One held-out bin over the seeds of one task and encoding (see BinSummary)."""
    fitted = [r for r in runs if r["fitted"]]
    ems = [e for e in (bin_em(r, lengths) for r in (fitted or runs)) if e is not None]
    generalized = sum(1 for r in fitted if (bin_em(r, lengths) or 0.0) >= GENERALIZED)
    return BinSummary(
        lengths=list(lengths), em_mean=mean(ems), em_sd=sd(ems),
        generalized_seeds=generalized, fitted_seeds=len(fitted),
        fraction=generalized / len(fitted) if fitted else None,
        interval=list(wilson(generalized, len(fitted))) if fitted else None,
        compiled_em=compiled_bin_em(task, lengths),
        anchor=published(task["task"]["name"], (lengths[0], lengths[1])),
    )


def summarize_row(task: TaskRecord, runs: list[RunRecord], pe: str) -> SummaryRow:
    """One task and encoding over its seeds: fit rate, EM per bin, outcome, and whether the
    prediction held (also computed for tasks outside the conjecture, which `agreement` leaves out)."""
    name = task["task"]["name"]
    seeds, fitted = len(runs), sum(1 for r in runs if r["fitted"])
    bins = [summarize_bin(task, runs, b["lengths"]) for b in (runs[0]["bins"] if runs else [])]
    judged = seeds > 0 and fitted * 2 >= seeds
    generalized = None
    if judged and bins and bins[0]["fraction"] is not None:
        generalized = bins[0]["fraction"] >= 0.5
    anchor = anchor_for(name)
    return SummaryRow(
        task=name, pe=pe, in_conjecture=task["in_conjecture"], score=task["score"],
        predicted=task["predicted"], verdict=task.get("verdict") or ("yes" if task["predicted"] else "no"),
        seeds=seeds, fitted_seeds=fitted,
        fit_rate=fitted / seeds if seeds else 0.0, fit_interval=list(wilson(fitted, seeds)),
        steps_mean=mean(r["steps"] for r in runs),
        train_em_mean=mean(r["train_em"] for r in runs), train_em_sd=sd(r["train_em"] for r in runs),
        bins=bins, compiled_error=task["compiled"].get("error"),
        generalized=generalized, judged=judged,
        held=(task["predicted"] == generalized) if generalized is not None else None,
        anchor=anchor.citation if anchor is not None and anchor.bins else None,
    )


def summarize(tasks: list[TaskRecord], runs: list[RunRecord], pes: list[str]) -> list[SummaryRow]:
    """One row per task and encoding, in the order of `tasks` then `pes`."""
    rows = []
    for task in tasks:
        name = task["task"]["name"]
        for pe in pes:
            rows.append(summarize_row(task, [r for r in runs if r["task"] == name and r["pe"] == pe], pe))
    return rows


def agreement(rows: list[SummaryRow], pe: str) -> Agreement:
    """The prediction against the outcomes on the rows of one encoding, tasks inside the
    conjecture only (each once), beside the answers "always generalizes" and "never does"."""
    inside, outside, seen = [], [], set()
    for row in rows:
        if row["pe"] != pe or row["task"] in seen:
            continue
        seen.add(row["task"])
        (inside if row["in_conjecture"] else outside).append(row)
    judged = [r for r in inside if r["held"] is not None]
    held = sum(1 for r in judged if r["held"])
    return Agreement(
        pe=pe, judged=len(judged), held=held,
        rate=held / len(judged) if judged else None,
        interval=list(wilson(held, len(judged))) if judged else None,
        always_yes=sum(1 for r in judged if r["generalized"]),
        always_no=sum(1 for r in judged if not r["generalized"]),
        not_judged=[r["task"] for r in inside if r["held"] is None],
        outside=[r["task"] for r in outside],
    )


def combine_failures(failures: Iterable[Failures]) -> Failures:
    """Several lengths' (or seeds') error signatures as one: counts added, the first-wrong mean
    weighted by the wrong examples behind it. Keys may be ints or strings (after JSON)."""
    total = Failures(examples=0, wrong=0, first_wrong_mean=None, first_wrong={}, ended_early=0,
                     ended_late=0, wrong_token=0, source_offsets={})
    first_wrong: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    weighted, weight = 0.0, 0
    for f in failures:
        for key in ("examples", "wrong", "ended_early", "ended_late", "wrong_token"):
            total[key] += f[key]
        if f["first_wrong_mean"] is not None:
            weighted += f["first_wrong_mean"] * f["wrong"]
            weight += f["wrong"]
        first_wrong.update(int_keys(f["first_wrong"]))
        offsets.update(int_keys(f["source_offsets"]))
    total["first_wrong_mean"] = weighted / weight if weight else None
    total["first_wrong"] = dict(sorted(first_wrong.items()))
    total["source_offsets"] = dict(offsets.most_common())
    return total


def top_offsets(failures: Failures, k: int = 3) -> list[tuple[int, int]]:
    """The k most common source offsets of wrong tokens, as (offset, count), most common first."""
    return Counter(int_keys(failures["source_offsets"])).most_common(k)
