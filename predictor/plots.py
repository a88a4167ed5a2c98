"""The experiment's two plots: EM against length per task, and the seeds that generalize in the
first held-out bin against the prediction."""

from __future__ import annotations

import math
from pathlib import Path

from predictor.records import SuiteResult
from predictor.stats import GENERALIZED, int_keys, mean, sd
from rasp.language.files import save_figure


def pyplot():
    """matplotlib's pyplot on the file-only backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lengths(result: SuiteResult, path: Path) -> None:
    """EM against length, one panel per task: a line per encoding (mean over seeds, band of
    +- sd), the compiled model dashed, published bin figures as squares where they apply, the last
    train length dotted."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    tasks = result["tasks"]
    cols = max(1, min(4, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows + 0.5), squeeze=False)
    colours = {pe: f"C{i}" for i, pe in enumerate(result["settings"]["pes"])}
    published = False
    for ax, t in zip(axes.flat, tasks):
        name = t["task"]["name"]
        for pe in result["settings"]["pes"]:
            runs = [r for r in result["runs"] if r["task"] == name and r["pe"] == pe]
            if not runs:
                continue
            scores = [int_keys(r["em_by_length"]) for r in runs]
            lengths = sorted(scores[0])
            means = [mean(s[n] for s in scores if n in s) for n in lengths]
            sds = [sd([s[n] for s in scores if n in s]) for n in lengths]
            ax.plot(lengths, means, marker=".", color=colours[pe])
            ax.fill_between(lengths, [m - s for m, s in zip(means, sds)], [m + s for m, s in zip(means, sds)],
                            color=colours[pe], alpha=0.2)
            last_train = max(runs[0]["train_lengths"])
            ax.axvline(last_train + 0.5, color="grey", linestyle=":")
        compiled = int_keys(t["compiled"].get("em_by_length"))
        if compiled:
            lengths = sorted(compiled)
            ax.plot(lengths, [compiled[n] for n in lengths], "k--", linewidth=1)
        for row in result["summary"]:
            if row["task"] == name:
                for b in row["bins"]:
                    if b["anchor"] is not None:
                        published = True
                        ax.plot([b["lengths"][0], b["lengths"][1]], [b["anchor"]] * 2, "s-", color="red",
                                markersize=3, linewidth=1)
        note = "" if compiled else ", not compiled"
        ax.set_title(f"{name} (score {t['score']:.2f}{note})", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # lengths are whole numbers
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("length", fontsize=8)
        ax.set_ylabel("EM", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    # one legend for every panel, below them all (never over a panel): each encoding, the
    # compiled model (dashed; a panel titled "not compiled" has none), the published figures
    handles = [Line2D([], [], color=colours[pe], marker=".", label=pe) for pe in result["settings"]["pes"]]
    handles.append(Line2D([], [], color="k", linestyle="--", linewidth=1, label="compiled"))
    if published:
        handles.append(Line2D([], [], color="red", marker="s", markersize=3, linewidth=1, label="published"))
    handles.append(Line2D([], [], color="grey", linestyle=":", label="last train length"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.5 / (2.6 * rows + 0.5), 1, 1))
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def plot_seeds(result: SuiteResult, path: Path) -> None:
    """For each task and encoding, the fraction of fitted seeds whose EM in the first held-out bin
    is at least GENERALIZED, with its Wilson 95% interval; filled where the analysis predicts
    generalization, hollow where not, x where the row was not judged (most seeds did not fit)."""
    plt = pyplot()
    rows = result["summary"]
    fig, ax = plt.subplots(figsize=(max(6.5, 0.3 * len(rows) + 2), 4.6))
    for i, r in enumerate(rows):
        first = r["bins"][0] if r["bins"] else None
        if first is None or first["fraction"] is None or not r["judged"]:
            ax.plot(i, 0, "x", color="grey")
            continue
        low, high = first["interval"]
        colour = "tab:blue" if r["in_conjecture"] else "tab:grey"
        ax.errorbar(i, first["fraction"], yerr=[[first["fraction"] - low], [high - first["fraction"]]], fmt="o",
                    color=colour, markerfacecolor=colour if r["predicted"] else "white", capsize=2)
    ax.axhline(0.5, color="grey", linestyle=":")
    ax.set_xticks(range(len(rows)))
    # labels turned to the vertical, anchored at their tick, never wider than a tick's spacing
    ax.set_xticklabels([f"{r['task']} ({r['pe']})" for r in rows], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel(f"fitted seeds with first-bin EM >= {GENERALIZED}", fontsize=8)
    ax.set_title("filled: predicted to generalize; hollow: predicted not to;\n"
                 "x: not judged; grey: outside the conjecture", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
