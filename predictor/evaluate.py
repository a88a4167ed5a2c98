"""Exact match (EM) and per-token accuracy at every length, for the learned model and, on the
same inputs, for the compiled model of the same program.

EM counts an example right when the whole output is right: every position's label
(per-position), or every generated token up to and including the end token (autoregressive,
greedy decoding from the prompt, never shown the answer). Per-token accuracy is the fraction of
output positions that are right.
"""

from __future__ import annotations

import random
from typing import Any

import jax
import numpy as np

from grammar.errors import RaspError
from predictor.data import Encoding, key, padded
from predictor.records import CompiledScores
from predictor.tasks import Example, Task, make_examples
from rasp.language.inputs import same_value
from rasp.language.program import Program

EVAL_SEED = 20_240_101  # evaluation inputs depend on the task and the length, not the training seed


def evaluation_sets(task: Task, program: Program, per_length: int) -> dict[int, list[Example]]:
    """Fresh inputs for every train and held-out length, the same for every seed and model."""
    return {n: make_examples(task, program, n, per_length, random.Random(EVAL_SEED + 7919 * n))
            for n in task.lengths}


def score(correct: list[list[bool]]) -> dict[str, float]:
    rows = [all(c) for c in correct]
    cells = [x for c in correct for x in c]
    return {"em": float(np.mean(rows)) if rows else 0.0, "token_accuracy": float(np.mean(cells)) if cells else 0.0}


def evaluate_learned(params: Any, apply: Any, encoding: Encoding, sets: dict[int, list[Example]],
                     cells: int = 2**26) -> dict[int, dict[str, float]]:
    """EM and token accuracy of the learned model at every length (batches of at most 256
    examples and `cells` attention scores per head)."""
    forward = jax.jit(lambda p, ids, lengths: apply(p, None, ids, lengths).argmax(-1))
    scores = {}
    for n, examples in sets.items():
        longest = max(len(e.prompt) + len(e.target) for e in examples)
        batch_size = max(1, min(256, cells // (longest * longest)))
        correct: list[list[bool]] = []
        for start in range(0, len(examples), batch_size):
            part = examples[start:start + batch_size]
            if encoding.autoregressive:
                correct += greedy(params, forward, encoding, part)
            else:
                batch = encoding.batch(part)
                predicted = np.asarray(forward(params, batch["ids"], batch["lengths"]))
                for r, e in enumerate(part):
                    m = len(e.prompt)
                    correct.append(list(predicted[r, :m] == batch["labels"][r, :m]))
        scores[n] = score(correct)
    return scores


def greedy(params: Any, forward: Any, encoding: Encoding, examples: list[Example]) -> list[list[bool]]:
    """Generate each example's output token by token from its prompt; compare with the target."""
    prompts = [encoding.inputs.encode(e.prompt) for e in examples]
    targets = [encoding.inputs.encode(e.target) for e in examples]
    width = padded(max(len(p) + len(t) for p, t in zip(prompts, targets)))
    ids = np.zeros((len(examples), width), np.int32)
    for r, p in enumerate(prompts):
        ids[r, : len(p)] = p
    lengths = np.array([len(p) for p in prompts], np.int32)
    steps = max(len(t) for t in targets)
    rows = np.arange(len(examples))
    for _ in range(steps):
        predicted = np.asarray(forward(params, ids, lengths))
        live = lengths < width
        ids[rows[live], lengths[live]] = predicted[rows[live], lengths[live] - 1]
        lengths = np.minimum(lengths + 1, width)
    return [list(ids[r, len(p): len(p) + len(t)] == np.array(t)) for r, (p, t) in enumerate(zip(prompts, targets))]


# ---- the compiled model beside it ---------------------------------------------------------


def evaluate_compiled(task: Task, program: Program, sets: dict[int, list[Example]]) -> CompiledScores:
    """The compiled program (at the longest held-out length) on the same inputs, or why it could
    not be compiled."""
    from compiler import compile_program
    from compiler.runner import Runner
    from compiler.verify import NUMERICAL_TOLERANCE

    examples = [e for group in sets.values() for e in group]
    autoregressive = task.autoregressive
    tokens = list(task.vocab) + [t for e in examples for t in e.prompt]
    if autoregressive:
        tokens += [t for e in examples for t in e.target]
    vocab = list({key(t): t for t in tokens}.values())
    longest = max(len(e.prompt) + (len(e.target) if autoregressive else 0) for e in examples)
    try:
        compiled = compile_program(program, vocab, longest, causal=program.causal, verify=False)
    except RaspError as e:
        return CompiledScores(error=e.message)
    runner = Runner(compiled.model)
    result: dict[int, float] = {}
    for n, group in sets.items():
        if autoregressive:
            # The compiled model is causal and deterministic, so its greedy output equals the
            # target exactly when, fed the target's own prefix, it predicts every next token:
            # one run per input instead of one per generated token.
            outputs = runner.run([e.prompt + e.target[:-1] for e in group])
            correct = [[same_value(o, t, abs_tol=NUMERICAL_TOLERANCE) for o, t in zip(out[len(e.prompt) - 1:], e.target)]
                       for out, e in zip(outputs, group)]
        else:
            outputs = runner.run([e.prompt for e in group])
            correct = [[same_value(o, t, abs_tol=NUMERICAL_TOLERANCE) for o, t in zip(out, e.target)] for out, e in zip(outputs, group)]
        result[n] = score(correct)["em"]
    return CompiledScores(em_by_length=result, layers=compiled.model.num_layers,
                          parameters=compiled.model.parameter_count(), max_len=longest,
                          seconds=round(compiled.seconds, 2))


__all__ = ["evaluation_sets", "evaluate_learned", "evaluate_compiled"]
