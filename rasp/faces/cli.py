"""The `rasp` command. Errors print as `file:line:col: error: ...` and exit with status 2;
a traceback only with --debug."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from grammar.errors import RaspError

EXIT_ERROR = 2


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


def _add_train_options(p: argparse.ArgumentParser) -> None:
    """Options `rasp train` and `rasp experiment` share."""
    p.add_argument("--steps", type=int, metavar="N", help="training steps (default 2000; 1000 for the demo suite)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B", help="examples per step (default 64)")
    p.add_argument("--eval-examples", type=int, default=100, metavar="K",
                   help="fresh evaluation inputs per length (default 100)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


ENCODINGS = "nope, learned, sinusoidal, rotary, alibi, t5"


def _add_train(sub: argparse._SubParsersAction) -> None:
    from predictor.tasks import FRAMINGS, SAMPLERS

    p = sub.add_parser("train", help="train a transformer on a program's task and test it at longer lengths",
                       description="Train a transformer on PROGRAM's task at the train lengths, then report "
                                   "exact match (EM) at every train and held-out length, beside the compiled "
                                   "model of the same program. PROGRAM is a suite task name (see docs/"
                                   "experiments.md), a library program, or a .rasp path. A rerun of the same "
                                   "command resumes from its checkpoints.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME", help="the s-op that labels the task (default: the last one)")
    p.add_argument("--vocab", metavar="V", help="input tokens, as for rasp compile (default: the task's, "
                   "or the program's constants)")
    p.add_argument("--framing", choices=FRAMINGS, help="per-position labels, or autoregressive generation")
    p.add_argument("--sampler", choices=list(SAMPLERS), help="how inputs are drawn (default uniform; "
                   "unique for programs marked distinct)")
    p.add_argument("--separator", metavar="TOKEN", help="autoregressive: the token between input and output")
    p.add_argument("--end", metavar="TOKEN", help="autoregressive: the token that ends the output")
    p.add_argument("--train-lengths", metavar="A-B", help="lengths trained on (default 1-10)")
    p.add_argument("--heldout-lengths", metavar="C-D", help="longer lengths tested (default 11-20)")
    p.add_argument("--pe", default="rotary", metavar="P", help=f"positional encoding: {ENCODINGS} (default rotary)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="runs", metavar="DIR", help="where checkpoints go (default ./runs)")
    p.add_argument("--no-compiled", action="store_true", help="skip compiling the program beside the model")
    _add_train_options(p)
    p.set_defaults(handler=_train)


def _add_experiment(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="test the length-generalization prediction on a suite of tasks",
                       description="For every task of SUITE (default, demo, or a JSON file of tasks): the "
                                   "analysis's prediction, then models trained per seed and positional "
                                   "encoding, tested at held-out lengths, beside the compiled model. Writes "
                                   "results.json, results.csv, report.md and plots to --out.")
    p.add_argument("suite", nargs="?", default="default", metavar="SUITE")
    p.add_argument("--seeds", type=int, default=3, metavar="K", help="seeds per task (default 3)")
    p.add_argument("--pe", nargs="+", default=["rotary"], metavar="P",
                   help=f"positional encodings to compare ({ENCODINGS}; default rotary)")
    p.add_argument("--tasks", metavar="A,B", help="only these tasks of the suite")
    p.add_argument("--out", metavar="DIR", help="where to write (default experiment-SUITE)")
    _add_train_options(p)
    p.set_defaults(handler=_experiment)


def parse_lengths(text: str | None, option: str) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        low, _, high = text.partition("-")
        a, b = int(low), int(high or low)
    except ValueError:
        raise RaspError(f"{option} {text!r}: give lengths as A-B, e.g. 1-10") from None
    return a, b


def parse_token(text: str | None) -> Any:
    """A token on the command line: JSON when it parses (0, -1, "|"), else the text itself."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, (str, int, float, bool)) else text


