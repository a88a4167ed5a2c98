"""The one error type users see: `file:line:col: error: message`, the source line, a caret."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar


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


class SettingError(RaspError):
    """A setting a caller chose cannot be used (a batch too large for the machine, an end token
    the program never gives, an unknown positional encoding).

    The message speaks of values. Where it tells the user what to change, it writes the setting
    as a placeholder, `{batch_size}`, and `settings` gives the library's plain words for each
    ("the batch size"); a face renders the placeholders its own way with `naming` (the command
    line with its flags), so no layer below the faces needs to know how a setting is spelled.
    """

    def __init__(self, template: str, settings: dict[str, str], span: Span | None = None):
        self.template = template
        self.settings = dict(settings)
        super().__init__(self._render(self.settings), span)

    def _render(self, names: dict[str, str]) -> str:
        text = self.template
        for setting, words in self.settings.items():
            text = text.replace("{" + setting + "}", names.get(setting, words))
        return text

    def naming(self, names: dict[str, str]) -> RaspError:
        """The same error with each setting called by `names` (those it lacks keep their words)."""
        return RaspError(self._render(names), self.span)


Vocabulary = TypeVar("Vocabulary", bound=StrEnum)


def one_of(vocabulary: type[Vocabulary], name: str, what: str) -> Vocabulary:
    """The member of a closed vocabulary that `name` stands for, or a SettingError listing the
    known names; `what` is how the message calls the vocabulary ("positional encoding")."""
    try:
        return vocabulary(name)
    except ValueError:
        known = ", ".join(vocabulary)
        raise SettingError(f"unknown {what} '{name}' (use one of {known})", {}) from None
