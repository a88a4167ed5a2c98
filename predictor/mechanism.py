"""Did the trained model learn the program's mechanism? Its attention beside the compiled
model's, head by head, on the same inputs.

The two models read an example differently: the trained one `<bos> x1 .. xn <sep> y1 ..`
(autoregressive and answer framings) or `x1 .. xn` (per position); the compiled one `BOS x1 ..
xn` then the program's separator and the output so far (`evaluate.compiled_input`). `aligned`
pairs the positions that hold the same thing. For each compiled head and each trained head, the
distance is the total-variation distance between their attention rows, over the aligned queries
and keys (each row renormalised over the aligned keys; a row with no weight there is skipped),
averaged over queries and inputs: 0 when the trained head attends exactly as the compiled one,
1 when they never attend to the same keys. Each compiled head is matched with the trained head
at the smallest mean distance; `agreement` is 1 - that distance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from grammar.errors import RaspError
from predictor.data import Encoding, row_length
from predictor.tasks import Example, Framing, Task, task_from_dict
from rasp.language.inputs import token_key
from rasp.language.program import Program


@dataclass
class LoadedRun:
    """A trained run, restored from its folder."""

    run_dir: Path
    task: Task
    program: Program
    encoding: Encoding
    model: Any  # predictor.transformer.ModelConfig
    params: Any
    step: int


@dataclass(frozen=True)
class HeadMatch:
    """The trained head that attends most like one compiled head."""

    compiled: str  # the compiled head's title (layer, head, the s-op it computes)
    layer: int  # the best trained head's layer and head
    head: int
    distance: float  # mean total-variation distance over every input scored
    by_length: dict[int, float]  # the best head's mean distance at each input length

    @property
    def agreement(self) -> float:
        return 1.0 - self.distance

    def as_dict(self) -> dict[str, Any]:
        return {"compiled": self.compiled, "layer": self.layer, "head": self.head,
                "distance": round(self.distance, 4), "agreement": round(self.agreement, 4),
                "by_length": {n: round(d, 4) for n, d in self.by_length.items()}}


def load_run(run_dir: Path) -> LoadedRun:
    """The task, model and newest intact checkpoint of a run folder (of `rasp train` or `rasp
    experiment`); a clear error when it is not one or has no checkpoint yet."""
    import jax

    from predictor import transformer
    from predictor.checkpoints import Checkpoints
    from predictor.train import TrainConfig, optimizer_for

    stamp = run_dir / "run.json"
    if not stamp.is_file():
        raise RaspError(f"{run_dir} is not a run folder (it has no run.json): give a folder under the runs "
                        "folder of rasp train or rasp experiment")
    try:
        saved = json.loads(stamp.read_text())
        task = task_from_dict(saved["task"])
        model = transformer.ModelConfig(**saved["model"])
        config = TrainConfig(**saved["train"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise RaspError(f"{stamp} is damaged ({type(e).__name__}); it names no run this version can read") from None
    program = task.build()
    if program.digest != saved.get("program"):
        raise RaspError(f"{run_dir} was trained on another version of {task.program}; its checkpoints do not "
                        "belong to the program as it is now")
    encoding = Encoding.for_task(task, program)
    if (len(encoding.inputs), len(encoding.classes)) != (model.vocab_size, model.classes):
        raise RaspError(f"{run_dir}: the task's tokens no longer match the trained model's")
    net = transformer.build(model)
    params = net.init(jax.random.PRNGKey(0), np.zeros((1, 8), np.int32), np.ones(1, np.int32))  # the shapes
    opt = optimizer_for(model, config)
    checkpoints = Checkpoints(run_dir, json.loads(stamp.read_text()))
    try:
        restored = checkpoints.restore({"params": params, "opt_state": opt.init(params)})
    finally:
        checkpoints.close()
    if restored is None:
        raise RaspError(f"{run_dir} has no checkpoint yet: train it first (or wait for its first checkpoint)")
    state, step = restored
    return LoadedRun(run_dir, task, program, encoding, model, state["params"], step)


def learned_attention(model: Any, params: Any, encoding: Encoding, examples: list[Example]) -> list[np.ndarray]:
    """Each example's attention in the trained model (`model`: its ModelConfig), `(layers, heads,
    T, T)` over its real positions."""
    import jax

    from predictor import transformer

    if not examples:
        return []
    net = transformer.build(model, attention=True)
    batch = encoding.batch(examples)  # one padded batch: padding is masked out as keys, so real rows are as alone
    weights = np.asarray(jax.jit(lambda p, ids, lengths: net.apply(p, None, ids, lengths)[1])(
        params, batch["ids"], batch["lengths"]))
    rows = [row_length(e, encoding.autoregressive) for e in examples]
    return [weights[:, i, :, :n, :n] for i, n in enumerate(rows)]


class Alignment(NamedTuple):
    """Positions that hold the same thing in the two models: the compiled model's queries and
    keys, and the trained model's (same lengths, pairwise)."""

    compiled_queries: np.ndarray
    compiled_keys: np.ndarray
    learned_queries: np.ndarray
    learned_keys: np.ndarray


def aligned(e: Example, autoregressive: bool) -> Alignment:
    """The positions to compare for one example. Per position: the input tokens (the trained
    model has no BOS). Autoregressive: BOS, the input, the separator (the trained model's <sep>)
    and the output so far, at the same positions in both. Answer: the query where the answer is
    made (the compiled model's last input token, the trained model's <sep>), over BOS and the input."""
    n = len(e.input)
    if not autoregressive:
        compiled, learned = np.arange(1, n + 1), np.arange(n)
        return Alignment(compiled, compiled, learned, learned)
    prefix = np.arange(n + 1)  # BOS and the input
    if e.framing is not Framing.AUTOREGRESSIVE:
        return Alignment(np.array([n]), prefix, np.array([n + 1]), prefix)
    output = len(e.target) - 1
    if e.separator is not None:
        both = np.arange(n + 2 + output)
        return Alignment(both, both, both, both)
    compiled = np.concatenate([prefix, n + 1 + np.arange(output)])
    learned = np.concatenate([prefix, n + 2 + np.arange(output)])
    return Alignment(compiled, compiled, learned, learned)


def distance(compiled: np.ndarray, learned: np.ndarray, where: Alignment) -> tuple[float, int]:
    """(sum of row distances, rows compared) of two heads' attention on one input."""
    c = compiled[np.ix_(where.compiled_queries, where.compiled_keys)]
    t = learned[np.ix_(where.learned_queries, where.learned_keys)]
    cs, ts = c.sum(-1, keepdims=True), t.sum(-1, keepdims=True)
    rows = (cs[:, 0] > 1e-6) & (ts[:, 0] > 1e-6)
    if not rows.any():
        return 0.0, 0
    tv = 0.5 * np.abs(c[rows] / cs[rows] - t[rows] / ts[rows]).sum(-1)
    return float(tv.sum()), int(rows.sum())


def match_heads(titles: list[str], compiled: list[list[np.ndarray]], learned: list[np.ndarray],
                alignments: list[Alignment], lengths: list[int]) -> list[HeadMatch]:
    """For each compiled head (titles; `compiled[i][h]`: head h's attention on input i), the
    trained head (`learned[i][layer, head]`) at the smallest mean distance over the inputs."""
    if not learned:
        return []
    layers, heads = learned[0].shape[:2]
    matches = []
    for h, title in enumerate(titles):
        per_length: dict[int, np.ndarray] = {}  # length -> (layers, heads, [distance sum, rows])
        for i, where in enumerate(alignments):
            cell = per_length.setdefault(lengths[i], np.zeros((layers, heads, 2)))
            for layer in range(layers):
                for head in range(heads):
                    cell[layer, head] += distance(compiled[i][h], learned[i][layer, head], where)
        totals = sum(per_length.values())
        mean = np.where(totals[..., 1] > 0, totals[..., 0] / np.maximum(totals[..., 1], 1), np.inf)
        layer, head = np.unravel_index(int(np.argmin(mean)), mean.shape)
        best = float(mean[layer, head]) if np.isfinite(mean[layer, head]) else 1.0
        matches.append(HeadMatch(title, int(layer), int(head), best,
                                 {n: float(c[layer, head, 0] / c[layer, head, 1])
                                  for n, c in sorted(per_length.items()) if c[layer, head, 1]}))
    return matches


@dataclass(frozen=True)
class Inspection:
    """A trained run's heads matched against the compiled model's, and one input's attention."""

    matches: list[HeadMatch]  # one per compiled head
    lengths: list[int]  # the input lengths scored (`per_length` inputs each)
    example: Example  # the input drawn
    compiled: list[np.ndarray]  # its attention in each compiled head (compiled positions, BOS first)
    titles: list[str]  # the compiled heads' titles
    learned: np.ndarray  # its attention in the trained model, (layers, heads, T, T)
    where: Alignment  # its aligned positions
    compiled_tokens: list[Any]  # the tokens at the compiled model's positions
    learned_tokens: list[Any]  # the tokens at the trained model's positions

    def as_dict(self) -> dict[str, Any]:
        return {"lengths": self.lengths, "input": self.example.input,
                "matches": [m.as_dict() for m in self.matches]}


def scored_lengths(task: Task) -> list[int]:
    """First, middle and last of the training lengths and of the held-out lengths."""
    picks = set()
    for lo, hi in (task.train_lengths, task.heldout_lengths):
        picks |= {lo, (lo + hi) // 2, hi}
    return sorted(picks)


def example_of(task: Task, program: Program, tokens: list[Any]) -> Example:
    """An example of the task with this input, labelled by the program."""
    from predictor.tasks import labels

    target = labels(task, program, [tokens], len(tokens))[0]
    return Example(len(tokens), list(tokens), target, task.framing,
                   task.separator if task.framing is Framing.AUTOREGRESSIVE else None)


@dataclass(frozen=True)
class CompiledHeads:
    """The compiled program's heads on the inputs every trained run of a task is scored on
    (computed once per task)."""

    titles: list[str]  # each head's title (layer, head, the s-op it computes)
    examples: list[Example]  # the scored inputs (`scored_examples`)
    attention: list[list[np.ndarray]]  # per example, each head's attention (compiled positions)


def scored_examples(task: Task, program: Program, per_length: int = 4) -> list[Example]:
    """`per_length` evaluation inputs at each of `scored_lengths`, the same for every run."""
    import random

    from predictor.evaluate import EVAL_SEED
    from predictor.tasks import make_examples

    return [e for n in scored_lengths(task) for e in make_examples(task, program, n, per_length,
                                                                     random.Random(EVAL_SEED + n))]


def compiled_heads(runner: Any, examples: list[Example]) -> CompiledHeads:
    """Run the compiled model (`runner`: a compiler.runner.Runner) on the scored inputs."""
    from predictor.evaluate import compiled_input

    inside = [runner.internals(compiled_input(e)) for e in examples]
    return CompiledHeads([h.title for h in inside[0].heads] if inside else [], examples, [i.attention for i in inside])


def head_matches(heads: CompiledHeads, model: Any, params: Any, encoding: Encoding) -> list[HeadMatch]:
    """Each compiled head's closest head of a trained model (its ModelConfig and parameters)."""
    if not heads.titles:
        return []
    learned = learned_attention(model, params, encoding, heads.examples)
    return match_heads(heads.titles, heads.attention, learned,
                       [aligned(e, encoding.autoregressive) for e in heads.examples], [e.size for e in heads.examples])


def inspect(run: LoadedRun, tokens: list[Any], per_length: int = 4) -> Inspection:
    """Match the run's heads against the compiled program's on `per_length` evaluation inputs at
    each of `scored_lengths`, and keep both models' attention on `tokens`."""
    from compiler.runner import Runner
    from predictor.evaluate import compile_for, compiled_input

    task, program = run.task, run.program
    known = {token_key(t) for t in task.vocab}
    strange = next((t for t in tokens if token_key(t) not in known), None)
    if strange is not None or not tokens:
        raise RaspError(f"the input must be 1 or more of the task's tokens {list(task.vocab)}" +
                        ("" if strange is None else f"; {strange!r} is not one"))
    if len(tokens) > task.heldout_lengths[1]:
        raise RaspError(f"the input has {len(tokens)} tokens; the run was evaluated up to "
                        f"{task.heldout_lengths[1]} (its longest held-out length)")
    example = example_of(task, program, tokens)
    examples = scored_examples(task, program, per_length)
    runner = Runner(compile_for(task, program, [*examples, example]).model)
    heads = compiled_heads(runner, examples)
    matches = head_matches(heads, run.model, run.params, run.encoding)
    drawn = runner.internals(compiled_input(example))
    learned = learned_attention(run.model, run.params, run.encoding, [example])[0]
    sequence = run.encoding.batch([example])["ids"][0][:learned.shape[-1]]
    return Inspection(matches, scored_lengths(task), example, drawn.attention, [h.title for h in drawn.heads],
                      learned, aligned(example, run.encoding.autoregressive), drawn.tokens,
                      [run.encoding.inputs.decode(int(i)) for i in sequence])
