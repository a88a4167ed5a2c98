"""How values look to people: tokens and outputs in tables (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rasp.language.values import show_sequence, show_value

__all__ = ["outputs_table", "show_sequence", "show_value"]


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
