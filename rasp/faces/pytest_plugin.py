"""A pytest plugin (registered as the `rasp` entry point): files named `test_*.rasp` are
collected, and each `# example: INPUT -> OUTPUT` comment in them is a test, reported at its line.

A file without examples still yields one test: that it parses, checks and builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grammar.errors import RaspError
from rasp.language.examples import Example, examples_in, matches


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".rasp" and file_path.name.startswith("test_"):
        return RaspFile.from_parent(parent, path=file_path)
    return None


class RaspFile(pytest.File):
    def collect(self):
        try:
            examples = examples_in(self.path.read_text(encoding="utf-8"), str(self.path))
        except RaspError as e:
            yield RaspExample.from_parent(self, name="examples", example=None, error=e)
            return
        if not examples:
            yield RaspExample.from_parent(self, name="builds", example=None)
        for example in examples:
            yield RaspExample.from_parent(self, name=example.label, example=example)


class ExampleFailed(Exception):
    pass


class RaspExample(pytest.Item):
    def __init__(self, *, example: Example | None, error: RaspError | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.example = example
        self.error = error

    def runtest(self) -> None:
        from rasp.faces.display import show_sequence
        from rasp.language.program import load_program

        if self.error is not None:
            raise self.error
        program = load_program(str(self.path), self.example.output if self.example else None)
        if self.example is None:
            return
        given, expected = self.example.parse()
        got = program.run([given])[0]
        if not matches(expected, got):
            raise ExampleFailed(f"{self.path}:{self.example.line}: example failed: "
                                f"{program.output_name} on {show_sequence(given)}\n"
                                f"  expected: {show_sequence(expected)}\n  got:      {show_sequence(got)}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo, style: Any = None) -> str:
        if isinstance(excinfo.value, ExampleFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, RaspError):
            return excinfo.value.format()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.example.line if self.example else 1
        return self.path, line - 1, f"{self.path.name}:{line}: {self.name}"
