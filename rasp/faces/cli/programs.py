"""`rasp run`, `rasp compile`, `rasp analyze`, `rasp list`: one program at a time."""

from __future__ import annotations

import argparse
import json
from typing import Any

from grammar.errors import RaspError
from rasp.faces.cli.options import parse_vocab, read_inputs


def add(sub: argparse._SubParsersAction) -> None:
    _add_run(sub)
    _add_compile(sub)
    _add_analyze(sub)


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a program on inputs",
                       description="Run PROGRAM (a .rasp path or a library name) on inputs.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME",
                   help="the s-op to print (default: the last s-op the file assigns)")
    p.add_argument("--causal", action="store_true",
                   help="limit every selector to keys at or before the query")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--input", action="append", metavar="TEXT",
                       help="an input: a JSON list ([3,1,2]) or a string (hello); may repeat")
    group.add_argument("--inputs", metavar="FILE",
                       help="a file with one input per line, in the same forms ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per input, per line")
    p.add_argument("--model", metavar="FILE",
                   help="run this compiled model of PROGRAM (from rasp compile -o) instead of the interpreter")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    program = load_program(args.program, args.output)
    inputs = read_inputs(args)
    if args.model:
        outputs = _run_model(args, program, inputs)
    else:
        outputs = program.run(inputs, causal=True if args.causal else None)
    if args.json:
        for tokens, out in zip(inputs, outputs):
            print(json.dumps({"input": tokens, "output": out}, ensure_ascii=False))
    else:
        from rasp.faces.display import outputs_table

        outputs_table(program, inputs, outputs)
    return 0


def _run_model(args: argparse.Namespace, program: Any, inputs: list[list[Any]]) -> list[list[Any]]:
    from compiler import model as saved
    from compiler.runner import Runner

    model = saved.load(args.model)
    compiled_from = model.meta.program
    if compiled_from.sha256 and compiled_from.sha256 != program.digest:
        raise RaspError(f"{args.model} was compiled from another version of the program "
                        f"({compiled_from.path}); compile it again")
    if compiled_from.output != program.output_name:
        raise RaspError(f"{args.model} computes '{compiled_from.output}', not "
                        f"'{program.output_name}'; pass --output {compiled_from.output}")
    if args.causal and not model.causal:
        raise RaspError(f"{args.model} was compiled without --causal")
    return Runner(model).run(inputs)


def _add_compile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a program to transformer weights",
                       description="Compile PROGRAM to transformer weights through tracr, verify "
                                   "the model against the interpreter, and report its layout.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--vocab", required=True, metavar="V",
                   help='the input tokens: a JSON list (["a", "b"], [1, 2]) or a string of '
                        "one-character tokens (abc)")
    p.add_argument("--max-len", required=True, type=int, metavar="N", help="the longest input")
    p.add_argument("--output", metavar="NAME", help="the s-op to compile (default: the last one)")
    p.add_argument("--causal", action="store_true", help="compile with a causal mask")
    p.add_argument("-o", dest="save", metavar="FILE", help="save the model to FILE (.npz)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-verify", action="store_true", help="skip checking the model against the interpreter")
    p.add_argument("--samples", type=int, default=256, metavar="K",
                   help="random inputs for verification, spread over every length (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the verification inputs")
    p.set_defaults(handler=_compile)


def _compile(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    vocab = parse_vocab(args.vocab)
    if args.max_len < 1:
        raise RaspError("--max-len must be at least 1")
    if args.samples < 1:
        raise RaspError("--samples must be at least 1")
    program = load_program(args.program, args.output)
    from compiler import compile_program, report
    from compiler import model as saved

    result = compile_program(program, vocab, args.max_len, causal=True if args.causal else None,
                             verify=not args.no_verify, samples=args.samples, seed=args.seed)
    if args.save:
        try:
            saved.save(result.model, args.save)
        except OSError as e:
            raise RaspError(f"cannot write {args.save}: {e.strerror}") from None
    summary = report.as_dict(result, args.save)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        report.show(summary)
    return 0


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="predict whether the task length-generalizes",
                       description="Check PROGRAM against the RASP-L rules, measure its size and how "
                                   "its compiled model grows with length, and predict whether a "
                                   "transformer trained on short inputs works on longer ones.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME", help="the s-op to analyze (default: the last one)")
    p.add_argument("--vocab", metavar="V", help="tokens for sample inputs and the growth compiles "
                   "(default: from the program's constants)")
    p.add_argument("--causal", action="store_true", help="analyze as an autoregressive (causal) task")
    p.add_argument("--lengths", default="8,16,32", metavar="A,B,...",
                   help="maximum lengths of the growth compiles (default 8,16,32)")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--graph", metavar="FILE", help="draw the program graph (.png, .svg or .dot)")
    p.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    try:
        lengths = tuple(int(x) for x in args.lengths.split(","))
    except ValueError:
        raise RaspError(f"--lengths {args.lengths!r}: give maximum lengths like 8,16,32") from None
    if not lengths or min(lengths) < 1:
        raise RaspError("--lengths must be positive")
    vocab = parse_vocab(args.vocab) if args.vocab else None
    program = load_program(args.program, args.output)
    from predictor import report
    from predictor.analysis import analyze

    result = analyze(program, vocab, causal=True if args.causal else None, lengths=lengths)
    if args.graph:
        report.draw(result.graph, args.graph)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, default=str))
    else:
        report.show(result, program.display_name)
        if args.graph:
            print(f"graph drawn to {args.graph}")
    return 0


def add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the program library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from rasp.language import library

    rows = [(name, library.summary(name)) for name in library.names()]
    if args.json:
        print(json.dumps([{"name": n, "summary": s} for n, s in rows], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("program", "what it computes", box=None)
    for name, summary in rows:
        table.add_row(name, summary)
    Console().print(table)
    return 0
