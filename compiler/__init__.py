"""RASP programs to verified Transformer weights, through tracr.

    from compiler import compile_program
    compiled = compile_program(load_program("sort"), vocab=list("abc"), max_len=8)

Passes: `lower` (our graph to tracr RASP, value sets, encodings, fused selectors), `assemble`
(tracr blocks, layers, weights, our arrays), `verify` (against the interpreter). `estimate`
refuses models that would not fit before any weight is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from compiler.lower import CompileError

__all__ = ["CompileError", "CompileResult", "compile_program"]


@dataclass
class CompileResult:
    model: Any  # compiler.model.CompiledModel
    verification: Any  # compiler.verify.Verification or None
    seconds: float
    estimate: Any


def _quiet_tracr() -> None:
    """tracr logs advice through absl (e.g. on SequenceMaps of one s-op with itself); our users
    see our messages, not its."""
    from absl import logging

    logging.set_verbosity(logging.ERROR)


def compile_program(program, vocab: list[Any], max_len: int, causal: bool | None = None,
                    verify: bool = True, samples: int = 256, seed: int = 0) -> CompileResult:
    """Compile `program`'s output s-op. Raises `CompileError` (a RaspError) with a position."""
    from compiler import assemble, estimate, lower, verify as verifying
    from rasp.language import sops
    from rasp.language.program import Program

    assert isinstance(program, Program)
    _quiet_tracr()
    start = time.perf_counter()
    if not vocab:
        raise CompileError("the vocabulary is empty")
    if max_len < 1:
        raise CompileError("the maximum length must be at least 1")
    causal = program.causal if causal is None else causal
    sink, info = lower.lower(program.output, list(vocab), max_len)
    graph, sources, sink_node = assemble.extract(sink, info)
    size = estimate.estimate(graph, sink.label, info, len(vocab), max_len)
    estimate.refuse_if_too_large(size, len(vocab), max_len)
    try:
        assembled, craft_model, allocation = assemble.assemble(graph, sources, sink_node, info, list(vocab),
                                                               max_len, causal)
    except (ValueError, AssertionError, NotImplementedError, KeyError, TypeError, IndexError) as e:
        # a failure inside tracr's own passes: say so plainly instead of a traceback
        raise CompileError(f"tracr could not assemble this model ({type(e).__name__}: {e}); try another "
                           "maximum length, and please report it", program.output.span) from e
    from rasp import __version__

    meta = {"program": {"path": program.path, "output": program.output_name,
                        "sha256": program.digest},
            "version": __version__}
    model = assemble.to_model(assembled, graph, craft_model, allocation, sink_node, info, list(vocab),
                              max_len, causal, meta)
    model.tracr = assembled  # for benchmarks and tests that compare with tracr's own apply
    categorical = [e.origin for e in info.values()
                   if isinstance(e.origin, sops.Aggregate) and e.encoding == "categorical"]
    checked = None
    if verify:
        checked = verifying.verify(program, model, categorical, samples, seed,
                                   distinct=program.tree.distinct)
    return CompileResult(model, checked, time.perf_counter() - start, size)
