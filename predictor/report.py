"""The analysis for people (verdict first, then its reasons, the findings with source excerpts,
the C-RASP witness, the searches) and the drawing of the program graph, coloured by C-RASP sort."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grammar.errors import RaspError
from predictor.analysis import Analysis
from predictor.graph import layered
from rasp.language.files import save_figure, write_text
from rasp.language.values import plural

STYLE = {"yes": "bold green", "no": "bold red", "unknown": "bold yellow"}


def show(analysis: Analysis, program_name: str, console: Console | None = None) -> None:
    console = console or Console()
    verdict = str(analysis.verdict)
    setting = analysis.setting
    console.print(Text(f"{program_name}: will it length-generalize? {verdict} (probability "
                       f"{analysis.probability:.2f})", style=STYLE[verdict]))
    console.print(Text(f"setting: {setting.protocol or 'default'} (positions {setting.pe}, offsets "
                       f"{'on' if setting.offsets else 'off'}, training lengths {setting.train_lengths[0]}-"
                       f"{setting.train_lengths[1]}); vocabulary {analysis.vocab}; "
                       f"{'causal' if analysis.causal else 'not causal'}"))
    for reason in analysis.reasons:
        console.print(Text(f"  - {reason}"))
    if analysis.findings:
        console.print(Text(f"\n{plural(len(analysis.findings), 'construct')} outside C-RASP[periodic, local]:", style="bold"))
        for f in analysis.findings:
            console.print(Text(f"  line {f.line}, col {f.col}: [{f.rule}] {f.message}"))
            if f.source:
                console.print(Text(f"      {f.source}", style="dim"))
    elif analysis.crasp.witness:
        console.print(Text("\nC-RASP witness (each s-op, as the fragment computes it):", style="bold"))
        for line in analysis.crasp.witness.splitlines():
            console.print(Text(f"  {line}"))
    if analysis.growing:
        table = Table("s-op", "values at 8", "values at 16", box=None, title="values that grow with the length",
                      title_justify="left")
        for g in analysis.growing:
            table.add_row(g.name, "many" if g.short is None else str(g.short), "many" if g.long is None else str(g.long))
        console.print(table)
    if analysis.minimal:
        m = analysis.minimal
        on = f", on {m['domain']}" if m.get("domain") else ""
        console.print(Text(f"\nminimality: the program has {m['size']} operations; shortest equivalent found: "
                           f"{m['witness_size']} (searched up to {m['searched_up_to']}{on})", style="bold"))
        if m.get("witness"):
            for line in m["witness"].splitlines():
                console.print(Text(f"  {line}", style="dim"))
    if analysis.diversity:
        d = analysis.diversity
        on = f" on {d['domain']}" if d.get("domain") else ""
        if d.get("ambiguous"):
            console.print(Text(f"diversity{on}: ambiguous at lengths {d['train_lengths'][0]}-{d['train_lengths'][1]}; "
                               f"this shortcut fits them and differs on {d['differs_on']}:", style="bold"))
            for line in (d.get("shortcut") or "").splitlines():
                console.print(Text(f"  {line}", style="dim"))
        else:
            console.print(Text(f"diversity: no shortcut up to size {d['searched_up_to']}{on}"))
    if analysis.realizable is not None:
        r = analysis.realizable
        console.print(Text(f"realizable: {'yes' if r.ok else 'no'} against the reference up to length {r.max_len} "
                           f"({plural(r.tried, 'input')})" + ("" if r.ok else f"; counterexample {r.counterexample}")))


COLOURS = {"finite": "#8dd3c7", "count": "#80b1d3", "ratio": "#bebada", "outside": "#fb8072", None: "#dddddd"}



def draw(graph: nx.DiGraph, path: str) -> None:
    """Write the graph as .png, .svg (matplotlib) or .dot (Graphviz text)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".dot":
        write_text(path, to_dot(graph))
        return
    if suffix not in (".png", ".svg"):
        raise RaspError(f"cannot draw the graph to {path}: use a .png, .svg or .dot file name")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth, positions = layered(graph)
    colours = [COLOURS[None if d.get("sort") is None else str(d["sort"])] for _, d in graph.nodes(data=True)]
    fig, ax = plt.subplots(figsize=(max(6, len(graph) * 0.6), max(4, (max(depth.values()) + 1) * 1.1)))
    labels = {n: (d["name"] if d["name"] == d["kind"] else f"{d['name']}\n{d['kind']}")
                 + ("" if d.get("sort") is None else f"\n{d['sort']}")
              for n, d in graph.nodes(data=True)}
    nx.draw_networkx(graph, positions, ax=ax, labels=labels, node_color=colours, node_size=1800,
                     font_size=7, arrows=True, edge_color="#888888")
    ax.set_title("program graph (colour: C-RASP sort: green finite, blue count, purple mean, red outside)")
    ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def to_dot(graph: nx.DiGraph) -> str:
    ids = {n: f"n{i}" for i, n in enumerate(graph)}
    lines = ["digraph program {", "  rankdir=TB;", "  node [shape=box, style=filled, fontsize=10];"]
    for n, d in graph.nodes(data=True):
        sort = None if d.get("sort") is None else str(d["sort"])
        label = f"{d['name']}\\n{d['kind']}" + ("" if sort is None else f"\\n{sort}")
        colour = COLOURS[sort]
        lines.append(f'  {ids[n]} [label="{label}", fillcolor="{colour}"];')
    for a, b in graph.edges:
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines) + "\n"
