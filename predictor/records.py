"""The records training and experiments hand to the faces and write to results.json.

They are TypedDicts, so they are the plain JSON objects users read and scripts parse (the JSON a
single training run prints, results.json), with every field named and documented here. Lengths are input sizes as
the task's sampler counts them (see predictor/tasks.py); EM is the fraction of examples whose
whole output is right.
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


class RunRecord(TypedDict):
    """One trained model (one task, positional encoding and seed), scored at every length."""

    task: str  # the task's name
    program: str  # the program's library name or path
    output: str  # the s-op that labels the task
    framing: str  # per-position or autoregressive
    pe: str  # positional encoding
    seed: int
    steps: int  # training steps asked for
    train_lengths: list[int]  # every length trained on
    heldout_lengths: list[int]  # every longer length tested
    em_by_length: dict[int, float]
    token_accuracy_by_length: dict[int, float]  # fraction of output tokens right
    train_em: float  # mean EM over the train lengths
    heldout_em: float  # mean EM over the held-out lengths
    compiled_em_by_length: dict[int, float] | None  # the compiled model's, on the same inputs
    compiled: dict[str, Any] | None  # the rest of CompiledScores, or None when not compiled
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
    score: float  # the analysis's score
    predicted: bool  # whether the analysis predicts length generalization
    findings: list[str]  # the ids of the rules the program breaks
    compiled: CompiledScores


class SummaryRow(TypedDict):
    """One task and positional encoding, over seeds: did the prediction hold?"""

    task: str
    pe: str
    score: float
    predicted: bool
    train_em_mean: float
    train_em_sd: float
    heldout_em_mean: float
    heldout_em_sd: float
    compiled_heldout_em: float | None  # None when the program did not compile
    compiled_error: str | None
    fitted: bool  # mean train EM reached the fit threshold
    generalized: bool  # mean held-out EM reached the generalization threshold
    held: bool | None  # prediction == outcome; None when the models did not fit (not judged)


class SuiteSettings(TypedDict):
    seeds: list[int]
    pes: list[str]
    train: dict[str, Any]  # predictor.train.TrainConfig, as a dict
    eval_examples_per_length: int
    generalized_if_heldout_em_at_least: float
    fitted_if_train_em_at_least: float


class SuiteResult(TypedDict):
    """What `run_suite` returns and `predictor.results.write` writes (results.json adds `command`)."""

    tasks: list[TaskRecord]
    runs: list[RunRecord]
    summary: list[SummaryRow]
    settings: SuiteSettings
    command: NotRequired[str]  # the command line that produced it, set when written
