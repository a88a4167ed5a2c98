"""The conjecture experiment: for each task, the analysis's prediction, then models trained on
short inputs and tested on longer ones, with the compiled model beside them.

`train_and_evaluate` is one run (what `rasp train` prints); `run_suite` is tasks x positional
encodings x seeds (what `rasp experiment` writes up, through `predictor.results`).
"""

from __future__ import annotations

import random
import statistics
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from predictor import transformer
from predictor.data import Encoding, padded, row_length
from predictor.evaluate import evaluate_compiled, evaluate_learned, evaluation_sets
from predictor.records import RunRecord, SuiteResult, SuiteSettings, SummaryRow, TaskRecord
from predictor.tasks import Task, make_examples
from predictor.train import TrainConfig, refuse_if_too_large, run_name, train
from rasp.language.program import Program

GENERALIZED = 0.5  # mean held-out EM at or above which a task counts as length-generalized
FITTED = 0.9  # mean train-length EM below which a run did not learn the task at all


def model_for(task: Task, program: Program, encoding: Encoding, pe: str) -> transformer.ModelConfig:
    """The learned model's settings: causal attention unless a per-position task's program
    reads the whole input."""
    causal = program.causal or encoding.autoregressive
    return transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len,
                                   causal=causal, pe=pe)


def check_size(task: Task, program: Program, batch_size: int, pe: str) -> None:
    """Refuse a task too large for this machine from two examples at the longest held-out
    length, before the many examples the encoding and evaluation need are made."""
    sample = make_examples(task, program, task.heldout_lengths[1], 2, random.Random(0))
    longest = padded(max(row_length(e, task.autoregressive) for e in sample) + 8)
    refuse_if_too_large(transformer.ModelConfig(64, 64, longest, pe=pe), batch_size)


def train_and_evaluate(task: Task, program: Program, pe: str, config: TrainConfig, runs_dir: Path | None,
                       eval_per_length: int = 100, progress: bool = True,
                       sets: dict | None = None, compiled: dict | None | bool = True,
                       encoding: Encoding | None = None) -> RunRecord:
    """Train one model and score it at every length; `compiled=True` also compiles the program
    and scores it on the same inputs (pass an earlier result to reuse it, False to skip).
    `sets` and `encoding`, when given, are reused rather than made again."""
    check_size(task, program, config.batch_size, pe)
    encoding = encoding or Encoding.for_task(task, program)
    model = model_for(task, program, encoding, pe)
    run_dir = None
    if runs_dir is not None:
        run_dir = runs_dir / run_name(task, model, config, program.digest)
    trained = train(task, program, model, config, run_dir, progress, encoding)
    sets = sets or evaluation_sets(task, program, eval_per_length)
    scores = evaluate_learned(trained.params, trained.apply, encoding, sets)
    if compiled is True:
        compiled = evaluate_compiled(task, program, sets)
    train_lengths = list(range(task.train_lengths[0], task.train_lengths[1] + 1))
    heldout_lengths = list(range(task.heldout_lengths[0], task.heldout_lengths[1] + 1))
    em = {n: s["em"] for n, s in scores.items()}
    compiled_em = compiled.get("em_by_length") if isinstance(compiled, dict) else None
    return RunRecord(**{
        "task": task.name, "program": program.display_name, "output": program.output_name,
        "framing": task.framing, "pe": pe, "seed": config.seed, "steps": config.steps,
        "train_lengths": train_lengths, "heldout_lengths": heldout_lengths,
        "em_by_length": em,
        "token_accuracy_by_length": {n: s["token_accuracy"] for n, s in scores.items()},
        "train_em": mean(em[n] for n in train_lengths),
        "heldout_em": mean(em[n] for n in heldout_lengths),
        "compiled_em_by_length": compiled_em,
        "compiled": None if not isinstance(compiled, dict) else {k: v for k, v in compiled.items() if k != "em_by_length"},
        "eval_examples_per_length": len(next(iter(sets.values()))),
        "final_loss": trained.losses[-1] if trained.losses else None,
        "resumed_from": trained.resumed_from,
        "train_seconds": round(trained.seconds, 1),
        "parameters": transformer.parameter_count(trained.params),
        "model": model.as_dict(), "train": asdict(config), "task_settings": task.as_dict(),
        "run_dir": str(run_dir) if run_dir else None,
    })


