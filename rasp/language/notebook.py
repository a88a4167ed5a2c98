"""How results look in a Jupyter notebook: small HTML tables, every piece of user text escaped.

`Program`, `Trace`, the compile result and the analysis each have a `_repr_html_` built from
these pieces, and a `__repr__` of one or a few lines (`program_repr`). The functions here
take a `program.Program` (which imports this module, so it is not named in the annotations).
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable

from grammar import ast
from rasp.language import sops

STYLE = "border-collapse: collapse; text-align: left"


class Html(str):
    """Text that is already HTML: `table` puts it in a cell as it is (everything else is escaped)."""


def cell(value: Any) -> str:
    return value if isinstance(value, Html) else escape(str(value))


def table(header: Iterable[Any], rows: Iterable[Iterable[Any]], caption: str | None = None) -> Html:
    """An HTML table; cells are plain text (escaped) unless they are `Html`."""
    parts = [f'<table style="{STYLE}">']
    if caption is not None:
        parts.append(f'<caption style="text-align: left">{cell(caption)}</caption>')
    parts.append("<thead><tr>" + "".join(f"<th>{cell(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>")
    parts.append("</tbody></table>")
    return Html("".join(parts))


def paragraph(text: Any) -> Html:
    return Html(f"<p>{cell(text)}</p>")


def items(texts: Iterable[Any]) -> Html:
    """A bulleted list."""
    return Html("<ul>" + "".join(f"<li>{cell(t)}</li>" for t in texts) + "</ul>")


def counts(program: Any) -> tuple[int, int, int]:
    """A program's source lines, and the s-ops and selectors its output is computed from."""
    nodes = list(sops.walk([program.output]))
    selectors = sum(isinstance(n, sops.Selector) for n in nodes)
    return len(program.tree.source.text.splitlines()), len(nodes) - selectors, selectors


def program_repr(program: Any) -> str:
    """One line: where the program comes from, its output, its size, causal or not."""
    lines, sop_count, selector_count = counts(program)
    mode = "causal" if program.causal else "not causal"
    return (f"<Program {program.display_name} -> {program.output_name}: {lines} lines, {sop_count} s-ops and "
            f"{selector_count} selectors computing the output, {mode}>")


def output_lines(program: Any) -> set[int]:
    """The lines of the top-level statements that assign the output (the last one decides)."""
    found: set[int] = set()
    for stmt in program.tree.statements:
        if isinstance(stmt, ast.Assign) and program.output_name in stmt.targets:
            found = {stmt.span.line}
    return found


def program_html(program: Any) -> Html:
    """The program's summary and its source with line numbers, the output's assignment marked."""
    marked = output_lines(program)
    lines = program.tree.source.text.splitlines()
    width = len(str(len(lines)))
    shown = []
    for number, line in enumerate(lines, start=1):
        text = f"{str(number).rjust(width)}  {escape(line)}"
        shown.append(f"<mark>{text}</mark>" if number in marked else text)
    head = escape(program_repr(program).removeprefix("<").removesuffix(">"))
    return Html(f"<div><p>{head}</p><pre>{chr(10).join(shown)}</pre></div>")
