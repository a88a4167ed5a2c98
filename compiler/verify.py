"""Every compile is checked: the compiled model against the interpreter, on every input up to the
maximum length when there are at most 100,000 of them (`exhaustive`), else on structured cases
(`rasp.language.cases`) and random inputs of every length. A compile that would be silently
wrong fails here."""

from __future__ import annotations

import gc
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from compiler.errors import CompileError
from compiler.model import CompiledModel
from compiler.runner import Runner
from rasp.language import cases, sops
from rasp.language.inputs import sample_inputs
from rasp.language.machine import usable_memory
from rasp.language.program import Program
from rasp.language.sops import Encoding
from rasp.language.values import huge, plural

# How far a compiled model's number may be from the interpreter's (relative to it, absolute below
# 1). The one home of this rule: whoever compares a compiled model's outputs uses it.
NUMERICAL_TOLERANCE = 1e-3
# The check's peak memory per position of its inputs (the inputs as lists, their arrays, both
# outputs): 350 bytes measured for hist at max length 64 with 200,000 random inputs.
BYTES_PER_POSITION = 400


@dataclass(frozen=True)
class Domain:
    """The inputs a program is meant for (a sampler's, a file's), which verification is limited to."""

    name: str  # where they come from, for the report: "the digit-sum sampler", a file's path
    inputs: list[list[Any]]


@dataclass(frozen=True)
class Verification:
    """What the check compared."""

    inputs: int  # inputs compared
    skipped: int  # inputs the interpreter itself rejects (outside the program's domain)
    lengths: tuple[int, int]  # the shortest and longest input compared
    exhaustive: bool = False  # every input up to the maximum length was compared
    structured: int = 0  # of the inputs, how many were structured cases (not exhaustive)
    structured_of: int = 0  # how many structured cases there are (more than `structured`: a sample)
    space: int = 0  # how many inputs there are up to the maximum length
    domain: str | None = None  # where the inputs came from, when the caller gave them
    seconds: float = 0.0  # the check's own time (the interpreter, the model, the comparison)

    def describe(self) -> str:
        """One line for people: what was compared, never just "verified"."""
        skipped = f"; {plural(self.skipped, 'input')} skipped (the interpreter rejects them)" if self.skipped else ""
        if self.domain:
            return (f"checked on {plural(self.inputs, 'input')} from {self.domain} (lengths {self.lengths[0]} to "
                    f"{self.lengths[1]}), not exhaustive{skipped}")
        if self.exhaustive:
            return (f"exhaustive: equal to the interpreter on every input of lengths {self.lengths[0]} to "
                    f"{self.lengths[1]} ({self.inputs:,}){skipped}")
        shaped = plural(self.structured, 'structured case') if self.structured >= self.structured_of else \
            f"a seeded sample of {self.structured:,} of the {self.structured_of:,} structured cases"
        return (f"checked on {plural(self.inputs, 'input')} of lengths {self.lengths[0]} to {self.lengths[1]} "
                f"({shaped}, the rest random), not exhaustive (there are {huge(self.space)} inputs){skipped}")


def sample_for_verification(vocab: list[Any], max_len: int, count: int, distinct: bool,
                            seed: int) -> list[list[Any]]:
    """`count` inputs or more, the same number at every length from 1 to `max_len`."""
    top = min(max_len, len(vocab)) if distinct else max_len
    rng, per_length = random.Random(seed), max(1, math.ceil(count / top))
    if distinct:
        return sample_inputs(vocab, range(1, top + 1), per_length, distinct, rng)
    return [tokens for n in range(1, top + 1) for tokens in cases.draw(vocab, n, per_length, rng)]


def refuse_if_too_many(samples: int, top: int, structured: int) -> None:
    """Refuses a check whose inputs would not fit in memory, before drawing any: about
    `BYTES_PER_POSITION` for each position of the random inputs up to length `top` and of the
    `structured` cases (counted at the longest length)."""
    per_length = max(1, math.ceil(samples / top))
    positions = per_length * top * (top + 1) // 2 + structured * top
    need, budget = positions * BYTES_PER_POSITION, usable_memory()
    if need > budget:
        raise CompileError(f"checking the model on {samples:,} random inputs of lengths 1 to {top} ({positions:,} "
                           f"positions with the structured cases) would need about {need / 2**30:.1f} GiB; about "
                           f"{budget / 2**30:.1f} GiB can be spent here: check on fewer random inputs, compile "
                           "for a shorter maximum length, or skip the check")


@dataclass(frozen=True)
class CheckInputs:
    """What a check runs on (`verification_inputs`)."""

    inputs: list[list[Any]]
    space: int  # how many inputs there are up to the maximum length
    exhaustive: bool  # `inputs` are all of them
    structured: int = 0  # of `inputs`, how many are structured cases
    structured_of: int = 0  # how many structured cases there are (more than `structured`: a sample)


