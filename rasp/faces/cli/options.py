"""How the command line spells values: vocabularies, inputs, lengths, tokens."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grammar.errors import RaspError, Source, Span


# What --vocab defaults to where it is optional (`rasp.language.inputs.sample_vocab`).
SAMPLED_VOCAB = ("the letters a, b, c, d (the numbers 0-5 when the program reads tokens as numbers), plus "
                 "every one-character string and every digit 0-9 the program's operations use as a constant")


def count(low: int, high: int):
    """An argparse type: a whole number from `low` to `high`, so that no option asks for more
    than a machine can do (`--samples 1e9`) before any work starts."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:,} is outside {low:,} to {high:,}")
        return value

    return parse


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
    except ValueError:  # not JSON, or a number of more than 4,300 digits: the text itself
        return text
    return value if isinstance(value, (str, int, float, bool)) else text


MAX_INPUTS_BYTES = 64 * 2**20  # an inputs file (or standard input) is read no further than this


def read_inputs(args: argparse.Namespace) -> list[list[Any]]:
    """The inputs of `--input` or `--inputs FILE` (`-`: standard input): one per line, lines split
    at newlines only (a U+2028 inside an input is a character of it), UTF-8 strictly."""
    from rasp.language.inputs import parse_input

    if args.input is not None:
        return [parse_input(text, f"<input {i + 1}>") for i, text in enumerate(args.input)]
    path = "<stdin>" if args.inputs == "-" else args.inputs
    try:
        if args.inputs == "-":
            data = sys.stdin.buffer.read(MAX_INPUTS_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_INPUTS_BYTES + 1)
    except OSError as e:
        raise RaspError(f"cannot read inputs file {path}: {e.strerror}") from None
    if len(data) > MAX_INPUTS_BYTES:
        raise RaspError(f"{path} holds more than {MAX_INPUTS_BYTES // 2**20} MiB of inputs; split it into "
                        "several runs")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise RaspError("not UTF-8 text: this byte is not valid UTF-8", Span(Source(path, ""), line, column)) from None
    inputs = [parse_input(line.removesuffix("\r"), path, number)
              for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not inputs:
        raise RaspError(f"{path} holds no inputs")
    return inputs