def _train_config(args: argparse.Namespace, default_steps: int) -> Any:
    from predictor.transformer import ENCODINGS as known
    from predictor.train import TrainConfig

    for pe in args.pe if isinstance(args.pe, list) else [args.pe]:
        if pe not in known:
            raise RaspError(f"unknown positional encoding '{pe}' (use one of {ENCODINGS})")
    steps = default_steps if args.steps is None else args.steps
    if steps < 1 or args.batch_size < 1 or args.eval_examples < 1:
        raise RaspError("--steps, --batch-size and --eval-examples must be positive")
    return TrainConfig(steps=steps, batch_size=args.batch_size, checkpoint_every=max(1, min(500, steps // 4)),
                       seed=getattr(args, "seed", 0))


def _train(args: argparse.Namespace) -> int:
    from predictor.tasks import task_for

    config = _train_config(args, 2000)
    task = task_for(args.program, parse_vocab(args.vocab) if args.vocab else None, output=args.output,
                    framing=args.framing, sampler=args.sampler, separator=parse_token(args.separator),
                    end=parse_token(args.end), train_lengths=parse_lengths(args.train_lengths, "--train-lengths"),
                    heldout_lengths=parse_lengths(args.heldout_lengths, "--heldout-lengths"))
    program = task.load()
    from predictor.experiment import train_and_evaluate

    result = train_and_evaluate(task, program, args.pe, config, Path(args.runs), args.eval_examples,
                                progress=not args.json, compiled=not args.no_compiled)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        from predictor.results import show_run

        show_run(result)
    return 0


def _experiment(args: argparse.Namespace) -> int:
    from predictor import results
    from predictor.experiment import run_suite
    from predictor.tasks import load_suite

    tasks = load_suite(args.suite, args.tasks.split(",") if args.tasks else None)
    config = _train_config(args, 2000 if args.suite != "demo" else 1000)
    if args.seeds < 1:
        raise RaspError("--seeds must be at least 1")
    out = Path(args.out or f"experiment-{Path(args.suite).stem}")
    from rich.console import Console

    console = Console(stderr=True)
    result = run_suite(tasks, list(range(args.seeds)), list(dict.fromkeys(args.pe)), config, out,
                       args.eval_examples, progress=not args.json, say=console.print)
    command = "rasp " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("rasp") else "rasp experiment"
    paths = results.write(result, out, command)
    if args.json:
        print(json.dumps(result["summary"], default=str))
    else:
        results.show_summary(result)
        print(f"report: {paths[2]} (with results.json, results.csv and plots in {out})")
    return 0


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="test a program against a Python reference with Hypothesis",
                       description="Run PROGRAM and a reference Python function on random inputs of every "
                                   "length from --min-len to --max-len. Exit 0 when they agree on every "
                                   "input; exit 1 with the shrunk counterexample when they do not.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--reference", required=True, metavar="MODULE:FUNCTION",
                   help="a function from a list of tokens to the list of outputs; MODULE is a module "
                        "name or a path to a .py file")
    p.add_argument("--output", metavar="NAME", help="the s-op to check (default: the last one)")
    p.add_argument("--vocab", metavar="V", help="input tokens (default: from the program's constants)")
    p.add_argument("--min-len", type=int, default=1, metavar="A", help="shortest input (default 1)")
    p.add_argument("--max-len", type=int, default=10, metavar="B", help="longest input (default 10)")
    p.add_argument("--examples", type=int, default=200, metavar="K", help="inputs to try (default 200)")
    p.add_argument("--unique", action="store_true", help="inputs of distinct tokens (default for programs "
                   "marked `# rasp: distinct`)")
    p.add_argument("--compiled", action="store_true", help="check the compiled model (at --max-len) too")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_check)


def load_reference(spec: str) -> Callable[[list[Any]], Any]:
    """MODULE:FUNCTION, MODULE a dotted name (found from the current folder too) or a .py path."""
    import importlib
    import importlib.util

    module_name, sep, function = spec.rpartition(":")
    if not sep or not module_name or not function:
        raise RaspError(f"--reference {spec!r}: give MODULE:FUNCTION, e.g. refs.py:my_sort")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise RaspError(f"--reference: no file {module_name}")
            loader_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
    except RaspError:
        raise
    except Exception as e:
        raise RaspError(f"--reference: cannot import {module_name}: {type(e).__name__}: {e}") from None
    found = getattr(module, function, None)
    if not callable(found):
        raise RaspError(f"--reference: {module_name} has no function '{function}'")
    return found


