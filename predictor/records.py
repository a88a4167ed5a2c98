"""The records training and experiments hand to the faces and write to results.json.

They are TypedDicts, so they are the plain JSON objects users read and scripts parse (the JSON a
single training run prints, results.json), with every field named and documented here. Lengths are
input sizes as the task's sampler counts them (see predictor/tasks.py); EM is the fraction of
examples whose whole output is right. JSON turns integer keys (lengths, offsets) into strings.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class CompiledScores(TypedDict):
    """The compiled program, run on the same evaluation inputs as the learned model.

    Either `error` alone (it could not be compiled, and why), or every other field."""

    error: NotRequired[str]
    em_by_length: NotRequired[dict[int, float]]
    layers: NotRequired[int]  # of the compiled Transformer
    parameters: NotRequired[int]
    max_len: NotRequired[int]  # the longest sequence it was compiled for
    seconds: NotRequired[float]  # compile time


class Bin(TypedDict):
    """A range of held-out lengths scored together (the papers report EM per bin)."""

    lengths: list[int]  # [first, last], both included
    em: float  # mean EM over the bin's lengths


class Failures(TypedDict):
    """How the wrong outputs at one length went wrong (the error signature of that length).

    For each wrong example: the index (in the output, from 0) of the first wrong token; whether the
    model ended early (wrote the end where the answer goes on), ended late (wrote a token where
    the answer ends) or wrote a wrong token; and, when the wrong token occurs in the input, the
    offset of the input position it came from, relative to the position the right token sits at
    (the nearest occurrence: 0 = the right position's token, which for copy means a different
    token than expected there cannot happen; -1 = the token one before; a shortcut by relative
    distance shows up as a peak at one offset)."""

    examples: int  # examples scored at this length
    wrong: int  # of which wrong
    first_wrong_mean: float | None  # mean index of the first wrong output token (None: none wrong)
    first_wrong: dict[int, int]  # index of the first wrong output token -> how many examples
    ended_early: int
    ended_late: int
    wrong_token: int
    source_offsets: dict[int, int]  # offset of the wrong token's input position -> how many


class RunRecord(TypedDict):
    """One trained model (one task, positional encoding and seed), scored at every length."""

    task: str  # the task's name
    program: str  # the program's library name or path
    output: str  # the s-op that labels the task
    framing: str  # per-position, autoregressive or answer
    in_conjecture: bool  # False: a per-position task whose program reads the whole input
    protocol: dict[str, Any]  # predictor.protocols.Protocol, as a dict: its name and every setting
    pe: str  # positional encoding
    offsets: bool  # whether training shifted the position ids by a random offset per example
    seed: int
    steps: int  # training steps taken (early stopping may end a run before max_steps)
    max_steps: int  # the step cap
    fitted: bool  # the fit check reached fit_em (train-length EM) by the end of training
    stopped_by_time: bool  # training ended at its time limit, before a fit or the step cap
    fit_checks: list[list[float]]  # [step, train EM on fresh examples] at every check
    train_lengths: list[int]  # every length trained on
    heldout_lengths: list[int]  # every longer length tested
    bins: list[Bin]  # held-out bins (the first is the +10 bin where the protocol has one)
    em_by_length: dict[int, float]
    token_accuracy_by_length: dict[int, float]  # fraction of output tokens right
    train_em: float  # mean EM over the train lengths
    heldout_em: float  # mean EM over the held-out lengths
    error_signature: dict[int, Failures]  # per held-out length with a wrong example
    predicted: bool | None  # the analysis's verdict for the program is "yes" (rasp analyze); None if not run
    verdict: NotRequired[str]  # that verdict: "yes", "no" or "unknown"
    prediction_score: float | None  # the analysis's probability that the task length-generalizes
    compiled_em_by_length: dict[int, float] | None  # the compiled model's, on the same inputs
    compiled: dict[str, Any] | None  # the rest of CompiledScores, or None when not compiled
    mechanism: NotRequired[list[dict[str, Any]] | None]  # per compiled head, the closest trained head
    # (predictor.mechanism.HeadMatch.as_dict); None when not compiled
    eval_examples_per_length: int
    final_loss: float | None
    resumed_from: int | None  # the checkpoint step a rerun resumed from
    train_seconds: float
    parameters: int  # of the learned model
    model: dict[str, Any]  # predictor.transformer.ModelConfig, as a dict
    train: dict[str, Any]  # predictor.train.TrainConfig, as a dict
    task_settings: dict[str, Any]  # predictor.tasks.Task, as a dict
    run_dir: str | None  # where its checkpoints are


class TaskRecord(TypedDict):
    """One task of an experiment: the prediction, and the compiled model's scores."""

    task: dict[str, Any]  # predictor.tasks.Task, as a dict
    in_conjecture: bool  # see RunRecord
    score: float  # the analysis's probability that the task length-generalizes
    predicted: bool  # whether the analysis says yes (rasp analyze)
    verdict: NotRequired[str]  # what it says: "yes", "no" or "unknown" (absent in older results)
    findings: list[str]  # the ids of the rules the program breaks
    compiled: CompiledScores


