"""`rasp inspect RUN_DIR`: did a trained model learn the program's mechanism? Its attention
heads matched against the compiled model's (`predictor.mechanism`), and both drawn on one input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grammar.errors import RaspError
from rasp.faces import jsonout
from rasp.faces.cli.options import count


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="compare a trained model's attention with the compiled program's",
                       description="Match every head of the compiled program with the trained run's head that "
                                   "attends most like it (total-variation distance over evaluation inputs at "
                                   "the first, middle and last training and held-out lengths), and draw both "
                                   "models' attention on one input.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (under the runs folder of rasp train or "
                                                       "rasp experiment)")
    p.add_argument("--input", required=True, metavar="TEXT",
                   help="the task input to draw (as for rasp run; the program's own prompt and output are added)")
    p.add_argument("-o", dest="picture", metavar="FILE", help="draw both models' attention on the input (.png, .svg)")
    p.add_argument("--examples", type=count(1, 64), default=4, metavar="K",
                   help="evaluation inputs per scored length (default 4)")
    p.add_argument("--json", action="store_true", help="print the matches as JSON")
    p.set_defaults(handler=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from rasp.faces.pictures import check_path
    from rasp.language.inputs import parse_input

    if args.picture:
        check_path(args.picture)
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise RaspError(f"{run_dir} is not a folder")
    tokens = parse_input(args.input, "<input 1>")
    from predictor.mechanism import inspect, load_run

    print(f"inspect: restoring {run_dir}, compiling the program, running both models...", file=sys.stderr, flush=True)
    run = load_run(run_dir)
    found = inspect(run, tokens, args.examples)
    if args.json:
        print(jsonout.dumps({"run_dir": str(run_dir), "step": run.step, **found.as_dict()}, ensure_ascii=False))
    else:
        _table(run, found)
    if args.picture:
        from rasp.faces.pictures import inspection

        inspection(found, args.picture)
        print(f"wrote {args.picture}", file=sys.stderr)
    return 0


def _table(run, found) -> None:
    from rich.console import Console
    from rich.table import Table

    task = run.task
    table = Table(title=f"{task.name} at step {run.step}: each compiled head's closest trained head "
                        "(agreement = 1 - mean total-variation distance of their attention)", title_justify="left")
    table.add_column("compiled head")
    table.add_column("trained head", justify="right")
    table.add_column("agreement", justify="right")
    for n in found.lengths:
        held = n > task.train_lengths[1]
        table.add_column(f"{n}{'*' if held else ''}", justify="right")
    for m in found.matches:
        table.add_row(m.compiled, f"layer {m.layer} head {m.head}", f"{m.agreement:.2f}",
                      *(f"{1 - m.by_length[n]:.2f}" if n in m.by_length else "" for n in found.lengths))
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(table)
    if not found.matches:
        console.print("the compiled program has no attention heads to match")
    console.print(f"columns by input length (* held out; trained on {task.train_lengths[0]}-{task.train_lengths[1]})")
