"""How the command line spells values: vocabularies, inputs, lengths, tokens."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grammar.errors import RaspError


def parse_vocab(text: str) -> list[Any]:
    from rasp.language.inputs import parse_input

    vocab = parse_input(text, "<vocab>")
    if not vocab:
        raise RaspError("the vocabulary is empty")
    unique = list(dict.fromkeys(vocab))
    if len(unique) != len(vocab):
        raise RaspError(f"the vocabulary lists a token twice: {vocab}")
    return unique


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