class BinSummary(TypedDict):
    """One held-out bin of one task and encoding, over seeds. Seeds are the unit: a seed
    generalizes in the bin when its EM there is at least GENERALIZED (0.9)."""

    lengths: list[int]  # [first, last]
    em_mean: float  # mean over fitted seeds of the seed's bin EM (over all seeds when none fitted)
    em_sd: float
    generalized_seeds: int  # fitted seeds with bin EM >= 0.9
    fitted_seeds: int
    fraction: float | None  # generalized_seeds / fitted_seeds (None when no seed fitted)
    interval: list[float] | None  # Wilson 95% interval on that fraction
    compiled_em: float | None  # the compiled model's mean EM over the bin
    anchor: float | None  # the published EM for this task and bin, where one exists (see anchors)


class SummaryRow(TypedDict):
    """One task and positional encoding, over seeds: what was measured, and did the prediction hold?"""

    task: str
    pe: str
    in_conjecture: bool
    score: float
    predicted: bool
    verdict: str  # "yes", "no" or "unknown" (older results: from `predicted`)
    seeds: int
    fitted_seeds: int
    fit_rate: float  # fitted_seeds / seeds
    fit_interval: list[float]  # Wilson 95% interval on the fit rate
    steps_mean: float  # training steps used, mean over seeds
    train_em_mean: float
    train_em_sd: float
    bins: list[BinSummary]
    compiled_error: str | None
    generalized: bool | None  # most fitted seeds generalize in the first bin; None: not judged
    judged: bool  # at least half the seeds fitted (else the outcome is "did not fit")
    held: bool | None  # prediction == outcome; None when not judged
    anchor: str | None  # the citation of the published figures in `bins`, where there are some


class Agreement(TypedDict):
    """The prediction against the measured outcomes, one row per task (the protocol's own
    positional encoding), tasks inside the conjecture only, beside the trivial predictors."""

    pe: str  # the encoding the rows were taken from
    judged: int  # tasks with an outcome
    held: int  # of which the prediction matched
    rate: float | None
    interval: list[float] | None  # Wilson 95% interval on rate
    always_yes: int  # how many the answer "generalizes" for every task would get right
    always_no: int
    not_judged: list[str]  # tasks whose seeds mostly did not fit
    outside: list[str]  # tasks left out: outside the conjecture


class SuiteSettings(TypedDict):
    protocol: dict[str, Any]  # predictor.protocols.Protocol, as a dict
    seeds: list[int]
    pes: list[str]
    train: dict[str, Any]  # predictor.train.TrainConfig, as a dict
    eval_examples_per_length: int
    generalized_if_bin_em_at_least: float
    fit_em: float


class FailedRun(TypedDict):
    """A run an executor gave up on (its worker kept dying, or training raised an error)."""

    task: str
    pe: str
    seed: int
    error: str  # the last error, one line


class SuiteResult(TypedDict):
    """What `run_suite` returns and `predictor.results.write` writes (results.json adds `command`
    and `seconds`)."""

    tasks: list[TaskRecord]
    runs: list[RunRecord]
    summary: list[SummaryRow]
    agreement: Agreement
    settings: SuiteSettings
    failed: NotRequired[list[FailedRun]]  # runs with no record (absent in older results)
    command: NotRequired[str]  # the command line that produced it, set when written
    seconds: NotRequired[float]  # wall time of the command