def mean(values: Any) -> float:
    values = list(values)
    return float(statistics.fmean(values)) if values else 0.0


def sd(values: list[float]) -> float:
    return float(statistics.stdev(values)) if len(values) > 1 else 0.0


def run_suite(tasks: list[Task], seeds: list[int], pes: list[str], config: TrainConfig, out_dir: Path,
              eval_per_length: int = 100, progress: bool = True,
              say: Callable[[str], None] = lambda _: None) -> SuiteResult:
    """Every task x encoding x seed; returns what `predictor.results.write` writes."""
    from predictor.analysis import analyze

    programs = {t.name: t.load() for t in tasks}  # every task's settings checked before any training
    for task in tasks:
        for pe in pes:
            check_size(task, programs[task.name], config.batch_size, pe)
    runs: list[RunRecord] = []
    tasks_out: list[TaskRecord] = []
    total, done = len(tasks) * len(pes) * len(seeds), 0
    for task in tasks:
        program = programs[task.name]
        say(f"[bold]{task.name}[/bold]: analysis, evaluation inputs, compiled model")
        analysis = analyze(program, causal=program.causal)
        sets = evaluation_sets(task, program, eval_per_length)
        compiled = evaluate_compiled(task, program, sets)
        encoding = Encoding.for_task(task, program)
        tasks_out.append(TaskRecord(task=task.as_dict(), score=analysis.score, predicted=analysis.generalizes,
                                    findings=[f.rule for f in analysis.findings], compiled=compiled))
        for pe in pes:
            for seed in seeds:
                done += 1
                say(f"run {done}/{total}: {task.name}, {pe}, seed {seed}")
                run = train_and_evaluate(task, program, pe, replace(config, seed=seed), out_dir / "runs",
                                         eval_per_length, progress, sets, compiled, encoding)
                runs.append(run)
                say(f"  EM {run['train_em']:.2f} at train lengths, {run['heldout_em']:.2f} held out"
                    f" ({run['train_seconds']:.0f} s)")
    settings = SuiteSettings(seeds=seeds, pes=pes, train=asdict(config), eval_examples_per_length=eval_per_length,
                             generalized_if_heldout_em_at_least=GENERALIZED, fitted_if_train_em_at_least=FITTED)
    return SuiteResult(tasks=tasks_out, runs=runs, summary=summarize(tasks_out, runs, pes), settings=settings)


def summarize(tasks: list[TaskRecord], runs: list[RunRecord], pes: list[str]) -> list[SummaryRow]:
    """One row per task and encoding: EM as mean and sd over seeds, and whether the prediction held."""
    rows = []
    for t in tasks:
        name = t["task"]["name"]
        compiled = t["compiled"].get("em_by_length")
        heldout = range(t["task"]["heldout_lengths"][0], t["task"]["heldout_lengths"][1] + 1)
        for pe in pes:
            mine = [r for r in runs if r["task"] == name and r["pe"] == pe]
            train_em, heldout_em = [r["train_em"] for r in mine], [r["heldout_em"] for r in mine]
            fitted = mean(train_em) >= FITTED
            generalized = mean(heldout_em) >= GENERALIZED
            rows.append(SummaryRow(**{
                "task": name, "pe": pe, "score": round(t["score"], 4), "predicted": t["predicted"],
                "train_em_mean": mean(train_em), "train_em_sd": sd(train_em),
                "heldout_em_mean": mean(heldout_em), "heldout_em_sd": sd(heldout_em),
                "compiled_heldout_em": mean(compiled[n] for n in heldout) if compiled else None,
                "compiled_error": t["compiled"].get("error"),
                "fitted": fitted, "generalized": generalized,
                "held": (t["predicted"] == generalized) if fitted else None,
            }))
    return rows
