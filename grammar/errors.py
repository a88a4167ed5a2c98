"""The one error type users see: `file:line:col: error: message`, the source line, a caret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """A named text: a program file, a command-line input, a line of an inputs file."""

    path: str
    text: str = field(repr=False)

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """Where a node starts in its source (1-based line and column)."""

    source: Source = field(compare=False, repr=False)
    line: int
    col: int

    @property
    def path(self) -> str:
        return self.source.path

    def __str__(self) -> str:
        return f"{self.source.path}:{self.line}:{self.col}"


class RaspError(Exception):
    """An error in a program or its input, reported at a source position.

    `span` may be None for errors that have no position (a missing file named on the
    command line); then only `error: message` is printed.
    """

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def format(self) -> str:
        if self.span is None:
            return f"error: {self.message}"
        text = self.span.source.line(self.span.line)
        head = f"{self.span}: error: {self.message}"
        if not text.strip():
            return head
        shown = text.expandtabs(1)
        if len(shown) > 200:  # keep a window around the column on very long lines
            start = max(0, self.span.col - 100)
            shown = shown[start:start + 200]
            caret_col = self.span.col - start
        else:
            caret_col = self.span.col
        return f"{head}\n    {shown}\n    {' ' * (caret_col - 1)}^"

    def __str__(self) -> str:
        return self.format()
