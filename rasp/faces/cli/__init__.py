"""The `rasp` command. Errors print as `file:line:col: error: ...` and exit with status 2;
a traceback only with --debug.

Each group of sub-commands lives in a module of its own (programs, training, checking,
exporting); this module builds the parser from them and turns every failure into a message and
an exit status.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from grammar.errors import RaspError, SettingError
from rasp import __version__
from rasp.faces.cli import checking, exporting, inspecting, programs, running, training

EXIT_ERROR = 2

# How the command line spells the settings that library errors name (see SettingError).
FLAGS = {"batch_size": "--batch-size", "end": "--end", "separator": "--separator", "runs": "--runs",
         "address": "--address", "cpus_per_run": "--cpus-per-run", "gpus_per_run": "--gpus-per-run"}


def _add_repl(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repl", help="explore RASP interactively (or run statements piped in)",
                       description="An interactive RASP session: every new s-op is shown on a running "
                                   "example, every selector as a matrix. With standard input not a "
                                   "terminal, reads statements from it. Type help inside for commands.")
    p.set_defaults(handler=_repl)


def _repl(args: argparse.Namespace) -> int:
    from rasp.faces.repl import main as repl

    return repl()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rasp", description="Run, check and study RASP programs.")
    p.add_argument("--version", action="version", version=f"rasp (lengthwise) {__version__}")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    running.add(sub)
    programs.add(sub)
    training.add(sub)
    checking.add(sub)
    exporting.add(sub)
    inspecting.add(sub)
    _add_repl(sub)
    programs.add_list(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given (results record it)
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
        shown = e.naming(FLAGS) if isinstance(e, SettingError) else e
        print(shown.format(), file=sys.stderr)
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