def verification_inputs(vocab: list[Any], max_len: int, samples: int, distinct: bool, seed: int) -> CheckInputs:
    """Every input when the space holds at most `cases.EXHAUSTIVE_LIMIT`, else the structured
    cases and `samples` random inputs (refused first when they would not fit in memory)."""
    space = cases.space_size(len(vocab), 1, max_len, distinct)
    if space <= cases.EXHAUSTIVE_LIMIT:
        return CheckInputs(list(cases.every_input(vocab, 1, max_len, distinct)), space, True)
    structured_of = cases.structured_count(len(vocab), 1, max_len, distinct)
    refuse_if_too_many(samples, min(max_len, len(vocab)) if distinct else max_len,
                       min(structured_of, cases.STRUCTURED_LIMIT))
    shaped = cases.structured(vocab, 1, max_len, distinct, random.Random(seed))
    return CheckInputs(shaped + sample_for_verification(vocab, max_len, samples, distinct, seed), space, False,
                       len(shaped), structured_of)


def verify(program: Program, model: CompiledModel, categorical_aggregates: list[sops.Aggregate],
           samples: int = 256, seed: int = 0, distinct: bool = False,
           domain: Domain | None = None, progress: Callable[[str], None] | None = None) -> Verification:
    """The model against the interpreter; on `domain`'s inputs only, when given. `progress` hears
    how far the model has got, after every layer and batch of attention (the caller thins them:
    `ticks.Ticker.tick`). Python's cycle collector is paused meanwhile: the check makes
    thousands of lists and no cycles, and each collection walks the compile's whole graph."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _verify(program, model, categorical_aggregates, samples, seed, distinct, domain, progress)
    finally:
        if paused:
            gc.enable()


def _verify(program: Program, model: CompiledModel, categorical_aggregates: list[sops.Aggregate], samples: int,
            seed: int, distinct: bool, domain: Domain | None, progress: Callable[[str], None] | None) -> Verification:
    start, causal = time.perf_counter(), model.causal
    if domain is None:
        drawn = verification_inputs(model.vocab, model.max_len, samples, distinct, seed)
    else:
        drawn = CheckInputs(domain.inputs, 0, False)
        too_long = next((t for t in drawn.inputs if len(t) > model.max_len), None)
        if too_long is not None or not drawn.inputs:
            raise CompileError(f"{domain.name} gives no inputs to check" if not drawn.inputs else
                               f"{domain.name} gives an input of length {len(too_long)} ({too_long!r}); the "
                               f"maximum length is {model.max_len}")
    sampled = drawn.inputs
    inputs, expected, selections = _interpret(program, sampled, categorical_aggregates, causal)
    if not inputs:
        raise CompileError(f"cannot verify: the interpreter rejects all {len(sampled)} inputs tried "
                           "(does the program need a particular kind of input? see docs/compiler.md)")
    _check_single_selection(categorical_aggregates, inputs, selections)
    say = progress or (lambda text: None)
    say(f"preparing the model to run {len(inputs):,} inputs")
    runner = Runner(model)
    actual = runner.run(inputs, lambda done, total: say(f"the model has run {done:,} of {total:,} inputs"))
    numerical = model.meta.output.encoding is Encoding.NUMERICAL
    for tokens, want, got in zip(inputs, expected, actual):
        if not numerical and want == got:  # the lists compared in C; position by position only to report
            continue
        for position, (w, g) in enumerate(zip(want, got)):
            same = (abs(float(w) - float(g)) <= NUMERICAL_TOLERANCE * max(1.0, abs(float(w))))\
                if numerical and isinstance(w, (int, float)) else w == g
            if not same:
                raise CompileError(
                    f"verification failed: on input {tokens!r} (length {len(tokens)}) at position "
                    f"{position} the interpreter gives {w!r} but the compiled model gives {g!r}",
                    program.output.span)
    lengths = sorted({len(t) for t in inputs})
    return Verification(len(inputs), len(sampled) - len(inputs), (lengths[0], lengths[-1]), drawn.exhaustive,
                        drawn.structured, drawn.structured_of, drawn.space, domain.name if domain else None,
                        time.perf_counter() - start)


def _interpret(program: Program, sampled: list[list[Any]], aggregates: list[sops.Aggregate], causal: bool
               ) -> tuple[list[list[Any]], list[list[Any]], list[list[np.ndarray]]]:
    """The inputs the interpreter accepts (those outside the program's domain left out), its
    outputs on them, and how many keys each aggregate's selector selects at each of their
    positions: one run of the program where every input is accepted."""
    widths = [sops.SelectorWidth(selector=a.selector) for a in aggregates]
    inputs, arrays = program.accepted_arrays(sampled, [program.output, *widths], causal)
    return inputs, [row.tolist() for row in arrays[0]], arrays[1:]


def _check_single_selection(aggregates: list[sops.Aggregate], inputs: list[list[Any]],
                            widths: list[list[np.ndarray]]) -> None:
    """A categorical aggregate must select at most one key (tracr's silent failure otherwise);
    `widths`: per aggregate, per input, how many keys it selects at each position."""
    for aggregate, per_input in zip(aggregates, widths):
        if not per_input or np.concatenate(per_input).max(initial=0) <= 1:  # all inputs at once
            continue
        number = next(i for i, row in enumerate(per_input) if row.max(initial=0) > 1)
        position = int(np.argmax(per_input[number] > 1))
        raise CompileError(
            f"this aggregate selects {int(per_input[number][position])} positions on input {inputs[number]!r} at "
            f"position {position}; compiled as a categorical aggregate it would return a blend "
            "of them, silently wrong. Make the selector pick at most one position, or "
            "average 0/1 values (numerical)", aggregate.span)
