"""`rasp compile`, `rasp analyze`, `rasp list`: one program at a time (`rasp run`: `running`)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from grammar.errors import RaspError
from rasp.faces import jsonout
from rasp.faces.cli.options import SAMPLED_VOCAB, count, parse_lengths, parse_vocab, read_inputs

if TYPE_CHECKING:
    from compiler.verify import Domain
    from rasp.language.program import Program


def add(sub: argparse._SubParsersAction) -> None:
    _add_compile(sub)
    _add_analyze(sub)


def _add_compile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a program to transformer weights",
                       description="Compile PROGRAM to transformer weights through tracr, verify "
                                   "the model against the interpreter, and report its layout.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--vocab", required=True, metavar="V",
                   help='the input tokens: a JSON list (["a", "b"], [1, 2]) or a string of '
                        "one-character tokens (abc)")
    p.add_argument("--max-len", required=True, type=count(1, 4096), metavar="N", help="the longest input")
    p.add_argument("--output", metavar="NAME", help="the s-op to compile (default: the last one)")
    p.add_argument("--causal", action="store_true", help="compile with a causal mask")
    p.add_argument("-o", dest="save", metavar="FILE", help="save the model to FILE (.npz)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-verify", action="store_true", help="skip checking the model against the interpreter")
    p.add_argument("--samples", type=count(1, 1_000_000), default=256, metavar="K",
                   help="random inputs for verification, spread over every length (default 256)")
    p.add_argument("--seed", type=count(0, 2**32 - 1), default=0, help="seed of the verification inputs")
    domain = p.add_mutually_exclusive_group()
    domain.add_argument("--sampler", metavar="NAME",
                        help="verify on inputs from a training sampler (digit-sum, unique, ...) instead of "
                             "every input; also `# rasp: domain=NAME` in the program")
    domain.add_argument("--inputs", metavar="FILE",
                        help="verify on the inputs in FILE (one per line, as for rasp run; - for stdin)")
    p.set_defaults(handler=_compile, input=None)


def _domain(args: argparse.Namespace, program: Program, vocab: list[Any]) -> Domain | None:
    """The inputs verification is restricted to: --inputs, --sampler, or the program's domain pragma."""
    import random

    from compiler.verify import Domain  # (the heavy compiler loads only when compiling)
    from predictor.samplers import Sampler, draw_up_to

    if args.inputs:
        return Domain(str(args.inputs), read_inputs(args))
    name, span = (args.sampler, None) if args.sampler else (program.tree.domain or (None, None))
    if name is None:
        return None
    try:
        sampler = Sampler(name)
    except ValueError:
        raise RaspError(f"unknown input domain '{name}' (the samplers: {', '.join(s.value for s in Sampler)})",
                        span) from None
    inputs = draw_up_to(sampler, vocab, args.max_len, args.samples, random.Random(args.seed))
    if not inputs:
        raise RaspError(f"the {name} sampler draws no input of at most {args.max_len} tokens from the "
                        f"vocabulary {' '.join(map(str, vocab))}: raise --max-len or add the tokens it "
                        "draws (see docs/experiments.md, samplers)", span)
    return Domain(f"the {name} sampler", inputs)


