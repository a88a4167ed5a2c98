"""RASP programs to verified Transformer weights, through tracr.

    from compiler import compile_program
    compiled = compile_program(load_program("sort"), vocab=list("abc"), max_len=8)

Passes, each output named: `lower` (our graph to tracr RASP, value sets, encodings, fused
selectors: `Lowered`), `assemble.extract` (tracr's graph with our value sets: `Extracted`),
`assemble.assemble` (blocks, layers, weights: `Assembled`), `assemble.to_model` (our arrays and
`ModelMeta`: `CompiledModel`), `verify` (against the interpreter: `Verification`). `estimate`
refuses models that would not fit before any weight is built. `progress` hears each pass as it
starts and, inside a long one, how far it has got at least once a second (`ticks`).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from compiler.errors import CompileError
from rasp.language.values import plural

if TYPE_CHECKING:
    from compiler.verify import Domain
    from compiler.estimate import Estimate
    from compiler.model import CompiledModel
    from compiler.ticks import Ticker
    from compiler.verify import Verification
    from rasp.language.program import Program

__all__ = ["CompileError", "CompileResult", "compile_program"]

RECURSION_LIMIT = 20_000  # tracr's own graph passes recurse once per operation on a path


@dataclass(frozen=True)
class CompileResult:
    model: CompiledModel
    verification: Verification | None  # None when not asked for
    seconds: float  # the whole compile, verification included
    estimate: Estimate  # the size predicted before building

    def __repr__(self) -> str:
        from compiler.report import summary

        return f"CompileResult: {summary(self)}"

    def _repr_html_(self) -> str:
        from compiler.report import html

        return html(self)


def _quiet_tracr() -> None:
    """tracr logs advice through absl (e.g. on SequenceMaps of one s-op with itself); our users
    see our messages, not its."""
    from absl import logging

    logging.set_verbosity(logging.ERROR)


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for tracr's recursive passes (depth-first searches over the graph) on programs
    thousands of operations deep; our own passes do not recurse. Restored afterwards."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def compile_program(program: Program, vocab: list[Any], max_len: int, causal: bool | None = None,
                    verify: bool = True, samples: int = 256, seed: int = 0,
                    domain: Domain | None = None, progress: Callable[[str], None] | None = None) -> CompileResult:
    """Compile `program`'s output s-op. Raises `CompileError` (a RaspError) with a position.
    `domain` (`compiler.verify.Domain`) replaces the verification's own inputs: for programs meant for
    inputs of one form (`a+b`), whatever they do elsewhere. `progress` is told each pass as it starts,
    and inside one how far it has got, at least once a second (`compiler.ticks`)."""
    from compiler.ticks import Ticker
    from rasp.language.inputs import MAX_INPUT_LENGTH
    from rasp.language.program import Program

    assert isinstance(program, Program)
    _quiet_tracr()
    if not vocab:
        raise CompileError("the vocabulary is empty")
    if not 1 <= max_len <= MAX_INPUT_LENGTH:
        raise CompileError(f"the maximum length must be from 1 to {MAX_INPUT_LENGTH:,} (the longest input), "
                           f"not {max_len:,}")
    with Ticker(progress) as ticker:
        return _compile(program, vocab, max_len, causal, verify, samples, seed, domain, ticker)


def _compile(program: Program, vocab: list[Any], max_len: int, causal: bool | None, verify: bool, samples: int,
             seed: int, domain: Domain | None, ticker: Ticker) -> CompileResult:
    start = time.perf_counter()
    say = ticker.step
    say("lowering to tracr RASP and computing value sets")  # (the first compile also imports tracr here)
    from compiler import assemble, estimate, lower
    from compiler import verify as verifying
    from compiler.meta import ProgramSource
    from rasp.language.semantics import ExecError

    target = assemble.Target(list(vocab), max_len, program.causal if causal is None else causal)
    try:
        lowered = lower.lower(program.output, target.vocab, max_len)
    except ExecError as e:  # the language refuses these values (a vocabulary of mixed types compared)
        raise CompileError(f"{e.message}, for the values this vocabulary gives it ({list(vocab)!r}); "
                           "compile over tokens of one type", getattr(e.node, "span", None) or program.output.span) from None
    if lowered.sink.label in ("tokens", "indices"):
        raise CompileError(f"the output is the input's {lowered.sink.label} unchanged: there is no operation "
                           "for a model to compute (tracr builds no model without a layer)", program.output.span)
    try:
        extracted = assemble.extract(lowered)
    except CompileError as e:  # about the whole program: shown at its output
        raise CompileError(e.message, e.span or program.output.span) from None
    size = estimate.estimate(extracted.graph, lowered.info, len(vocab), max_len, lowered.sink.label)
    estimate.refuse_if_too_large(size, len(vocab), max_len)
    say(f"building blocks and weights (estimated {plural(size.parameters, 'parameter')}, {plural(size.layers, 'layer')})")
    try:
        with _deep_recursion():
            built = assemble.assemble(extracted, lowered, target, ticker)
    except (ValueError, AssertionError, NotImplementedError, KeyError, TypeError, IndexError) as e:
        # a failure inside tracr's own passes: say so plainly instead of a traceback
        raise CompileError(f"tracr could not assemble this model ({type(e).__name__}: {e}); try another "
                           "maximum length, and please report it", program.output.span) from e
    source = ProgramSource(program.path, program.output_name, program.digest)
    say("collecting the arrays")
    model = assemble.to_model(built, extracted, lowered, target, source)
    checked = None
    if verify:
        say("checking the model against the interpreter")
        checked = verifying.verify(program, model, lowered.categorical_aggregates(), samples, seed,
                                   distinct=program.tree.distinct, domain=domain, progress=ticker.tick)
    return CompileResult(model, checked, time.perf_counter() - start, size)