def _check(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program
    from rasp.faces.testing import find_counterexample

    if args.min_len < 0 or args.max_len < max(args.min_len, 1):
        raise RaspError(f"lengths {args.min_len}-{args.max_len}: need 0 <= --min-len <= --max-len, --max-len >= 1")
    if args.examples < 1:
        raise RaspError("--examples must be at least 1")
    reference = load_reference(args.reference)
    program = load_program(args.program, args.output)
    if args.vocab:
        vocab = parse_vocab(args.vocab)
    else:
        vocab = program.sample_vocab()
    unique = args.unique or program.tree.distinct
    if unique and args.min_len > len(vocab):
        raise RaspError(f"--min-len {args.min_len} needs more distinct tokens than the vocabulary's {len(vocab)}")
    found, tried = find_counterexample(program, reference, vocab, args.min_len, args.max_len, unique,
                                       args.examples, args.compiled)
    if args.json:
        print(json.dumps({"ok": found is None, "examples": tried, "vocab": vocab, "min_len": args.min_len,
                          "max_len": args.max_len, "compiled": args.compiled,
                          "counterexample": None if found is None else found.as_dict()},
                         ensure_ascii=False, default=str))
    elif found is None:
        what = "the program and its compiled model agree" if args.compiled else "the program agrees"
        print(f"ok: {what} with {args.reference} on {tried} inputs of lengths {args.min_len}-{args.max_len} "
              f"over {vocab}")
    else:
        print(f"counterexample (shrunk): {found.describe()}")
    return 0 if found is None else 1


def _add_repl(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repl", help="explore RASP interactively (or run statements piped in)",
                       description="An interactive RASP session: every new s-op is shown on a running "
                                   "example, every selector as a matrix. With standard input not a "
                                   "terminal, reads statements from it. Type help inside for commands.")
    p.set_defaults(handler=lambda args: __import__("rasp.faces.repl").faces.repl.main())


def _add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the program library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rasp", description="Run, check and study RASP programs.")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    _add_compile(sub)
    _add_analyze(sub)
    _add_train(sub)
    _add_experiment(sub)
    _add_check(sub)
    _add_repl(sub)
    _add_list(sub)
    return p


def read_inputs(args: argparse.Namespace) -> list[list[Any]]:
    from rasp.language.inputs import parse_input

    if args.input is not None:
        return [parse_input(text, f"<input {i + 1}>") for i, text in enumerate(args.input)]
    if args.inputs == "-":
        text, path = sys.stdin.read(), "<stdin>"
    else:
        path = args.inputs
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RaspError(f"cannot read inputs file {path}: {getattr(e, 'strerror', None) or e}") from None
    inputs = [parse_input(line, path, number)
              for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not inputs:
        raise RaspError(f"{path} holds no inputs")
    return inputs


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
    compiled_from = model.meta.get("program", {})
    if compiled_from.get("sha256") and compiled_from["sha256"] != program.digest:
        raise RaspError(f"{args.model} was compiled from another version of the program "
                        f"({compiled_from.get('path')}); compile it again")
    if compiled_from.get("output") != program.output_name:
        raise RaspError(f"{args.model} computes '{compiled_from.get('output')}', not "
                        f"'{program.output_name}'; pass --output {compiled_from.get('output')}")
    if args.causal and not model.causal:
        raise RaspError(f"{args.model} was compiled without --causal")
    return Runner(model).run(inputs)


def parse_vocab(text: str) -> list[Any]:
    from rasp.language.inputs import parse_input

    vocab = parse_input(text, "<vocab>")
    if not vocab:
        raise RaspError("the vocabulary is empty")
    unique = list(dict.fromkeys(vocab))
    if len(unique) != len(vocab):
        raise RaspError(f"the vocabulary lists a token twice: {vocab}")
    return unique


def _compile(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    vocab = parse_vocab(args.vocab)
    if args.max_len < 1:
        raise RaspError("--max-len must be at least 1")
    if args.samples < 1:
        raise RaspError("--samples must be at least 1")
    program = load_program(args.program, args.output)
    from compiler import compile_program, model as saved, report

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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return EXIT_ERROR
    return guarded(args.handler, args, debug=args.debug)


def guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace, debug: bool) -> int:
    """Run a command; turn every failure into a one-screen message and an exit status."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    try:
        return handler(args)
    except RaspError as e:
        if debug:
            raise
        print(e.format(), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print("error: out of memory: run fewer or shorter inputs at once", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # a bug of ours: say so plainly, without a traceback
        if debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback, "
              "and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