def _compile(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    vocab = parse_vocab(args.vocab)
    program = load_program(args.program, args.output)
    from compiler import compile_program, report
    from compiler import model as saved

    started = time.monotonic()

    def say(text: str) -> None:  # for people at a terminal; scripts read the report
        print(f"compile: {text} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)

    result = compile_program(program, vocab, args.max_len, causal=True if args.causal else None,
                             verify=not args.no_verify, samples=args.samples, seed=args.seed,
                             domain=_domain(args, program, vocab),
                             progress=say if sys.stderr.isatty() and not args.json else None)
    if args.save:
        try:
            saved.save(result.model, args.save)
        except OSError as e:
            raise RaspError(f"cannot write {args.save}: {e.strerror}") from None
    summary = report.as_dict(result, args.save)
    if args.json:
        print(jsonout.dumps(summary, ensure_ascii=False))
    else:
        report.show(summary)
    return 0


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="predict whether the task length-generalizes",
                       description="Check whether PROGRAM lies in C-RASP[periodic, local], compute its value "
                                   "sets, optionally search for a shorter equivalent program and for a shortcut "
                                   "that fits the training lengths, check it against a reference at longer "
                                   "lengths, and answer yes, no or unknown for a training setting.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME", help="the s-op to analyze (default: the last one)")
    p.add_argument("--vocab", metavar="V", help=f"input tokens (default: {SAMPLED_VOCAB})")
    p.add_argument("--causal", action="store_true", help="analyze as an autoregressive (causal) task")
    p.add_argument("--protocol", metavar="NAME", help="the training setting of a protocol (default cpu)")
    p.add_argument("--pe", metavar="P", help="positional encoding (default: the protocol's)")
    p.add_argument("--no-offsets", action="store_true", help="learned positions trained without offsets")
    p.add_argument("--train-lengths", metavar="A-B", help="training lengths (default: the protocol's)")
    p.add_argument("--reference", metavar="MODULE:FUNCTION",
                   help="check the program against this function up to 4x the longest training length")
    p.add_argument("--search-size", type=count(0, 12), default=0, metavar="K",
                   help="search programs of up to K operations for the minimality and diversity checks "
                        "(default 0: no search)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds for each search and for the reference check (default 60)")
    p.add_argument("--task", metavar="NAME",
                   help="search on this experiment task's inputs, framed as training frames them, instead of "
                        "every input over the vocabulary (the tasks: docs/experiments.md)")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--graph", metavar="FILE", help="draw the program graph (.png, .svg or .dot)")
    p.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    if not 0 < args.time_limit <= 3600:
        raise RaspError(f"--time-limit {args.time_limit}: give seconds between 0 and 3600")
    from predictor import report
    from predictor.analysis import Setting, analyze
    from predictor.encodings import positional_encoding
    from predictor.protocols import protocol

    chosen = protocol(args.protocol or "cpu")
    train = parse_lengths(args.train_lengths, "--train-lengths") or chosen.train_lengths
    if not 1 <= train[0] <= train[1]:
        raise RaspError(f"--train-lengths {args.train_lengths}: give A-B with 1 <= A <= B")
    pe = str(positional_encoding(args.pe)) if args.pe else str(chosen.pe)
    setting = Setting(chosen.name, pe, chosen.offsets and not args.no_offsets, train)
    vocab = parse_vocab(args.vocab) if args.vocab else None
    program = load_program(args.program, args.output)
    domain = None
    if args.task:
        domain, tokens = _task_inputs(args.task, chosen, train if args.train_lengths else None, program)
        vocab = vocab or tokens
    realizable = None
    if args.reference:
        realizable = _realizable(program, args.reference, vocab or program.sample_vocab(), 4 * train[1],
                                 args.time_limit)
    say = None if args.json else (lambda text: print(text, file=sys.stderr, flush=True))
    result = analyze(program, vocab, causal=True if args.causal else None, setting=setting,
                     search_size=args.search_size, time_limit=args.time_limit, realizable=realizable, say=say,
                     domain=domain)
    if args.graph:
        report.draw(result.graph, args.graph)
    if args.json:
        print(jsonout.dumps(result.as_dict(), ensure_ascii=False, default=str))
    else:
        report.show(result, program.display_name)
        if args.graph:
            print(f"graph drawn to {args.graph}")
    return 0


def _task_inputs(name: str, chosen: Any, train: tuple[int, int] | None, program: Any) -> tuple[Any, list[Any]]:
    """A suite task's inputs for the searches (under the protocol; with `train`, held out to
    twice its last length), and the task's tokens."""
    from predictor.protocols import apply
    from predictor.tasks import SUITE, check_settings, find_task, inputs_of

    found = find_task(name)
    if found is None:
        raise RaspError(f"--task {name}: no such task (the tasks: {', '.join(t.name for t in SUITE)})")
    if train:
        found = replace(found, train_lengths=train, heldout_lengths=(train[1] + 1, 2 * train[1]))
    task = apply(chosen, found)
    check_settings(task)
    return inputs_of(task, program), list(task.tokens)


def _realizable(program: Any, spec: str, vocab: list[Any], max_len: int, seconds: float,
                per_length: int = 8) -> Any:
    """The program against a reference (compared as `rasp check` compares) at every length from 1
    to `max_len`, `per_length` seeded random inputs each, within `seconds` in all; the
    counterexample is the first one found at the shortest failing length."""
    import random

    from predictor.analysis import Realizable
    from predictor.clock import OutOfTime, deadline
    from rasp.faces.cli.checking import load_reference
    from rasp.faces.testing import Agreement, ReferenceFailed

    from rasp.faces.testing import distinct_tokens

    reference = load_reference(spec)
    unique = program.tree.distinct
    if unique:
        max_len = min(max_len, distinct_tokens(vocab))
    agreement = Agreement(program, reference, vocab, max_len)
    rng = random.Random(0)
    tried = 0
    try:
        with deadline(seconds):
            for n in range(1, max_len + 1):
                for _ in range(per_length):
                    tokens = rng.sample(vocab, n) if unique else [rng.choice(vocab) for _ in range(n)]
                    tried += 1
                    found = agreement.first_difference(tokens)
                    if found is not None:
                        return Realizable(False, found.as_dict(), max_len, tried)
    except OutOfTime:
        raise RaspError(f"--reference {spec}: the check did not finish in {seconds:g} s (does the reference "
                        "hang?); raise --time-limit if it is only slow") from None
    except ReferenceFailed as e:
        raise RaspError(f"--reference {spec}: {e.message}") from None
    return Realizable(True, None, max_len, tried)


def add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the program library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from rasp.language import library

    rows = [(name, library.summary(name)) for name in library.names()]
    if args.json:
        print(jsonout.dumps([{"name": n, "summary": s} for n, s in rows], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not markup: a summary's "[x1 .. xn]" is printed as written; cells wrap, never cut
    table = Table("program", "what it computes", box=None)
    table.columns[0].no_wrap = True
    table.columns[1].overflow = "fold"
    for name, summary in rows:
        table.add_row(Text(name), Text(summary))
    Console().print(table)
    return 0
