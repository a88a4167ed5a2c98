"""`rasp train` and `rasp experiment`: learned models beside compiled ones, at held-out lengths."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from grammar.errors import RaspError
from predictor.encodings import Init, PositionalEncoding, positional_encoding
from rasp.faces import jsonout
from rasp.faces.cli.options import SAMPLED_VOCAB, count, parse_lengths, parse_token, parse_vocab


def add(sub: argparse._SubParsersAction) -> None:
    _add_train(sub)
    _add_experiment(sub)


ENCODINGS = ", ".join(PositionalEncoding)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    """Options `rasp train` and `rasp experiment` share; each overrides the protocol's setting."""
    from predictor.protocols import PROTOCOLS

    p.add_argument("--protocol", metavar="NAME", help=f"the training-and-testing recipe: {', '.join(PROTOCOLS)} "
                   "(default cpu; demo for the demo suite; see docs/experiments.md)")
    p.add_argument("--steps", type=count(1, 10_000_000), metavar="N", help="the step cap (training stops earlier when it fits)")
    p.add_argument("--batch-size", type=count(1, 65_536), metavar="B", help="examples per step (protocol: 64)")
    p.add_argument("--eval-examples", type=count(1, 100_000), metavar="K", help="fresh evaluation inputs per length")
    p.add_argument("--no-offsets", action="store_true",
                   help="train learned positions without random offsets (they then cannot extrapolate)")
    p.add_argument("--init", choices=[str(i) for i in Init],
                   help="weight initialisation: haiku's defaults, or GPT-2's with a tied output layer "
                        "(every protocol: gpt2)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from predictor.samplers import SAMPLERS
    from predictor.tasks import FRAMINGS

    p = sub.add_parser("train", help="train a transformer on a program's task and test it at longer lengths",
                       description="Train a transformer on PROGRAM's task at the train lengths, then report "
                                   "exact match (EM) at every train and held-out length, beside the compiled "
                                   "model of the same program. PROGRAM is a suite task name (see docs/"
                                   "experiments.md), a library program, or a .rasp path. A rerun of the same "
                                   "command resumes from its checkpoints.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--output", metavar="NAME", help="the s-op that labels the task (default: the last one)")
    p.add_argument("--vocab", metavar="V", help="input tokens, as for rasp compile (default: a suite task's "
                   "own vocabulary, cut for distinct tokens to the longest held-out length; for any other program "
                   f"{SAMPLED_VOCAB})")
    p.add_argument("--framing", choices=FRAMINGS, help="per-position labels, or autoregressive generation")
    p.add_argument("--sampler", choices=list(SAMPLERS), help="how inputs are drawn (default uniform; "
                   "unique for programs marked distinct)")
    p.add_argument("--separator", metavar="TOKEN", help="autoregressive: the token between input and output")
    p.add_argument("--end", metavar="TOKEN", help="autoregressive: the token that ends the output")
    p.add_argument("--train-lengths", metavar="A-B", help="lengths trained on (cpu protocol: 1-30)")
    p.add_argument("--heldout-lengths", metavar="C-D", help="longer lengths tested (cpu protocol: 31-60)")
    p.add_argument("--pe", metavar="P", help=f"positional encoding: {ENCODINGS} (protocol: learned)")
    p.add_argument("--seed", type=count(0, 2**32 - 1), default=0)
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
    p.add_argument("--seeds", type=count(1, 1000), default=5, metavar="K", help="seeds per task (default 5)")
    p.add_argument("--pe", nargs="+", metavar="P",
                   help=f"positional encodings to compare ({ENCODINGS}; default the protocol's, learned)")
    p.add_argument("--tasks", metavar="A,B", help="only these tasks of the suite")
    p.add_argument("--out", metavar="DIR", help="where to write (default experiment-SUITE)")
    from predictor.executors import Executor

    p.add_argument("--executor", choices=[str(e) for e in Executor], default="local",
                   help="local: one run after another here (default); ray: each run a Ray task, on a local "
                        "Ray instance or the cluster at --address (docs/distributed.md)")
    p.add_argument("--address", metavar="ADDRESS", help="ray: an existing cluster's head, HOST:PORT (or auto); "
                   "without it a Ray instance is started on this machine for the suite")
    p.add_argument("--cpus-per-run", type=count(1, 1024), metavar="N",
                   help="ray: CPU cores each run asks for, and its XLA thread count (default: it asks for 1 "
                        "and its threads are not limited, so its numbers equal a local run's bit for bit)")
    p.add_argument("--gpus-per-run", type=_gpus, metavar="G",
                   help="ray: GPUs each run asks for (a fraction shares one; default 1 where the cluster has GPUs, else 0)")
    p.add_argument("--retries", type=count(0, 100), default=2, metavar="R",
                   help="ray: times a run whose worker died is started again, from its last checkpoint (default 2)")
    _add_train_options(p)
    p.set_defaults(handler=_experiment)


def _gpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of GPUs from 0 to 64, got '{text}'")
    return value


def _protocol(args: argparse.Namespace, default: str) -> Any:
    from dataclasses import replace

    from predictor.protocols import protocol

    chosen = protocol(args.protocol or default)
    return replace(chosen, init=args.init) if args.init else chosen


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings given on the command line (None: the protocol's)."""
    return {"steps": args.steps, "batch_size": args.batch_size, "offsets": False if args.no_offsets else None}


def _pes(args: argparse.Namespace, protocol: Any) -> list[str]:
    given = args.pe if isinstance(args.pe, list) else ([args.pe] if args.pe else [])
    return list(dict.fromkeys(str(positional_encoding(pe)) for pe in given)) or [str(protocol.pe)]


def _train(args: argparse.Namespace) -> int:
    from predictor.protocols import apply
    from predictor.tasks import task_for

    protocol = _protocol(args, "cpu")
    task = task_for(args.program, parse_vocab(args.vocab) if args.vocab else None, output=args.output,
                    framing=args.framing, sampler=args.sampler, separator=parse_token(args.separator),
                    end=parse_token(args.end), train_lengths=parse_lengths(args.train_lengths, "--train-lengths"),
                    heldout_lengths=parse_lengths(args.heldout_lengths, "--heldout-lengths"))
    task = apply(protocol, task, own_vocab=args.vocab is None)
    overrides = _overrides(args)
    pe = _pes(args, protocol)[0]
    program = task.load()
    from predictor.experiment import train_and_evaluate, train_config

    config = train_config(protocol, task.name, args.seed, **overrides)
    from rich.console import Console

    Console(stderr=True).print(
        f"{task.name} under the {protocol.name} protocol: {pe} positions{' with offsets' if config.offsets else ''}, "
        f"{protocol.for_task(task.name).init} initialisation, "
        f"train lengths {task.train_lengths[0]}-{task.train_lengths[1]}, at most {config.steps} steps"
        f"{f' (stops when a fit check every {config.check_every} steps reaches EM {config.fit_em})' if config.check_every else ''}; "
        f"then evaluation at every length{'' if args.no_compiled else ' and the compiled model beside it'}")
    result = train_and_evaluate(task, program, protocol, pe, config, Path(args.runs),
                                args.eval_examples or protocol.eval_per_length, progress=True,
                                compiled=not args.no_compiled)
    if args.json:
        print(jsonout.dumps(result, ensure_ascii=False, default=str))
    else:
        from predictor.results import show_run

        show_run(result)
    return 0


def _experiment(args: argparse.Namespace) -> int:
    import time

    from predictor import results
    from predictor.experiment import run_suite
    from predictor.protocols import apply
    from predictor.tasks import load_suite

    start = time.perf_counter()
    protocol = _protocol(args, "demo" if args.suite == "demo" else "cpu")
    tasks = [apply(protocol, t) for t in load_suite(args.suite, args.tasks.split(",") if args.tasks else None)]
    overrides = _overrides(args)
    if args.seeds < 1:
        raise RaspError("--seeds must be at least 1")
    out = Path(args.out or f"experiment-{Path(args.suite).stem}")
    from rich.console import Console

    console = Console(stderr=True)
    from predictor.executors import Executor, RaySettings, executor

    kind = Executor(args.executor)
    if kind is Executor.LOCAL and (args.address or args.cpus_per_run or args.gpus_per_run is not None):
        raise RaspError("--address, --cpus-per-run and --gpus-per-run go with --executor ray")
    settings = RaySettings(args.address, args.cpus_per_run, args.gpus_per_run, args.retries)
    with executor(kind, settings, progress=True) as execute:  # connected, and resources checked, before any run
        result = run_suite(tasks, list(range(args.seeds)), _pes(args, protocol), protocol, out, overrides,
                           args.eval_examples, progress=True, say=console.print, execute=execute)
    command = shlex.join(["rasp", *args.argv])  # as given, also when called from Python (make demo)
    paths = results.write(result, out, command, round(time.perf_counter() - start, 1))
    if args.json:
        print(jsonout.dumps(result["summary"], default=str))
    else:
        results.show_summary(result)
        print(f"report: {paths[2]} (with results.json, results.csv and plots in {out})")
    return 0
