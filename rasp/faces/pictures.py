"""Pictures of what a program or a model computes on one input (`rasp run --attention`,
`--residual`, `--trace FILE`): matplotlib figures written as .png or .svg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from grammar.errors import RaspError
from rasp.language.files import save_figure
from rasp.language.values import show_value

MAX_RESIDUAL_ROWS = 400  # residual dimensions drawn at most (the active ones, in order)
ACTIVE = 1e-6  # a residual dimension is drawn when some stage holds more than this in it
SUFFIXES = (".png", ".svg")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_path(path: str) -> None:
    """Refuse a picture file name we cannot write, before any work."""
    if Path(path).suffix.lower() not in SUFFIXES:
        raise RaspError(f"cannot draw to {path}: use a .png or .svg file name")
    if Path(path).is_dir():
        raise RaspError(f"cannot draw to {path}: it is a directory")
    if not Path(path).absolute().parent.is_dir():
        raise RaspError(f"cannot draw to {path}: there is no folder {Path(path).parent}")


def _labels(tokens: list[Any]) -> list[str]:
    return [show_value(t) for t in tokens]


def attention(internals: Any, path: str, titles: list[str] | None = None) -> int:
    """One heatmap per head (queries down, keys across, both labelled by their tokens), titled
    with `titles` (default: the s-op the head computes and its source line). Returns the number
    of heads drawn."""
    plt = _pyplot()
    heads = internals.heads
    if not heads:
        raise RaspError("this model has no attention heads to draw")
    columns = min(4, len(heads))
    rows = -(-len(heads) // columns)
    n = len(internals.tokens)
    side = max(2.6, 0.32 * n + 1.2)
    fig, axes = plt.subplots(rows, columns, figsize=(side * columns, side * rows + 0.4), squeeze=False)
    labels = _labels(internals.tokens)
    titles = titles or [h.title.replace(": ", ":\n", 1) for h in heads]
    for ax, title, weights in zip(axes.flat, titles, internals.attention):
        image = ax.imshow(weights, vmin=0, vmax=1, cmap="Blues")
        ax.set_xticks(range(n), labels, fontsize=7, rotation=90)
        ax.set_yticks(range(n), labels, fontsize=7)
        ax.set_xlabel("key", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
        ax.set_title(title, fontsize=7)
    for ax in list(axes.flat)[len(heads):]:
        ax.axis("off")
    fig.subplots_adjust(wspace=0.45)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="attention weight")
    fig.suptitle(f"attention on {' '.join(labels[1:])}", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)
    return len(heads)


def residual(internals: Any, path: str) -> tuple[int, int]:
    """The residual stream after the embeddings and every sublayer, side by side: rows are the
    residual dimensions that are active on this input (grouped by s-op, named on the left),
    columns the positions. Returns (dimensions drawn, dimensions active)."""
    plt = _pyplot()
    stack = np.stack([s.values for s in internals.stages])  # [stages, positions, D]
    active = np.flatnonzero(np.abs(stack).max(axis=(0, 1)) > ACTIVE)
    shown = active[:MAX_RESIDUAL_ROWS]
    n, stages = len(internals.tokens), len(internals.stages)
    fig, axes = plt.subplots(1, stages, figsize=(2.0 + stages * max(1.2, 0.22 * n), 1.5 + 0.14 * len(shown)),
                             sharey=True, squeeze=False)
    top = max(1e-9, float(np.abs(stack[:, :, shown]).max())) if len(shown) else 1.0
    labels = _labels(internals.tokens)
    owners = [internals.dim_sops[d] for d in shown]
    edges = [i - 0.5 for i in range(1, len(shown)) if owners[i] != owners[i - 1]]
    for ax, stage in zip(axes.flat, internals.stages):
        image = ax.imshow(stage.values[:, shown].T, aspect="auto", cmap="RdBu", vmin=-top, vmax=top,
                          interpolation="nearest")
        for y in edges:
            ax.axhline(y, color="#555555", linewidth=0.5)
        ax.set_xticks(range(n), labels, fontsize=6, rotation=90)
        ax.set_title(stage.name, fontsize=7)
    axes[0, 0].set_yticks(range(len(shown)), [internals.residual_labels[d] for d in shown], fontsize=5)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.5)
    more = f" (the first {len(shown)} of {len(active)} active dimensions)" if len(shown) < len(active) else ""
    fig.suptitle(f"residual stream on {' '.join(labels[1:])}{more}", fontsize=9)
    save_figure(fig, path)
    plt.close(fig)
    return len(shown), len(active)


def trace_graph(graph: Any, values: dict[Any, Any], tokens: list[Any], path: str) -> None:
    """The program graph (`predictor.graph.program_graph`), each node labelled with its value on
    the input: an s-op's values, a selector's width at each query. Once a compiled model's layout
    is attached (`predictor.graph.attach_layout`), nodes are coloured and labelled by layer."""
    import networkx as nx

    plt = _pyplot()
    from predictor.graph import layered

    depth, positions = layered(graph)
    labels = {}
    for node, data in graph.nodes(data=True):
        value = values.get(node)
        if value is None:
            shown = ""
        elif np.asarray(value).ndim == 2:
            shown = "widths " + " ".join(str(int(w)) for w in np.asarray(value).sum(axis=-1))
        else:
            shown = " ".join(show_value(v) for v in list(value))
        where = "" if data.get("layer") is None else f"\nlayer {data['layer']} {data['sublayer']}"
        labels[node] = f"{data['name']}{where}\n{_shorten(shown)}"
    widest = max((depth_count for depth_count in np.bincount(list(depth.values()))), default=1)
    fig, ax = plt.subplots(figsize=(max(6, widest * 2.4), max(4, (max(depth.values()) + 1) * 1.2)))
    layers = [data.get("layer") for _, data in graph.nodes(data=True)]
    if any(layer is not None for layer in layers):  # a compiled program: colour by layer, inputs grey
        palette = plt.get_cmap("tab10")
        colours = ["#dddddd" if layer is None else palette(layer % 10) for layer in layers]
        key = "colour: layer; grey: an input, or an operation the compiler folds into the next one"
    else:
        colours = ["#bebada" if data["value"] == "selector" else "#8dd3c7" for _, data in graph.nodes(data=True)]
        key = "green: s-op, purple: selector"
    nx.draw_networkx(graph, positions, ax=ax, labels=labels, node_color=colours, node_size=2400, font_size=6,
                     arrows=True, edge_color="#888888", node_shape="s")
    ax.set_title(f"values on {' '.join(_labels(tokens))} ({key})", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def inspection(found: Any, path: str) -> None:
    """The compiled model's heads (top row) and every trained head (a row per layer) on one input,
    each trained head titled with the compiled heads it matches best (`predictor.mechanism`)."""
    plt = _pyplot()
    layers, heads = found.learned.shape[:2]
    columns = max(heads, len(found.compiled), 1)
    n = max(len(found.compiled_tokens), len(found.learned_tokens))
    side = max(2.4, 0.18 * n + 1.2)
    fig, axes = plt.subplots(1 + layers, columns, figsize=(side * columns, side * (1 + layers) + 0.6), squeeze=False)
    best: dict[tuple[int, int], list[str]] = {}
    for m in found.matches:
        best.setdefault((m.layer, m.head), []).append(f"{m.compiled.split(': ', 1)[-1]} ({m.agreement:.2f})")
    panels = [(axes[0, h], w, found.compiled_tokens, "compiled " + title.replace(": ", ":\n", 1))
              for h, (title, w) in enumerate(zip(found.titles, found.compiled))]
    for layer in range(layers):
        for head in range(heads):
            title = f"trained layer {layer} head {head}"
            if (layer, head) in best:
                title += "\nbest for " + "; ".join(best[layer, head])
            panels.append((axes[1 + layer, head], found.learned[layer, head], found.learned_tokens, title))
    used = set()
    for ax, weights, tokens, title in panels:
        used.add(id(ax))
        labels = _labels(["?" if t is None else t for t in tokens])
        ax.imshow(weights, vmin=0, vmax=1, cmap="Blues")
        ticks = range(len(labels)) if len(labels) <= 40 else range(0, len(labels), 5)
        ax.set_xticks(list(ticks), [labels[i] for i in ticks], fontsize=5, rotation=90)
        ax.set_yticks(list(ticks), [labels[i] for i in ticks], fontsize=5)
        ax.set_title(title, fontsize=7)
    for ax in axes.flat:
        if id(ax) not in used:
            ax.axis("off")
    fig.suptitle(f"attention on {' '.join(_labels(found.example.input))}: the compiled program (top) and the "
                 "trained model (agreement: 1 - mean total-variation distance)", fontsize=9)
    save_figure(fig, path)
    plt.close(fig)
