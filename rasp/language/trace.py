"""A program's values on one input: every named s-op and selector, in the order the program
builds them.

    trace = load_program("sort").trace("cab")
    trace["target"].value                      # -> [2, 0, 1]
    print(trace)                               # a text table; in a notebook, an HTML table

Which values are listed: every s-op and selector that the program names (the first name it is
assigned to, inside a function too) and that its output or one of its top-level names is computed
from, and the output itself. Values that have no name (`select(...)` written inside an
`aggregate(...)`, `length - 1`) are left out unless `unnamed=True`, which lists them under their
operation (`select`, `map -`). The built-in inputs (`tokens`, `indices`, `length`) are not listed:
the trace's tokens are the input. A function called twice gives its named values twice.

The order is the order the program builds them: each value after the values it reads, the
top-level names in the order they are assigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from numbers import Number
from typing import Any

from grammar.errors import RaspError
from rasp.language import sops
from rasp.language.notebook import Html, table
from rasp.language.values import Kind, is_atom, show_sequence, show_value

INPUTS = (sops.Tokens, sops.Indices, sops.Length)


@dataclass(frozen=True)
class TraceEntry:
    """One s-op or selector on the input.

    `name`: the name the program gives it (the operation, as in `sops.operation_name`, for an
    unnamed value). `kind`: `Kind.SOP` or `Kind.SELECTOR`. `operation`: what it does ("select",
    "aggregate", "map +", ...). `line`, `col`: where the expression that computes it starts (in a
    function's body for a value the function returns; in the loaded file for a loaded value;
    None when it has no position). `value`: an s-op's value at each position, or a selector's
    matrix as rows of booleans, one row per query position, one column per key position.
    `output`: whether it is the program's output.
    """

    name: str
    kind: Kind
    operation: str
    line: int | None
    col: int | None
    value: list[Any]
    output: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": str(self.kind), "operation": self.operation, "line": self.line,
                "col": self.col, "value": self.value, "output": self.output}


@dataclass(frozen=True)
class Trace:
    """A program's values on one input.

    `program`: the library name or path of the program. `output`: the name of its output s-op.
    `tokens`: the input. `causal`: whether it ran causally (each query sees the keys at and
    before it). `entries`: the values, in program order (see the module's docstring).
    """

    program: str
    output: str
    tokens: list[Any]
    causal: bool
    entries: tuple[TraceEntry, ...]

    def __getitem__(self, name: str) -> TraceEntry:
        """The last entry of this name (a name assigned in a loop has several)."""
        for entry in reversed(self.entries):
            if entry.name == name:
                return entry
        raise KeyError(name)

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]

    def as_dict(self) -> dict[str, Any]:
        """The trace, JSON-ready."""
        return {"program": self.program, "output": self.output, "tokens": self.tokens, "causal": self.causal,
                "entries": [entry.as_dict() for entry in self.entries]}

    def title(self) -> str:
        mode = ", causal" if self.causal else ""
        return f"{self.program} -> {self.output} on {show_sequence(self.tokens)}{mode}"

    def __str__(self) -> str:
        labels = [show_value(t) for t in self.tokens]
        names = [e.name + (" (output)" if e.output else "") for e in self.entries]
        width = max([len("name"), *map(len, names)])
        lines = [self.title(), f"{'name'.ljust(width)}  line  value"]
        indent = " " * (width + 8)
        for entry, name in zip(self.entries, names):
            line = "" if entry.line is None else str(entry.line)
            head = f"{name.ljust(width)}  {line.rjust(4)}  "
            if entry.kind is Kind.SELECTOR:
                lines.append(head + "selector (queries down, keys across)")
                lines += [indent + row for row in matrix_lines(labels, entry.value)]
            else:
                lines.append(head + "[" + ", ".join(show_value(v) for v in entry.value) + "]")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        labels = [show_value(t) for t in self.tokens]
        rows = []
        for entry in self.entries:
            if entry.kind is Kind.SELECTOR:
                shown: Any = matrix_html(labels, entry.value)
            else:
                shown = "[" + ", ".join(show_value(v) for v in entry.value) + "]"
            name = Html(f"<b>{escape(entry.name)}</b>") if entry.output else entry.name
            rows.append([name, "" if entry.line is None else entry.line, entry.operation, shown])
        return table(["name", "line", "operation", "value"], rows, caption=self.title())


def matrix_lines(labels: list[str], matrix: list[list[bool]]) -> list[str]:
    """A selector as text: key tokens along the top, query tokens down the side, `1` where the
    query selects the key, `.` where it does not."""
    if not labels:
        return ["(the input is empty)"]
    width = max(len(label) for label in labels)
    lines = [" " * (width + 1) + " ".join(label.rjust(width) for label in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.rjust(width) + " " + " ".join(("1" if v else ".").rjust(width) for v in row))
    return lines


def matrix_html(labels: list[str], matrix: list[list[bool]]) -> Html:
    """A selector as an HTML grid: key tokens as column labels, query tokens as row labels."""
    shade = ' style="background: #9ecae1"'
    head = "<tr><th></th>" + "".join(f"<th>{escape(label)}</th>" for label in labels) + "</tr>"
    body = "".join("<tr><th>" + escape(label) + "</th>"
                   + "".join(f"<td{shade}>1</td>" if v else "<td>.</td>" for v in row) + "</tr>"
                   for label, row in zip(labels, matrix))
    return Html(f'<table style="border-collapse: collapse; text-align: center">{head}{body}</table>')


def listed(program: Any, unnamed: bool) -> list[sops.Value]:
    """The values a trace shows, in program order."""
    roots = [v for _, v in program.env.assigned if isinstance(v, sops.Value)] + [program.output]
    return [node for node in sops.walk(roots)
            if node is program.output or (not isinstance(node, INPUTS) and (unnamed or node.label is not None))]


def trace(program: Any, tokens: list[Any] | str, causal: bool | None = None, unnamed: bool = False) -> Trace:
    """The program's values on `tokens` (a string is one token per character). Raises a `RaspError`
    on what is not one input of tokens, and the interpreter's on an input the program does not
    accept."""
    if not isinstance(tokens, (list, tuple, str)):
        raise RaspError(f"a trace runs one input, a list of tokens or a string, not {type(tokens).__name__}")
    tokens = list(tokens)
    for position, token in enumerate(tokens):
        if not (is_atom(token) or isinstance(token, Number)):
            raise RaspError(f"token {token!r} at position {position} is not a string, number or boolean "
                            "(a trace runs one input)")
    causal = program.causal if causal is None else causal
    nodes = listed(program, unnamed)
    arrays = program.run_arrays([tokens], nodes, causal)
    entries = []
    for node, (array,) in zip(nodes, arrays):
        span = node.span
        entries.append(TraceEntry(
            name=node.label or sops.operation_name(node),
            kind=Kind.SELECTOR if isinstance(node, sops.Selector) else Kind.SOP,
            operation=str(sops.operation_name(node)),
            line=None if span is None else span.line, col=None if span is None else span.col,
            value=array.tolist(), output=node is program.output))
    return Trace(program.display_name, program.output_name, tokens, causal, tuple(entries))
