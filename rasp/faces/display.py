"""How values look to people: tokens and outputs in tables (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def show_value(v: Any) -> str:
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        text = f"{v:.3f}".rstrip("0").rstrip(".")
        return text if text not in ("-0", "") else "0"
    return str(v)


def show_sequence(values: list[Any]) -> str:
    if all(isinstance(v, str) and len(v) == 1 for v in values):
        return "".join(values) if values else "(empty)"
    return "[" + ", ".join(show_value(v) for v in values) + "]"


def outputs_table(program: Any, inputs: list[list[Any]], outputs: list[list[Any]],
                  console: Console | None = None) -> None:
    console = console or Console()
    mode = " (causal)" if program.causal else ""
    table = Table(title=Text(f"{program.display_name} → {program.output_name}{mode}"),
                  title_justify="left", show_lines=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("input", overflow="fold")
    table.add_column("output", overflow="fold")
    for i, (tokens, out) in enumerate(zip(inputs, outputs), start=1):
        table.add_row(str(i), Text(show_sequence(tokens)),
                      Text("[" + ", ".join(show_value(v) for v in out) + "]"))
    console.print(table)
