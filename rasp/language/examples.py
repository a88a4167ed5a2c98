"""Examples written into programs as comments, checked by the pytest plugin and the docs tests.

    # example: hello -> olleh
    # example sorted: [3, 1, 2] -> [1, 2, 3]

One per line: `# example`, optionally the s-op to check (default: the program's output, its last
s-op), a colon, the input, ` -> `, and the output it must give. Both sides take the input forms of
`rasp run`: a JSON list, or a bare string of one-character tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grammar.errors import RaspError, Source, Span
from rasp.language.inputs import parse_input, same_value

EXAMPLE = re.compile(r"^[ \t]*#[ \t]*example(?:[ \t]+(?P<name>[A-Za-z_]\w*))?[ \t]*:(?P<body>.*)$", re.MULTILINE)


@dataclass
class Example:
    path: str
    line: int
    output: str | None  # the s-op to check, or None for the program's output
    input_text: str
    expected_text: str

    @property
    def label(self) -> str:
        target = f" {self.output}" if self.output else ""
        return f"line {self.line}{target}: {self.input_text.strip()}"

    def parse(self) -> tuple[list[Any], list[Any]]:
        return (parse_input(self.input_text.strip(), self.path, self.line),
                parse_input(self.expected_text.strip(), self.path, self.line))


def examples_in(text: str, path: str = "<string>") -> list[Example]:
    """Every example comment of a program's text; a malformed one is an error at its line."""
    found = []
    for match in EXAMPLE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        given, arrow, expected = match.group("body").rpartition(" -> ")
        if not arrow or not given.strip() or not expected.strip():
            col = match.start("body") - match.start() + 1
            raise RaspError("an example reads `# example: INPUT -> OUTPUT`", Span(Source(path, text), line, col))
        found.append(Example(path, line, match.group("name"), given, expected))
    return found


def matches(expected: list[Any], got: list[Any]) -> bool:
    return len(expected) == len(got) and all(same_value(e, g) for e, g in zip(expected, got))
