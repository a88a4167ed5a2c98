"""`rasp check`: a program against a Python reference, with Hypothesis shrinking."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from grammar.errors import RaspError
from rasp.faces import jsonout
from rasp.faces.cli.options import SAMPLED_VOCAB, count, parse_vocab


def add(sub: argparse._SubParsersAction) -> None:
    _add_check(sub)


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="test a program against a Python reference with Hypothesis",
                       description="Run PROGRAM and a reference Python function on random inputs of every "
                                   "length from --min-len to --max-len. Exit 0 when they agree on every "
                                   "input; exit 1 with the shrunk counterexample when they do not.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("--reference", required=True, metavar="MODULE:FUNCTION",
                   help="a function from a list of tokens to the list of outputs; MODULE is a module "
                        "name or a path to a .py file, imported and so run (its top-level code too)")
    p.add_argument("--output", metavar="NAME", help="the s-op to check (default: the last one)")
    p.add_argument("--vocab", metavar="V", help=f"input tokens (default: {SAMPLED_VOCAB})")
    p.add_argument("--min-len", type=count(0, 4096), default=1, metavar="A", help="shortest input (default 1)")
    p.add_argument("--max-len", type=count(1, 4096), default=10, metavar="B", help="longest input (default 10)")
    p.add_argument("--examples", type=count(1, 1_000_000), default=200, metavar="K", help="inputs to try (default 200)")
    p.add_argument("--unique", action="store_true", help="inputs of distinct tokens (default for programs "
                   "marked `# rasp: distinct`)")
    p.add_argument("--compiled", action="store_true", help="check the compiled model (at --max-len) too")
    p.add_argument("--reference-timeout", type=float, default=10.0, metavar="S",
                   help="seconds the reference may take on one input (default 10)")
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
    from rasp.faces.testing import distinct_tokens, find_counterexample
    from rasp.language.values import plural
    from rasp.language.program import load_program

    if args.min_len < 0 or args.max_len < max(args.min_len, 1):
        raise RaspError(f"lengths {args.min_len}-{args.max_len}: need 0 <= --min-len <= --max-len, --max-len >= 1")
    if not args.reference_timeout > 0:
        raise RaspError("--reference-timeout must be a positive number of seconds")
    reference = load_reference(args.reference)
    program = load_program(args.program, args.output)
    if args.vocab:
        vocab = parse_vocab(args.vocab)
    else:
        vocab = program.sample_vocab()
    unique = args.unique or program.tree.distinct
    max_len = args.max_len
    if unique:  # an input of distinct tokens is no longer than the vocabulary
        distinct = distinct_tokens(vocab)
        if args.min_len > distinct:
            raise RaspError(f"--min-len {args.min_len} needs more distinct tokens than the vocabulary's {distinct}")
        if max_len > distinct:
            max_len = distinct
            if not args.json:
                print(f"note: inputs of distinct tokens over {vocab} are at most {distinct} long: checking "
                      f"lengths {args.min_len}-{max_len}, not up to --max-len {args.max_len}", file=sys.stderr)
    found, tried = find_counterexample(program, reference, vocab, args.min_len, max_len, unique,
                                       args.examples, args.compiled, seconds=args.reference_timeout)
    if args.json:
        print(jsonout.dumps({"ok": found is None, "examples": tried, "vocab": vocab, "min_len": args.min_len,
                          "max_len": max_len, "compiled": args.compiled,
                          "counterexample": None if found is None else found.as_dict()},
                         ensure_ascii=False, default=str))
    elif found is None:
        what = "the program and its compiled model agree" if args.compiled else "the program agrees"
        print(f"ok: {what} with {args.reference} on {plural(tried, 'input')} of lengths {args.min_len}-{max_len} "
              f"over {vocab}")
    else:
        print(f"counterexample (shrunk): {found.describe()}")
    return 0 if found is None else 1
