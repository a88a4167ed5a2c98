"""The training loop: fresh examples every step, AdamW with warm-up and cosine or linear decay,
data-parallel over every local JAX device, CHUNK steps per dispatch (one compiled loop over their
batches, the next chunk's batches made while the device runs this one), orbax checkpoints that
make a rerun resume, and an early stop when the model fits: every `check_every` steps, EM on
fresh examples at the train lengths; training ends when it reaches `fit_em` (`steps` is then a
cap, not a count).

Determinism: the examples of step k come from a generator seeded by (seed, k) alone, and the
parameters from the seed, so an interrupted run restarted with the same command picks up at its
last checkpoint and ends with the same parameters as a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from grammar.errors import SettingError, one_of
from predictor import transformer
from predictor.checkpoints import Checkpoints
from predictor.data import Encoding, padded, row_length
from predictor.encodings import Init
from predictor.protocols import Schedule
from predictor.tasks import Example, Task, make_examples
from rasp.language.machine import usable_memory
from rasp.language.program import Program


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # the step cap
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.1
    clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 500
    schedule: Schedule = Schedule.COSINE  # cosine or linear decay after the warm-up
    offsets: bool = False  # shift each training row's position ids by a random offset
    check_every: int = 0  # steps between fit checks; 0: no checks, train for `steps`
    fit_em: float = 1.0  # the fit check's EM at which training stops
    fit_examples: int = 16  # fresh examples per train length in a fit check

    def __post_init__(self):
        object.__setattr__(self, "schedule", one_of(Schedule, self.schedule, "schedule"))


@dataclass
class TrainResult:
    params: Any
    apply: Callable
    encoding: Encoding
    model: transformer.ModelConfig
    losses: list[float] = field(default_factory=list)  # one per step, from step 0 (across resumes)
    accuracies: list[float] = field(default_factory=list)
    checks: list[list[float]] = field(default_factory=list)  # [step, train-length EM] per fit check
    steps: int = 0  # steps taken
    fitted: bool = False  # a fit check reached fit_em
    timed_out: bool = False  # stopped by `stop_by` before the step cap
    resumed_from: int = 0
    seconds: float = 0.0
    run_dir: Path | None = None


def learning_rate(config: TrainConfig) -> optax.Schedule:
    """The learning rate by step: warm-up from 0, then linear decay to 0 or cosine decay to a
    tenth at the step cap."""
    warmup, total = min(config.warmup, max(config.steps - 1, 1)), max(config.steps, 2)
    if config.schedule is Schedule.LINEAR:
        decay = optax.linear_schedule(config.learning_rate, 0.0, total - warmup)
        if not warmup:
            return decay
        return optax.join_schedules([optax.linear_schedule(0.0, config.learning_rate, warmup), decay], [warmup])
    return optax.warmup_cosine_decay_schedule(0.0, config.learning_rate, warmup, total,
                                              end_value=config.learning_rate / 10)


def optimizer(config: TrainConfig, matrices_only: bool = False) -> optax.GradientTransformation:
    """AdamW after clipping; with `matrices_only` (GPT-2's recipe) weight decay spares biases and
    LayerNorm parameters."""
    mask = (lambda params: jax.tree_util.tree_map(lambda p: p.ndim >= 2, params)) if matrices_only else None
    return optax.chain(optax.clip_by_global_norm(config.clip),
                       optax.adamw(learning_rate(config), weight_decay=config.weight_decay, mask=mask))


def optimizer_for(model: transformer.ModelConfig, config: TrainConfig) -> optax.GradientTransformation:
    """The optimizer a run of this model trains with (and its checkpoints hold the state of):
    GPT-2's initialisation comes with its recipe, weight decay on matrices only."""
    return optimizer(config, matrices_only=model.init is Init.GPT2)


def loss_and_accuracy(logits: jax.Array, batch: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    labels, mask = batch["labels"], batch["mask"]
    known = mask * (labels >= 0)
    log_p = jax.nn.log_softmax(logits)
    nll = -jnp.take_along_axis(log_p, jnp.maximum(labels, 0)[..., None], axis=-1)[..., 0]
    loss = (nll * known).sum() / jnp.maximum(known.sum(), 1)
    accuracy = ((logits.argmax(-1) == labels) * mask).sum() / jnp.maximum(mask.sum(), 1)
    return loss, accuracy


CHUNK = 25  # training steps per dispatch: one compiled loop over their batches (a GPU waits less on Python)


def make_step(net: Any, opt: optax.GradientTransformation) -> Callable:
    """One jitted training step: (state, batch) -> (state, loss, accuracy). Sharding follows
    the inputs: a batch split over devices gives data parallelism, gradients averaged by XLA."""

    @jax.jit
    def step(state: dict[str, Any], batch: dict[str, jax.Array]):
        def loss_fn(params):
            return loss_and_accuracy(net.apply(params, None, batch["ids"], batch["lengths"], batch["offsets"]), batch)

        (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        updates, opt_state = opt.update(grads, state["opt_state"], state["params"])
        return {"params": optax.apply_updates(state["params"], updates), "opt_state": opt_state}, loss, accuracy

    return step


def make_chunk(net: Any, opt: optax.GradientTransformation) -> Callable:
    """Several training steps in one jitted call: (state, batches) -> (state, (losses,
    accuracies)), where every array of `batches` has the steps on its first axis."""
    step = make_step(net, opt)

    @jax.jit
    def chunk(state: dict[str, Any], batches: dict[str, jax.Array]):
        def one(state, batch):
            state, loss, accuracy = step(state, batch)
            return state, (loss, accuracy)

        return jax.lax.scan(one, state, batches)

    return chunk


def training_examples(task: Task, program: Program, seed: int, step: int, count: int) -> list[Example]:
    """The examples of one step: sizes uniform over the train lengths, seeded by (seed, step)."""
    rng = random.Random(seed * 1_000_003 + step)
    low, high = task.train_lengths
    sizes = sorted(rng.randint(low, high) for _ in range(count))
    examples = []
    for size in sorted(set(sizes)):
        examples += make_examples(task, program, size, sizes.count(size), rng)
    return examples


def training_batch(task: Task, program: Program, encoding: Encoding, config: TrainConfig, step: int) -> dict:
    """The arrays of one step, offsets drawn (when on) from their own generator, seeded by (seed, step)."""
    return training_batches(task, program, encoding, config, step, 1)[0]


def training_batches(task: Task, program: Program, encoding: Encoding, config: TrainConfig, first: int,
                     count: int) -> list[dict]:
    """The arrays of steps first .. first + count - 1, padded to one length (so they stack)."""
    examples = [training_examples(task, program, config.seed, k, config.batch_size)
                for k in range(first, first + count)]
    length = padded(max(row_length(e, encoding.autoregressive) for group in examples for e in group))
    return [encoding.batch(group, length, random.Random(config.seed * 1_000_033 + k + 17) if config.offsets else None)
            for k, group in enumerate(examples, first)]


def stacked(batches: list[dict]) -> dict[str, np.ndarray]:
    return {name: np.stack([b[name] for b in batches]) for name in batches[0]}


def fit_check(task: Task, program: Program, encoding: Encoding, config: TrainConfig, step: int,
              params: Any, forward: Callable) -> float:
    """EM on fresh examples at every train length (fit_examples each, seeded by (seed, step)),
    positions from 0 as at test."""
    from predictor.evaluate import rows_correct

    rng = random.Random(config.seed * 7_000_003 + step + 5)
    low, high = task.train_lengths
    examples = [e for n in range(low, high + 1) for e in make_examples(task, program, n, config.fit_examples, rng)]
    return float(np.mean(rows_correct(params, forward, encoding, examples)))


def run_name(task: Task, model: transformer.ModelConfig, config: TrainConfig, digest: str) -> str:
    """A directory name that only this exact run maps to (so a rerun finds its checkpoints)."""
    identity = json.dumps([task.as_dict(), model.identity(), asdict(config), digest], sort_keys=True, default=str)
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in task.name)
    return f"{name}-{model.pe}-s{config.seed}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def activation_bytes(model: transformer.ModelConfig, batch: int, length: int) -> int:
    """A generous bound on one training step's memory: attention matrices and activations kept
    for the backward pass (float32), plus the optimizer's copies of the parameters."""
    per_layer = model.heads * length * length * 3 + length * model.d_model * (12 + 3 * model.mlp_ratio)
    floats = batch * (model.layers * per_layer + length * (model.classes + model.d_model) * 3)
    parameters = 12 * model.d_model ** 2 * model.layers + model.d_model * (model.vocab_size + model.classes + model.max_len)
    return 4 * (floats + 4 * parameters)


def refuse_if_too_large(model: transformer.ModelConfig, batch: int) -> None:
    """Refuse, before anything is built, a run whose steps would not fit in 40% of the RAM."""
    need, budget = activation_bytes(model, batch, model.max_len), usable_memory()
    if need > budget:
        raise SettingError(f"training would need about {need / 2**30:.1f} GiB at sequences of {model.max_len} "
                           f"tokens and batch {batch}; about {budget / 2**30:.1f} GiB can be used here: "
                           "lower {batch_size} or the lengths", {"batch_size": "the batch size"})


def data_parallel() -> tuple[NamedSharding, NamedSharding, int]:
    """Shardings that split the batch over every local device and replicate the parameters."""
    devices = jax.local_devices()
    mesh = Mesh(np.array(devices), ("data",))  # stacked batches: (steps, batch, ...), split on the batch
    return NamedSharding(mesh, PartitionSpec(None, "data")), NamedSharding(mesh, PartitionSpec()), len(devices)


def train(task: Task, program: Program, model: transformer.ModelConfig | None = None,
          config: TrainConfig = TrainConfig(), run_dir: Path | None = None, progress: bool = True,
          encoding: Encoding | None = None, stop_after: int | None = None,
          stop_by: float | None = None) -> TrainResult:
    """Train on the task's train lengths until a fit check reaches `fit_em` or `steps` run out.
    With `run_dir`, checkpoint there and resume from it. `stop_after` ends the call early at that
    step (as a kill would), for tests; `stop_by` (a `time.monotonic()` value) ends it at the first
    step boundary after that time, for runs given a fixed time."""
    start = time.perf_counter()
    encoding = encoding or Encoding.for_task(task, program)
    model = model or transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len,
                                             causal=program.causal or encoding.autoregressive)
    refuse_if_too_large(model, config.batch_size)
    batch_sharding, replicated, devices = data_parallel()
    if config.batch_size % devices:
        raise SettingError(f"{{batch_size}} ({config.batch_size}) must be a multiple of the {devices} devices "
                           "it is split over", {"batch_size": "the batch size"})
    net = transformer.build(model)
    opt = optimizer_for(model, config)
    first = encoding.batch(training_examples(task, program, config.seed, 0, 2))
    params = net.init(jax.random.PRNGKey(config.seed), first["ids"], first["lengths"], first["offsets"])
    state = jax.device_put({"params": params, "opt_state": opt.init(params)}, replicated)

    checkpoints, begin = None, 0
    if run_dir is not None:
        identity = {"task": task.as_dict(), "model": model.identity(), "train": asdict(config),
                    "program": program.digest}
        checkpoints = Checkpoints(run_dir, identity)
        restored = checkpoints.restore(state)
        if restored is not None:
            state, begin = restored

    run_chunk = make_chunk(net, opt)
    forward = jax.jit(lambda p, ids, lengths: net.apply(p, None, ids, lengths).argmax(-1))
    result = TrainResult(None, net.apply, encoding, model, resumed_from=begin, run_dir=run_dir, steps=begin)
    if checkpoints and begin:
        result.losses, result.accuracies, result.checks = checkpoints.restore_history(begin)
    result.fitted = bool(result.checks) and result.checks[-1][1] >= config.fit_em
    end = config.steps if stop_after is None else min(stop_after, config.steps)

    def chunk_from(k: int) -> tuple[int, dict[str, np.ndarray]]:
        """The steps from k to the next fit check, checkpoint or end (at most CHUNK), stacked."""
        stops = [end, k + CHUNK] + [-(-(k + 1) // every) * every for every in
                                    (config.check_every, config.checkpoint_every if checkpoints else 0) if every]
        count = min(stops) - k
        return count, stacked(training_batches(task, program, encoding, config, k, count))

    k = begin
    upcoming = chunk_from(k) if k < end else None
    with ProgressBar(task.name, config.steps, begin, enabled=progress) as bar:
        while upcoming is not None:
            result.timed_out = stop_by is not None and time.monotonic() >= stop_by
            if result.fitted or result.timed_out:
                break
            count, batches = upcoming
            state, (losses, accuracies) = run_chunk(state, jax.device_put(batches, batch_sharding))
            k += count
            upcoming = chunk_from(k) if k < end else None  # made while the device runs this chunk
            result.losses += [float(x) for x in np.asarray(losses)]
            result.accuracies += [float(x) for x in np.asarray(accuracies)]
            result.steps = k
            bar.update(k, result.losses[-1], result.accuracies[-1])
            check = config.check_every and k % config.check_every == 0
            save = checkpoints and (k % config.checkpoint_every == 0 or k == config.steps or check)
            if check:
                em = fit_check(task, program, encoding, config, k, state["params"], forward)
                result.checks.append([k, em])
                result.fitted = em >= config.fit_em
                bar.note(f"fit check at step {k}: train EM {em:.3f}")
            if save:
                checkpoints.save(k, state, result.losses, result.accuracies, result.checks)
    if checkpoints and result.timed_out and checkpoints.latest() != result.steps:
        checkpoints.save(result.steps, state, result.losses, result.accuracies, result.checks)
    if checkpoints:
        checkpoints.close()
    result.params = state["params"]
    result.seconds = time.perf_counter() - start
    return result


class ProgressBar:
    """step / steps, loss and accuracy, on standard error (standard output stays for results)."""

    def __init__(self, name: str, total: int, done: int, enabled: bool):
        self.enabled = enabled
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("loss {task.fields[loss]}  acc {task.fields[acc]}"),
                                     TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.bar = self.progress.add_task(f"train {name}", total=total, completed=done, loss="-", acc="-")

    def __enter__(self) -> "ProgressBar":
        if self.enabled:
            self.progress.start()
        return self

    def update(self, step: int, loss: float, accuracy: float) -> None:
        if self.enabled:
            self.progress.update(self.bar, completed=step, loss=f"{loss:.4f}", acc=f"{accuracy:.3f}")

    def note(self, text: str) -> None:
        if self.enabled:
            self.progress.console.print(text)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.progress.stop()
