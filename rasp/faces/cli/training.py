"""`rasp train` and `rasp experiment`: learned models beside compiled ones, at held-out lengths."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grammar.errors import RaspError
from predictor.encodings import PositionalEncoding, positional_encoding
from rasp.faces.cli.options import parse_lengths, parse_token, parse_vocab


def add(sub: argparse._SubParsersAction) -> None:
    _add_train(sub)
    _add_experiment(sub)


ENCODINGS = ", ".join(PositionalEncoding)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    """Options `rasp train` and `rasp experiment` share."""
    p.add_argument("--steps", type=int, metavar="N", help="training steps (default 2000; 1000 for the demo suite)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B", help="examples per step (default 64)")
    p.add_argument("--eval-examples", type=int, default=100, metavar="K",
                   help="fresh evaluation inputs per length (default 100)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


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


def _train_config(args: argparse.Namespace, default_steps: int) -> Any:
    from predictor.train import TrainConfig

    for pe in args.pe if isinstance(args.pe, list) else [args.pe]:
        positional_encoding(pe)
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
