"""The analysis for people (verdict first, then findings with source excerpts, then size and
growth) and the drawing of the program graph, coloured by layer."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grammar.errors import RaspError
from predictor.analysis import THRESHOLD, Analysis


def show(analysis: Analysis, program_name: str, console: Console | None = None) -> None:
    console = console or Console()
    verdict = "generalizes" if analysis.generalizes else "does not generalize"
    style = "bold green" if analysis.generalizes else "bold red"
    console.print(Text(f"{program_name}: predicted {'' if analysis.generalizes else 'not '}to length-generalize "
                       f"(score {analysis.score:.2f}, threshold {THRESHOLD})", style=style))
    mode = "causal" if analysis.causal else "not causal"
    console.print(Text(f"sample inputs over {analysis.vocab}, {mode}; verdict: {verdict}"))
    if analysis.findings:
        console.print(Text(f"\n{len(analysis.findings)} finding(s):", style="bold"))
        for f in analysis.findings:
            console.print(Text(f"  line {f.line}, col {f.col}: [{f.rule}] {f.message}"))
            if f.source:
                console.print(Text(f"      {f.source}", style="dim"))
    else:
        console.print(Text("\nno RASP-L rule is broken", style="bold"))
    factors = Table("factor", "value", box=None, title="score = product of", title_justify="left")
    for name, value in analysis.factors.items():
        if value != 1.0 or name in ("description_length", "growth"):
            factors.add_row(name, f"{value:.3f}")
    console.print(factors)
    size = Table("measure", "value", box=None, title="size", title_justify="left")
    for key, value in analysis.size.items():
        size.add_row(key.replace("_", " "), str(value))
    console.print(size)
    growth = analysis.growth
    if growth.get("available"):
        table = Table("max length", "residual width", "parameters", "layers", box=None,
                      title=f"growth (width ~ n^{growth['residual_width_exponent']}, "
                            f"parameters ~ n^{growth['parameters_exponent']})", title_justify="left")
        for row in growth["compiled"]:
            table.add_row(str(row["max_len"]), str(row["residual_width"]), f"{row['parameters']:,}", str(row["layers"]))
        console.print(table)
    else:
        console.print(Text(f"growth: not measured ({growth.get('reason', '')})"))
    if growth.get("growing_sops"):
        console.print(Text(f"s-ops whose values grow with length: {', '.join(growth['growing_sops'])}"))


def draw(graph: nx.DiGraph, path: str) -> None:
    """Write the graph as .png, .svg (matplotlib) or .dot (Graphviz text)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".dot":
        Path(path).write_text(to_dot(graph))
        return
    if suffix not in (".png", ".svg"):
        raise RaspError(f"cannot draw the graph to {path}: use a .png, .svg or .dot file name")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth = {n: i for i, generation in enumerate(nx.topological_generations(graph)) for n in generation}
    for n in graph:
        graph.nodes[n]["depth"] = depth[n]
    positions = nx.multipartite_layout(graph, subset_key="depth", align="horizontal", scale=-1)
    layers = [d.get("layer") for _, d in graph.nodes(data=True)]
    palette = plt.get_cmap("tab10")
    colours = ["#dddddd" if layer is None else palette(layer % 10) for layer in layers]
    fig, ax = plt.subplots(figsize=(max(6, len(graph) * 0.6), max(4, (max(depth.values()) + 1) * 1.1)))
    labels = {n: (d["name"] if d["name"] == d["kind"] else f"{d['name']}\n{d['kind']}")
                 + ("" if d["layer"] is None else f"\nL{d['layer']} {d['sublayer']}")
              for n, d in graph.nodes(data=True)}
    nx.draw_networkx(graph, positions, ax=ax, labels=labels, node_color=colours, node_size=1800,
                     font_size=7, arrows=True, edge_color="#888888")
    ax.set_title("program graph (colour: compiled layer; grey: input or not compiled)")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def to_dot(graph: nx.DiGraph) -> str:
    ids = {n: f"n{i}" for i, n in enumerate(graph)}
    lines = ["digraph program {", "  rankdir=TB;", "  node [shape=box, style=filled, fontsize=10];"]
    for n, d in graph.nodes(data=True):
        layer = d.get("layer")
        label = f"{d['name']}\\n{d['kind']}" + ("" if layer is None else f"\\nlayer {layer} {d['sublayer']}")
        colour = "lightgrey" if layer is None else f"/set19/{layer % 9 + 1}"
        lines.append(f'  {ids[n]} [label="{label}", fillcolor="{colour}"];')
    for a, b in graph.edges:
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines) + "\n"
