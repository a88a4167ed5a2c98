"""`rasp run`: a program (or its compiled model) on inputs, and what it computes inside on one
input: every value and selector (`--trace`), a model's attention and residual stream
(`--attention`, `--residual`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from grammar.errors import RaspError
from rasp.faces import jsonout
from rasp.faces.cli.options import read_inputs
from rasp.language.values import plural

if TYPE_CHECKING:
    from compiler.model import CompiledModel
    from rasp.language.program import Program


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a program on inputs",
                       description="Run PROGRAM (a .rasp path or a library name) on inputs.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME",
                   help="the s-op to print, or a selector to print as a matrix (default: the last s-op the "
                        "file assigns)")
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
    p.add_argument("--trace", nargs="?", const="", metavar="FILE",
                   help="every s-op's value and every selector's matrix on the input, in program order, as a "
                        "table; with FILE (.png, .svg), the program graph with the values")
    p.add_argument("--attention", metavar="FILE",
                   help="with --model: draw every head's attention on the input (.png, .svg)")
    p.add_argument("--residual", metavar="FILE",
                   help="with --model: draw the residual stream after every sublayer on the input (.png, .svg)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rasp.language.program import load_program

    _check_pictures(args)
    inputs = read_inputs(args)
    selector = _selector(args)
    if selector is not None:
        return _run_selector(args, *selector, inputs)
    program = load_program(args.program, args.output)
    if args.trace is not None or args.attention or args.residual:
        if len(inputs) != 1:
            raise RaspError(f"--trace, --attention and --residual look at one input; {len(inputs)} were given")
    if args.trace is not None:
        return _trace(args, program, inputs[0])
    if args.model:
        model = _load_model(args, program)
        from compiler.runner import Runner

        runner = Runner(model)
        outputs = runner.run(inputs)
        if args.attention or args.residual:
            _pictures(args, runner.internals(inputs[0]), program)
    else:
        outputs = program.run(inputs, causal=True if args.causal else None)
    if args.json:
        for tokens, out in zip(inputs, outputs):
            print(jsonout.dumps({"input": tokens, "output": out}, ensure_ascii=False))
    else:
        from rasp.faces.display import outputs_table

        outputs_table(program, inputs, outputs)
    return 0


def _check_pictures(args: argparse.Namespace) -> None:
    """Refuse picture options that cannot work, before any work."""
    from rasp.faces.pictures import check_path

    if (args.attention or args.residual) and not args.model:
        raise RaspError("--attention and --residual draw a compiled model: give it with --model FILE "
                        "(from rasp compile -o FILE)")
    if args.trace is not None and args.model:
        raise RaspError("--trace shows the program's values; draw a model with --attention or --residual")
    for path in (args.attention, args.residual, args.trace or None):
        if path:
            check_path(path)


def _selector(args: argparse.Namespace) -> tuple[Program, Any] | None:
    """(the program, the selector) when --output names a selector."""
    if not args.output:
        return None
    from rasp.language.program import load_program
    from rasp.language.sops import Selector

    try:
        program = load_program(args.program)
    except RaspError:
        return None  # the load with --output below says what is wrong
    value = program.env.vars.get(args.output)
    return (program, value) if isinstance(value, Selector) else None


def _run_selector(args: argparse.Namespace, program: Program, selector: Any, inputs: list[list[Any]]) -> int:
    """A selector's matrix on each input: rows are queries, columns keys."""
    if args.model or args.trace is not None:
        raise RaspError(f"'{args.output}' is a selector: --model and --trace take an s-op")
    from rasp.language.trace import matrix_lines
    from rasp.language.values import show_value

    matrices = program.run_arrays(inputs, [selector], True if args.causal else None)[0]
    for tokens, matrix in zip(inputs, matrices):
        rows = matrix.tolist()
        if args.json:
            print(jsonout.dumps({"input": tokens, "output": rows}, ensure_ascii=False))
        else:
            print(f"{args.output} on {' '.join(show_value(t) for t in tokens)} (rows: queries, columns: keys)")
            print("\n".join(matrix_lines([show_value(t) for t in tokens], rows)))
    return 0


def _trace(args: argparse.Namespace, program: Program, tokens: list[Any]) -> int:
    trace = program.trace(tokens, causal=True if args.causal else None)
    if args.json:
        print(jsonout.dumps(trace.as_dict(), ensure_ascii=False))
    else:
        print(trace)
    if args.trace:
        from predictor.graph import program_graph
        from rasp.faces.pictures import trace_graph

        graph = program_graph(program.output)
        nodes = list(graph)
        arrays = program.run_arrays([tokens], nodes, True if args.causal else None)
        trace_graph(graph, {node: array[0] for node, array in zip(nodes, arrays)}, tokens, args.trace)
        print(f"wrote {args.trace}", file=sys.stderr)
    return 0


def head_titles(program: Program, internals: Any) -> list[str]:
    """Each head's title with the selector it compiles: its name, or its source line."""
    from rasp.language import sops

    titles = []
    for head in internals.heads:
        title = head.title
        if head.sop is not None and head.sop.line is not None:
            nodes = [n for n in sops.walk([program.output]) if isinstance(n, (sops.Aggregate, sops.SelectorWidth))
                     and n.span is not None and (n.span.line, n.span.col) == (head.sop.line, head.sop.col)]
            spans = {n.selector.span for n in nodes if n.selector.span is not None}
            if len(spans) == 1:  # one selector there (a function's body called twice has several)
                span = spans.pop()
                named = {n.selector.label for n in nodes} - {None}
                shown = named.pop() if len(named) == 1 else _call_at(span.source.line(span.line), span.col)
                title += f"\nselector {shown} (line {span.line})"
        titles.append(title.replace(": ", ":\n", 1))
    return titles


def _call_at(line: str, col: int, limit: int = 40) -> str:
    """The expression that starts at `col` of a source line, up to its closing bracket, cut to `limit`."""
    text, depth = line[col - 1:], 0
    for i, c in enumerate(text):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth == 0 and c in ")]}":
            text = text[:i + 1]
            break
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _pictures(args: argparse.Namespace, internals: Any, program: Program) -> None:
    from rasp.faces import pictures

    if args.attention:
        heads = pictures.attention(internals, args.attention, head_titles(program, internals))
        print(f"wrote {args.attention} ({plural(heads, 'head')})", file=sys.stderr)
    if args.residual:
        drawn, active = pictures.residual(internals, args.residual)
        print(f"wrote {args.residual} ({drawn} of {len(internals.residual_labels)} residual dimensions: "
              f"those active on this input{'' if drawn == active else f', the first {drawn} of {active}'})",
              file=sys.stderr)


def _load_model(args: argparse.Namespace, program: Program) -> CompiledModel:
    from compiler import model as saved

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
    return model
