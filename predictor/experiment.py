"""The conjecture experiment: for each task, the analysis's prediction, then models trained on
short inputs under a protocol (predictor/protocols.py) and tested on longer ones, with the
compiled model beside them.

`train_and_evaluate` is one run (what `rasp train` prints); `run_suite` is tasks x positional
encodings x seeds (what `rasp experiment` writes up, through `predictor.stats` and
`predictor.results`).
"""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from grammar.errors import RaspError
from predictor import transformer
from predictor.data import Encoding, padded, row_length
from predictor.evaluate import compile_for, evaluate_compiled, evaluate_learned, evaluation_sets
from predictor.mechanism import CompiledHeads, compiled_heads, head_matches, scored_examples
from predictor.protocols import Protocol, bins_for
from predictor.records import Bin, CompiledScores, FailedRun, RunRecord, SuiteResult, SuiteSettings, TaskRecord
from predictor.stats import GENERALIZED, agreement, mean, summarize
from predictor.tasks import Framing, Task, make_examples
from predictor.train import TrainConfig, refuse_if_too_large, run_name, train
from rasp.language.program import Program
from rasp.language.values import plural


def train_config(protocol: Protocol, task: str, seed: int = 0, **overrides: Any) -> TrainConfig:
    """The training settings of one run: the protocol's (for this task), then `overrides`."""
    p = protocol.for_task(task)
    config = TrainConfig(steps=p.max_steps, batch_size=p.batch_size, learning_rate=p.learning_rate, warmup=p.warmup,
                         weight_decay=p.weight_decay, seed=seed, schedule=p.schedule, offsets=p.offsets,
                         check_every=p.check_every, fit_em=p.fit_em, fit_examples=p.fit_examples)
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.check_every:  # checkpoints at every fit check, and never fewer than four per run
        config = replace(config, checkpoint_every=min(config.check_every, max(1, config.steps // 4)))
    return config


def in_conjecture(task: Task, program: Program) -> bool:
    """The conjecture is about decoder-only next-token models: a per-position task whose
    program reads the whole input (bidirectional attention) lies outside it."""
    return task.framing is not Framing.PER_POSITION or program.causal


def model_for(task: Task, program: Program, encoding: Encoding, pe: str, protocol: Protocol) -> transformer.ModelConfig:
    """The learned model: the protocol's size for this task; causal attention unless a
    per-position task's program reads the whole input."""
    causal = program.causal or encoding.autoregressive
    return transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, causal=causal,
                                   pe=pe, tied=encoding.classes is encoding.inputs,
                                   **protocol.model_settings(task.name))


def check_size(task: Task, program: Program, protocol: Protocol, batch_size: int, pe: str) -> None:
    """Refuse a task too large for this machine from two examples at the longest held-out
    length, before the many examples the encoding and evaluation need are made."""
    sample = make_examples(task, program, task.heldout_lengths[1], 2, random.Random(0))
    longest = padded(max(row_length(e, task.autoregressive) for e in sample) + 8)
    refuse_if_too_large(transformer.ModelConfig(64, 64, longest, pe=pe, **protocol.model_settings(task.name)), batch_size)


class Prediction(NamedTuple):
    """What `rasp analyze` says of a task's program."""

    generalizes: bool  # the verdict is "yes"
    probability: float
    findings: list[str]  # the ids of the rules the program breaks
    verdict: str  # "yes", "no" or "unknown"


def prediction(program: Program, task: Task | None = None, protocol: Protocol | None = None,
               pe: str | None = None) -> Prediction:
    """The analysis's verdict (rasp analyze: generalizes exactly when it says yes), its
    probability and its findings, for the task's vocabulary and the protocol's setting."""
    from predictor.analysis import Setting, analyze

    setting = None if protocol is None else Setting.of(protocol, task.train_lengths if task else None, pe)
    analysis = analyze(program, task.tokens if task else None, causal=program.causal, setting=setting)
    return Prediction(analysis.generalizes, analysis.probability, [f.rule for f in analysis.findings],
                      str(analysis.verdict))


def train_and_evaluate(task: Task, program: Program, protocol: Protocol, pe: str, config: TrainConfig,
                       runs_dir: Path | None, eval_per_length: int, progress: bool = True,
                       sets: dict | None = None, compiled: dict | None | bool = True,
                       encoding: Encoding | None = None, predicted: Prediction | None = None,
                       stop_by: float | None = None, heads: CompiledHeads | None = None) -> RunRecord:
    """Train one model and score it at every length; `compiled=True` also compiles the program,
    scores it on the same inputs and matches its heads with the trained model's (pass earlier
    results, `compiled` and `heads` from `compiled_for_task`, to reuse them; False to skip).
    `sets`, `encoding` and `predicted` (a `prediction`), when given, are reused. `stop_by` (a
    `time.monotonic()` value) ends training there, and the model is scored as it stands."""
    check_size(task, program, protocol, config.batch_size, pe)
    encoding = encoding or Encoding.for_task(task, program)
    sets = sets or evaluation_sets(task, program, eval_per_length)
    if compiled is True:
        compiled, heads = compiled_for_task(task, program, sets)
    model = model_for(task, program, encoding, pe, protocol)
    run_dir = None
    if runs_dir is not None:
        run_dir = runs_dir / run_name(task, model, config, program.digest)
    trained = train(task, program, model, config, run_dir, progress, encoding, stop_by=stop_by)
    scores = evaluate_learned(trained.params, trained.apply, encoding, sets)
    matches = None if heads is None else head_matches(heads, model, trained.params, encoding)
    if predicted is None:
        predicted = prediction(program, task, protocol, pe)
    train_lengths = list(range(task.train_lengths[0], task.train_lengths[1] + 1))
    heldout_lengths = list(range(task.heldout_lengths[0], task.heldout_lengths[1] + 1))
    em = {n: s["em"] for n, s in scores.items()}
    compiled_em = compiled.get("em_by_length") if isinstance(compiled, dict) else None
    bins = [Bin(lengths=[a, b], em=mean(em[n] for n in range(a, b + 1)))
            for a, b in bins_for(protocol, task.train_lengths, task.heldout_lengths)]
    return RunRecord(**{
        "task": task.name, "program": program.display_name, "output": program.output_name,
        "framing": task.framing, "in_conjecture": in_conjecture(task, program),
        "protocol": protocol.as_dict(), "pe": pe, "offsets": config.offsets, "seed": config.seed,
        "steps": trained.steps, "max_steps": config.steps, "fitted": trained.fitted,
        "stopped_by_time": trained.timed_out, "fit_checks": trained.checks,
        "train_lengths": train_lengths, "heldout_lengths": heldout_lengths, "bins": bins,
        "em_by_length": em,
        "token_accuracy_by_length": {n: s["token_accuracy"] for n, s in scores.items()},
        "train_em": mean(em[n] for n in train_lengths),
        "heldout_em": mean(em[n] for n in heldout_lengths),
        "error_signature": {n: scores[n]["failures"] for n in heldout_lengths if scores[n]["failures"]["wrong"]},
        "predicted": predicted.generalizes, "verdict": predicted.verdict,
        "prediction_score": round(predicted.probability, 4),
        "compiled_em_by_length": compiled_em,
        "compiled": None if not isinstance(compiled, dict) else {k: v for k, v in compiled.items() if k != "em_by_length"},
        "mechanism": None if matches is None else [m.as_dict() for m in matches],
        "eval_examples_per_length": len(next(iter(sets.values()))),
        "final_loss": trained.losses[-1] if trained.losses else None,
        "resumed_from": trained.resumed_from,
        "train_seconds": round(trained.seconds, 1),
        "parameters": transformer.parameter_count(trained.params),
        "model": model.as_dict(), "train": asdict(config), "task_settings": task.as_dict(),
        "run_dir": str(run_dir) if run_dir else None,
    })


class SuiteRun(NamedTuple):
    """One (task, encoding, seed) run of a suite, with the per-task work done once for all its
    runs (the evaluation inputs, the compiled model's scores and heads, the prediction): what an
    executor (predictor/executors.py) needs to run it anywhere, given the task's program."""

    task: Task
    pe: str
    config: TrainConfig
    protocol: Protocol
    runs_dir: Path
    eval_per_length: int
    sets: dict
    compiled: CompiledScores
    heads: CompiledHeads | None
    predicted: Prediction
    encoding: Encoding  # the task's examples as arrays (the same for every run of the task)


def run_directory(run: SuiteRun, program: Program) -> Path:
    """Where the run keeps its checkpoints (and, on Ray, its log)."""
    model = model_for(run.task, program, run.encoding, run.pe, run.protocol)
    return run.runs_dir / run_name(run.task, model, run.config, program.digest)


def do_run(run: SuiteRun, program: Program | None = None, progress: bool = True) -> RunRecord:
    """Train and score one run of a suite (loading the task's program when not given)."""
    program = program or run.task.load()
    return train_and_evaluate(run.task, program, run.protocol, run.pe, run.config, run.runs_dir, run.eval_per_length,
                              progress, run.sets, run.compiled, run.encoding, run.predicted, heads=run.heads)


class Outcome(NamedTuple):
    """An executor's answer for one run: its record, or why it failed."""

    run: SuiteRun
    record: RunRecord | None
    error: str | None = None


# An executor: the runs (produced lazily, task by task), how many there are, a line printer -> an
# Outcome per run, in the order given.
Execute = Callable[[Iterable[SuiteRun], int, Callable[[str], None]], list[Outcome]]


def run_locally(runs: Iterable[SuiteRun], total: int, say: Callable[[str], None], progress: bool = True) -> list[Outcome]:
    """One run after another in this process (an error stops the suite, as before executors)."""
    outcomes, programs = [], {}
    for done, run in enumerate(runs, 1):
        say(f"run {done}/{total}: {run.task.name}, {run.pe}, seed {run.config.seed}")
        if run.task.name not in programs:  # loaded (and probed) once per task
            programs[run.task.name] = run.task.load()
        program = programs[run.task.name]
        record = do_run(run, program, progress)
        outcomes.append(Outcome(run, record))
        bins = ", ".join(f"{b['lengths'][0]}-{b['lengths'][1]}: {b['em']:.2f}" for b in record["bins"])
        say(f"  {'fitted' if record['fitted'] else 'did not fit'} in {plural(record['steps'], 'step')}; EM "
            f"{record['train_em']:.2f} at train lengths; held out {bins} ({record['train_seconds']:.0f} s)")
    return outcomes


def run_suite(tasks: list[Task], seeds: list[int], pes: list[str], protocol: Protocol, out_dir: Path,
              overrides: dict[str, Any] | None = None, eval_per_length: int | None = None, progress: bool = True,
              say: Callable[[str], None] = lambda _: None, execute: Execute | None = None) -> SuiteResult:
    """Every task x encoding x seed under the protocol (tasks already carry its lengths), run by
    `execute` (default: one after another here); returns what `predictor.results.write` writes.
    The per-task work (analysis, evaluation inputs, compiled model) is done here, once per task."""
    overrides = overrides or {}
    eval_per_length = eval_per_length or protocol.eval_per_length
    programs = {t.name: t.load() for t in tasks}  # every task's settings checked before any training
    for task in tasks:
        for pe in pes:
            check_size(task, programs[task.name], protocol, overrides.get("batch_size") or protocol.batch_size, pe)
    tasks_out: list[TaskRecord] = []

    def planned() -> Iterator[SuiteRun]:
        for task in tasks:
            program = programs[task.name]
            say(f"[bold]{task.name}[/bold]: analysis, evaluation inputs, compiled model")
            predicted = prediction(program, task, protocol)
            sets = evaluation_sets(task, program, eval_per_length)
            compiled, heads = compiled_for_task(task, program, sets)
            encoding = Encoding.for_task(task, program)
            tasks_out.append(TaskRecord(task=task.as_dict(), in_conjecture=in_conjecture(task, program),
                                        score=predicted.probability, predicted=predicted.generalizes,
                                        verdict=predicted.verdict, findings=predicted.findings,
                                        compiled=compiled))
            for pe in pes:
                for seed in seeds:
                    yield SuiteRun(task, pe, train_config(protocol, task.name, seed, **overrides), protocol,
                                   out_dir / "runs", eval_per_length, sets, compiled, heads, predicted, encoding)

    total = len(tasks) * len(pes) * len(seeds)
    if execute is None:
        outcomes = run_locally(planned(), total, say, progress)
    else:
        outcomes = execute(planned(), total, say)
    runs = [o.record for o in outcomes if o.record is not None]
    failed = [FailedRun(task=o.run.task.name, pe=o.run.pe, seed=o.run.config.seed, error=o.error or "")
              for o in outcomes if o.record is None]
    return suite_result(tasks_out, runs, seeds, pes, protocol, eval_per_length, overrides, failed)


def compiled_for_task(task: Task, program: Program, sets: dict) -> tuple[CompiledScores, CompiledHeads | None]:
    """The compiled model's scores on the evaluation sets and its heads on the inputs every run's
    heads are matched on (`predictor.mechanism`), compiled once for both; (why it could not be
    compiled, None) otherwise."""
    from compiler.runner import Runner

    examples = scored_examples(task, program)
    try:
        compiled = compile_for(task, program, [*(e for group in sets.values() for e in group), *examples])
    except RaspError as e:
        return CompiledScores(error=e.message), None
    return evaluate_compiled(task, program, sets, compiled=compiled), compiled_heads(Runner(compiled.model), examples)


def suite_result(tasks: list[TaskRecord], runs: list[RunRecord], seeds: list[int], pes: list[str],
                 protocol: Protocol, eval_per_length: int, overrides: dict[str, Any] | None = None,
                 failed: list[FailedRun] | None = None) -> SuiteResult:
    """The runs summarized per task and encoding, the agreement, the settings and the runs that
    failed (an executor gave up on them): what `predictor.results.write` writes."""
    config = train_config(protocol, "", **(overrides or {}))
    settings = SuiteSettings(protocol=protocol.as_dict(), seeds=seeds, pes=pes, train=asdict(config),
                             eval_examples_per_length=eval_per_length, generalized_if_bin_em_at_least=GENERALIZED,
                             fit_em=config.fit_em)
    summary = summarize(tasks, runs, pes)
    return SuiteResult(tasks=tasks, runs=runs, summary=summary, agreement=agreement(summary, pes[0]),
                       settings=settings, failed=failed or [])
