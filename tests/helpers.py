"""Small helpers shared by the test files."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from rasp.language.program import Program, from_text


def cli(*args: str, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """The `rasp` command in a fresh interpreter, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def run(text: str, inputs: list[Any], output: str | None = None, causal: bool | None = None) -> list[list[Any]]:
    """Run program text on inputs given as strings (one token per character) or lists."""
    program = from_text(text, output)
    return program.run([list(i) if isinstance(i, str) else i for i in inputs], causal=causal)


def run1(text: str, given: Any, output: str | None = None, causal: bool | None = None) -> list[Any]:
    return run(text, [given], output, causal)[0]


def value(program: Program, name: str, given: Any, causal: bool | None = None) -> list[Any]:
    """One named s-op of a built program on one input."""
    tokens = list(given) if isinstance(given, str) else given
    (rows,) = program.run_arrays([tokens], [program.env.vars[name]], causal)
    return rows[0].tolist()
