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
    tasks = result["tasks"]
    cols = max(1, min(4, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
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
            ax.plot(lengths, means, marker=".", label=pe)
            ax.fill_between(lengths, [m - s for m, s in zip(means, sds)], [m + s for m, s in zip(means, sds)],
                            alpha=0.2)
            last_train = max(runs[0]["train_lengths"])
            ax.axvline(last_train + 0.5, color="grey", linestyle=":")
        compiled = int_keys(t["compiled"].get("em_by_length"))
        if compiled:
            lengths = sorted(compiled)
            ax.plot(lengths, [compiled[n] for n in lengths], "k--", linewidth=1, label="compiled")
        for row in result["summary"]:
            if row["task"] == name:
                for b in row["bins"]:
                    if b["anchor"] is not None:
                        ax.plot([b["lengths"][0], b["lengths"][1]], [b["anchor"]] * 2, "s-", color="red",
                                markersize=3, linewidth=1, label="published")
        ax.set_title(f"{name} (score {t['score']:.2f})", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("length", fontsize=8)
        ax.set_ylabel("EM", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def plot_seeds(result: SuiteResult, path: Path) -> None:
    """For each task and encoding, the fraction of fitted seeds whose EM in the first held-out bin
    is at least GENERALIZED, with its Wilson 95% interval; filled where the analysis predicts
    generalization, hollow where not, x where the row was not judged (most seeds did not fit)."""
    plt = pyplot()
    rows = result["summary"]
    fig, ax = plt.subplots(figsize=(max(5.5, 0.45 * len(rows) + 2), 4.2))
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
    ax.set_xticklabels([f"{r['task']} ({r['pe']})" for r in rows], rotation=60, ha="right", fontsize=7)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel(f"fitted seeds with first-bin EM >= {GENERALIZED}", fontsize=8)
    ax.set_title("filled: predicted to generalize; hollow: predicted not to; x: not judged; "
                 "grey: outside the conjecture", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
