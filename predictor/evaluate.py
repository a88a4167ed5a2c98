"""Exact match (EM) and per-token accuracy at every length, for the learned model and, on the
same inputs, for the compiled model of the same program; and the error signature of the learned
model's failures.

EM counts an example right when the whole output is right: every position's label
(per-position), or every output token and the end (autoregressive and answer). The learned model
is causal, so it is scored teacher-forced, in one pass: fed the right output so far, it must
predict every next token. For a causal, deterministic model that is exactly greedy decoding's EM:
greedy decoding writes the right output exactly when every one of those predictions is right.
Per-token accuracy is the fraction of output positions that are right.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import jax
import numpy as np

from grammar.errors import RaspError
from predictor.clock import OutOfTime, deadline
from predictor.data import EOS, Encoding, key, padded, row_length
from predictor.records import CompiledScores, Failures
from predictor.tasks import Example, Framing, Task, make_examples
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


def predictions(params: Any, forward: Any, encoding: Encoding, examples: list[Example],
                cells: int = 2**26) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each example, the model's predictions and the labels at the positions that count
    (teacher-forced). The examples are run shortest first, in batches of at most 256 examples and
    `cells` attention scores per head, each padded to one of a few lengths (so that a few shapes
    are compiled, whatever the lengths)."""
    rows = [row_length(e, encoding.autoregressive) for e in examples]
    order = sorted(range(len(examples)), key=rows.__getitem__)
    size = max(1, min(256, cells // (bucket(max(rows)) ** 2)))
    out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(examples)  # type: ignore[list-item]
    for start in range(0, len(order), size):
        chosen = order[start:start + size]
        batch = encoding.batch([examples[i] for i in chosen], bucket(rows[chosen[-1]]))
        predicted = np.asarray(forward(params, batch["ids"], batch["lengths"]))
        for r, i in enumerate(chosen):
            where = batch["mask"][r] > 0
            out[i] = (predicted[r][where], batch["labels"][r][where])
    return out


def bucket(n: int) -> int:
    """The padded length of a batch whose longest row is n: a multiple of 8 up to 64, of 32 above."""
    return padded(n) if n <= 64 else -(-n // 32) * 32


def rows_correct(params: Any, forward: Any, encoding: Encoding, examples: list[Example]) -> list[bool]:
    """Whether each example's whole output is right."""
    return [bool(np.all(p == y)) for p, y in predictions(params, forward, encoding, examples)]


def evaluate_learned(params: Any, apply: Any, encoding: Encoding,
                     sets: dict[int, list[Example]]) -> dict[int, dict[str, Any]]:
    """EM, token accuracy and (where some example is wrong) the failures, at every length
    (every length's examples in one run of `predictions`)."""
    forward = jax.jit(lambda p, ids, lengths: apply(p, None, ids, lengths).argmax(-1))
    everything = [e for examples in sets.values() for e in examples]
    pairs = iter(predictions(params, forward, encoding, everything))
    scores = {}
    for n, examples in sets.items():
        mine = [next(pairs) for _ in examples]
        scores[n] = score([list(p == y) for p, y in mine])
        scores[n]["failures"] = failures(encoding, examples, mine)
    return scores


def failures(encoding: Encoding, examples: list[Example], pairs: list[tuple[np.ndarray, np.ndarray]]) -> Failures:
    """How the wrong examples went wrong (see predictor.records.Failures)."""
    first: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    early = late = wrong_token = 0
    vocab = encoding.inputs if encoding.autoregressive else encoding.classes
    for e, (p, y) in zip(examples, pairs):
        wrong = np.flatnonzero(p != y)
        if not len(wrong):
            continue
        j = int(wrong[0])
        first[j] += 1
        if encoding.autoregressive and p[j] == EOS:
            early += 1
        elif encoding.autoregressive and y[j] == EOS:
            late += 1
        else:
            wrong_token += 1
        token = vocab.decode(int(p[j]))
        sources = [i for i, t in enumerate(e.input) if token is not None and key(t) == key(token)]
        if sources:
            offsets[min(sources, key=lambda i: (abs(i - j), i)) - j] += 1
    count = sum(first.values())
    return Failures(examples=len(examples), wrong=count,
                    first_wrong_mean=(sum(j * c for j, c in first.items()) / count) if count else None,
                    first_wrong=dict(sorted(first.items())), ended_early=early, ended_late=late,
                    wrong_token=wrong_token, source_offsets=dict(sorted(offsets.items())))


# ---- the compiled model beside it ---------------------------------------------------------


COMPILE_SECONDS = 300  # the compiled model is skipped, with the reason, when compiling takes longer


def evaluate_compiled(task: Task, program: Program, sets: dict[int, list[Example]],
                      seconds: float = COMPILE_SECONDS, compiled: Any = None) -> CompiledScores:
    """The compiled program (at the longest held-out length; `compiled`: a CompileResult made
    already by `compile_for` for these inputs) on the same inputs, or why it could not be compiled."""
    from compiler.runner import Runner
    from compiler.verify import NUMERICAL_TOLERANCE

    autoregressive = task.framing is Framing.AUTOREGRESSIVE
    try:
        compiled = compiled or compile_for(task, program, [e for group in sets.values() for e in group], seconds)
    except RaspError as e:
        return CompiledScores(error=e.message)
    runner = Runner(compiled.model)
    result: dict[int, float] = {}
    for n, group in sets.items():
        if autoregressive:
            # The compiled model is causal and deterministic, so its greedy output equals the
            # target exactly when, fed the target's own prefix, it predicts every next token:
            # one run per input instead of one per generated token.
            outputs = runner.run([compiled_input(e) for e in group])
            correct = [[same_value(o, t, abs_tol=NUMERICAL_TOLERANCE) for o, t in zip(out[len(e.prompt) - 1:], e.target)]
                       for out, e in zip(outputs, group)]
        else:
            outputs = runner.run([e.prompt for e in group])
            if task.framing is Framing.ANSWER:  # the answer is the value at the last position
                outputs = [out[-1:] for out in outputs]
            correct = [[same_value(o, t, abs_tol=NUMERICAL_TOLERANCE) for o, t in zip(out, e.target)] for out, e in zip(outputs, group)]
        result[n] = score(correct)["em"]
    return CompiledScores(em_by_length=result, layers=compiled.model.num_layers,
                          parameters=compiled.model.parameter_count(), max_len=compiled.model.max_len,
                          seconds=round(compiled.seconds, 2))


def compile_for(task: Task, program: Program, examples: list[Example], seconds: float = COMPILE_SECONDS) -> Any:
    """The program compiled (unverified) for every token and length of these examples as the
    compiled model reads them (`compiled_input`); a RaspError says why it could not be."""
    from compiler import compile_program

    autoregressive = task.framing is Framing.AUTOREGRESSIVE
    tokens = list(task.vocab) + [t for e in examples for t in e.prompt + (e.target if autoregressive else [])]
    vocab = list({key(t): t for t in tokens}.values())
    longest = max(len(e.prompt) + (len(e.target) if autoregressive else 0) for e in examples)
    try:
        with deadline(seconds):
            return compile_program(program, vocab, longest, causal=program.causal, verify=False)
    except OutOfTime:  # tracr's assembly of a large model can take hours
        raise RaspError(f"compiling at length {longest} took more than {seconds:g} s; skipped") from None


def compiled_input(e: Example) -> list[Any]:
    """What the compiled model reads for an example: the prompt, and for an autoregressive one the
    target so far (teacher-forced: every token but the end)."""
    return e.prompt + (e.target[:-1] if e.framing is Framing.AUTOREGRESSIVE else [])


__all__ = ["evaluation_sets", "evaluate_learned", "evaluate_compiled", "rows_correct", "compile_for", "compiled_input"]
