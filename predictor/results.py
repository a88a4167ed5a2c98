"""An experiment written up: results.json (everything), results.csv (one row per run and
length), report.md (the table people read) and two plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from predictor.experiment import FITTED, GENERALIZED
from predictor.records import RunRecord, SuiteResult


def write(result: SuiteResult, out_dir: Path, command: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"command": command, **result}
    paths = [out_dir / "results.json", out_dir / "results.csv", out_dir / "report.md",
             out_dir / "em_by_length.png", out_dir / "score_vs_heldout_em.png"]
    paths[0].write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False))
    write_csv(result, paths[1])
    paths[2].write_text(markdown(result))
    plot_lengths(result, paths[3])
    plot_scores(result, paths[4])
    return paths


def write_csv(result: SuiteResult, path: Path) -> None:
    predicted = {t["task"]["name"]: t for t in result["tasks"]}
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "pe", "seed", "length", "split", "em", "token_accuracy", "compiled_em",
                    "score", "predicted"])
        for run in result["runs"]:
            t = predicted[run["task"]]
            compiled = run["compiled_em_by_length"] or {}
            for n, em in run["em_by_length"].items():
                split = "train" if n in run["train_lengths"] else "heldout"
                w.writerow([run["task"], run["pe"], run["seed"], n, split, f"{em:.4f}",
                            f"{run['token_accuracy_by_length'][n]:.4f}",
                            "" if n not in compiled else f"{compiled[n]:.4f}", f"{t['score']:.4f}",
                            int(t["predicted"])])


def pm(mean: float, sd: float) -> str:
    return f"{mean:.2f} ± {sd:.2f}"


def markdown(result: SuiteResult) -> str:
    s = result["settings"]
    rows = result["summary"]
    judged = [r for r in rows if r["held"] is not None]
    held = sum(1 for r in judged if r["held"])
    lines = [
        "# Length generalization: predicted and measured", "",
        f"Command: `{result['command']}`", "",
        f"Seeds {s['seeds']}; positional encodings {s['pes']}; {s['train']['steps']} steps of batch "
        f"{s['train']['batch_size']}; {s['eval_examples_per_length']} fresh inputs per length.",
        f"A task counts as generalized when its mean held-out EM is at least {GENERALIZED}; runs whose "
        f"mean EM at the train lengths is below {FITTED} did not learn the task, and the prediction is "
        "not judged on them.", "",
        f"**The prediction held on {held} of {len(judged)} judged rows** "
        f"({len(rows) - len(judged)} not judged).", "",
        "| task | PE | score | predicted | EM train | EM held-out | compiled EM held-out | held |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        compiled = f"{r['compiled_heldout_em']:.2f}" if r["compiled_heldout_em"] is not None else "not compiled"
        verdict = "n/a (did not fit)" if r["held"] is None else ("yes" if r["held"] else "**no**")
        lines.append(f"| {r['task']} | {r['pe']} | {r['score']:.2f} | {'yes' if r['predicted'] else 'no'} | "
                     f"{pm(r['train_em_mean'], r['train_em_sd'])} | {pm(r['heldout_em_mean'], r['heldout_em_sd'])} | "
                     f"{compiled} | {verdict} |")
    lines += ["", "Not compiled:", ""]
    for t in result["tasks"]:
        if t["compiled"].get("error"):
            lines.append(f"- {t['task']['name']}: {t['compiled']['error']}")
    lines += ["", "Tasks:", ""]
    for t in result["tasks"]:
        d = t["task"]
        lines.append(f"- **{d['name']}** ({d['description'] or d['program']}): program `{d['program']}`, "
                     f"{d['framing']}, sampler {d['sampler']}, train lengths {d['train_lengths'][0]}-"
                     f"{d['train_lengths'][1]}, held out {d['heldout_lengths'][0]}-{d['heldout_lengths'][1]}; "
                     f"analysis findings: {', '.join(t['findings']) or 'none'}")
    lines += ["", "![EM by length](em_by_length.png)", "", "![score against held-out EM](score_vs_heldout_em.png)", ""]
    return "\n".join(lines)


def plot_lengths(result: SuiteResult, path: Path) -> None:
    """EM against length, one panel per task: a line per encoding (mean over seeds, band of
    +- sd), the compiled model dashed, the last train length dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    cols = min(4, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    for ax, t in zip(axes.flat, tasks):
        name = t["task"]["name"]
        for pe in result["settings"]["pes"]:
            runs = [r for r in result["runs"] if r["task"] == name and r["pe"] == pe]
            if not runs:
                continue
            lengths = sorted(runs[0]["em_by_length"])
            values = [[r["em_by_length"][n] for r in runs] for n in lengths]
            means = [sum(v) / len(v) for v in values]
            sds = [(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1)) ** 0.5 for v, m in zip(values, means)]
            ax.plot(lengths, means, marker=".", label=pe)
            ax.fill_between(lengths, [m - s for m, s in zip(means, sds)], [m + s for m, s in zip(means, sds)], alpha=0.2)
        compiled = t["compiled"].get("em_by_length")
        if compiled:
            lengths = sorted(compiled)
            ax.plot(lengths, [compiled[n] for n in lengths], "k--", linewidth=1, label="compiled")
        ax.axvline(t["task"]["train_lengths"][1] + 0.5, color="grey", linestyle=":")
        ax.set_title(f"{name} (score {t['score']:.2f})", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("length", fontsize=8)
        ax.set_ylabel("EM", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(result: SuiteResult, path: Path) -> None:
    """The analysis score against the measured held-out EM, one point per task and encoding."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for r in result["summary"]:
        marker = "o" if r["fitted"] else "x"
        ax.errorbar(r["score"], r["heldout_em_mean"], yerr=r["heldout_em_sd"], fmt=marker, capsize=2)
        ax.annotate(f"{r['task']} ({r['pe']})", (r["score"], r["heldout_em_mean"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.axvline(0.5, color="grey", linestyle=":")
    ax.axhline(GENERALIZED, color="grey", linestyle=":")
    ax.set_xlabel("analysis score (predicted: generalizes at >= 0.5)")
    ax.set_ylabel("mean EM at held-out lengths")
    ax.set_xlim(-0.05, 1.1)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("prediction against measurement (x: did not fit the train lengths)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def show_run(run: RunRecord) -> None:
    """`rasp train`'s table: EM and token accuracy at every length, the compiled model beside."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    compiled = run["compiled_em_by_length"] or {}
    console.print(f"[bold]{run['task']}[/bold] ({run['program']}, {run['framing']}), {run['pe']} positions, "
                  f"seed {run['seed']}, {run['steps']} steps, {run['parameters']:,} parameters; final loss "
                  f"{run['final_loss']:.4f}" if run["final_loss"] is not None else f"[bold]{run['task']}[/bold]")
    table = Table("length", "", "EM", "token acc", "compiled EM", box=None)
    for n, em in run["em_by_length"].items():
        split = "train" if n in run["train_lengths"] else "held out"
        table.add_row(str(n), split, f"{em:.2f}", f"{run['token_accuracy_by_length'][n]:.3f}",
                      f"{compiled[n]:.2f}" if n in compiled else "")
    console.print(table)
    console.print(f"EM: {run['train_em']:.2f} at train lengths, {run['heldout_em']:.2f} held out "
                  f"({run['eval_examples_per_length']} inputs per length)")
    info = run["compiled"]
    if info and info.get("error"):
        console.print(f"compiled model: not built: {info['error']}")
    if run["resumed_from"]:
        console.print(f"resumed from the checkpoint at step {run['resumed_from']} in {run['run_dir']}")


def show_summary(result: SuiteResult) -> None:
    from rich.console import Console
    from rich.table import Table

    def short(mean: float, sd: float) -> str:
        return f"{mean:.2f}±{sd:.2f}"

    table = Table("task", "PE", "score", "predicted", "EM train", "EM held-out", "compiled", "held", box=None)
    for column in table.columns:
        column.no_wrap = True
    for r in result["summary"]:
        table.add_row(r["task"], r["pe"], f"{r['score']:.2f}", "yes" if r["predicted"] else "no",
                      short(r["train_em_mean"], r["train_em_sd"]), short(r["heldout_em_mean"], r["heldout_em_sd"]),
                      "" if r["compiled_heldout_em"] is None else f"{r['compiled_heldout_em']:.2f}",
                      "n/a" if r["held"] is None else ("yes" if r["held"] else "no"))
    Console(width=max(Console().width, 100)).print(table)
