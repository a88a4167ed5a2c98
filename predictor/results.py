"""An experiment written up: results.json (everything), results.csv (one row per run and
length), report.md (what people read) and two plots; and the terminal tables of `rasp train` and
`rasp experiment`.

Every figure shown comes from the records (predictor/records.py) and the statistics in
predictor/stats.py; nothing is recomputed here but sums of error signatures. Records may have been
through JSON, so lengths and offsets may be string keys.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from predictor.anchors import anchor_for
from predictor.plots import plot_lengths, plot_seeds
from predictor.records import Agreement, BinSummary, Failures, RunRecord, SuiteResult, SummaryRow
from predictor.stats import GENERALIZED, combine_failures, int_keys, mean, top_offsets
from rasp.language.files import atomic_file, write_text
from rasp.language.values import plural

PLOTS = ("em_by_length.png", "generalized_seeds.png")


def write(result: SuiteResult, out_dir: Path, command: str, seconds: float | None = None) -> list[Path]:
    """Write results.json (with the command and wall time), results.csv, report.md and the
    plots to out_dir; returns their paths in that order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {**result, "command": command, "seconds": seconds}
    paths = [out_dir / "results.json", out_dir / "results.csv", out_dir / "report.md",
             *(out_dir / name for name in PLOTS)]
    write_text(paths[0], json.dumps(result, indent=1, default=str, ensure_ascii=False))
    write_csv(result, paths[1])
    write_text(paths[2], markdown(result))
    plot_lengths(result, paths[3])
    plot_seeds(result, paths[4])
    return paths


# ---- small formatters ---------------------------------------------------------------------


def span(lengths: list[int] | tuple[int, int]) -> str:
    """A [first, last] range as "first-last"."""
    return f"{lengths[0]}-{lengths[1]}"


def interval(bounds: list[float] | None) -> str:
    return "" if bounds is None else f"[{bounds[0]:.2f}-{bounds[1]:.2f}]"


def number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def bin_of(n: int, bins: list[Any]) -> str:
    """The label of the bin holding length n ("" when none does)."""
    for b in bins:
        if b["lengths"][0] <= n <= b["lengths"][1]:
            return span(b["lengths"])
    return ""


def spread(mean_value: float, sd_value: float, values: int, sep: str = " ± ") -> str:
    """A mean, with its standard deviation when more than one value went into it (one seed has
    no spread to show)."""
    return f"{mean_value:.2f}" + (f"{sep}{sd_value:.2f}" if values > 1 else "")


def bin_values(b: BinSummary, seeds: int) -> int:
    """How many seeds a bin's mean is over: the fitted ones, or all when none fitted."""
    return b["fitted_seeds"] or seeds


def seeds_cell(b: BinSummary) -> str:
    """How many fitted seeds reach GENERALIZED in the bin, with the Wilson interval."""
    if b["fraction"] is None:
        return "no seed fitted"
    return f"{b['generalized_seeds']}/{b['fitted_seeds']} seeds >= {GENERALIZED} {interval(b['interval'])}"


def held_cell(row: SummaryRow, bold: bool = True) -> str:
    if not row["in_conjecture"]:
        return "outside the conjecture"
    if not row["judged"] or row["held"] is None:
        return "not judged (did not fit)"
    return "yes" if row["held"] else ("**no**" if bold else "no")


def published_cell(row: SummaryRow, sep: str = " / ") -> str:
    """The published EM per bin, where any bin's lengths are the paper's ("–" otherwise)."""
    if all(b["anchor"] is None for b in row["bins"]):
        return "–"
    return sep.join(number(b["anchor"], 3) for b in row["bins"])


def render(value: Any) -> str:
    """A setting's value as text: yes/no for booleans, dicts and lists as compact JSON, the rest as str."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def agreement_line(a: Agreement) -> str:
    """The one sentence the experiment answers, from the Agreement record."""
    if a["judged"]:
        verdict = (f"the prediction held on {a['held']} of {a['judged']} tasks inside the conjecture "
                   f"({a['rate']:.2f}, Wilson 95% interval {a['interval'][0]:.2f}-{a['interval'][1]:.2f})")
    else:
        verdict = "no task inside the conjecture could be judged"
    return (f"With {a['pe']} positions, {verdict}; always 'yes' would get {a['always_yes']}, always 'no' "
            f"{a['always_no']}; not judged: {', '.join(a['not_judged']) or 'none'}; outside the "
            f"conjecture: {', '.join(a['outside']) or 'none'}.")


def describe_failures(f: Failures) -> str:
    """An error signature in one line."""
    text = f"{f['wrong']} of {f['examples']} wrong"
    if f["first_wrong_mean"] is not None:
        text += f"; first wrong output token at {f['first_wrong_mean']:.1f} on average"
    text += f"; ended early {f['ended_early']}, late {f['ended_late']}, wrong token {f['wrong_token']}"
    offsets = top_offsets(f)
    if offsets:
        text += "; source offsets " + ", ".join(f"{o:+d} ({k})" for o, k in offsets)
    return text


def signature_groups(runs: list[RunRecord], bins: list[Any]) -> list[tuple[str, Failures]]:
    """The runs' error signatures summed per bin (and over held-out lengths in no bin), keeping
    only groups with a wrong example."""
    groups: dict[str, list[Failures]] = {span(b["lengths"]): [] for b in bins}
    for run in runs:
        for n, failures in int_keys(run["error_signature"]).items():
            groups.setdefault(bin_of(n, bins) or "other held-out lengths", []).append(failures)
    combined = [(label, combine_failures(fs)) for label, fs in groups.items() if fs]
    return [(label, f) for label, f in combined if f["wrong"]]


def runs_of(result: SuiteResult, row: SummaryRow) -> list[RunRecord]:
    return [r for r in result["runs"] if r["task"] == row["task"] and r["pe"] == row["pe"]]


# ---- results.csv --------------------------------------------------------------------------


def write_csv(result: SuiteResult, path: Path) -> None:
    """One row per run and length."""
    with atomic_file(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "pe", "seed", "length", "split", "bin", "em", "token_accuracy", "compiled_em",
                    "fitted", "steps", "predicted"])
        for run in result["runs"]:
            tokens = int_keys(run["token_accuracy_by_length"])
            compiled = int_keys(run["compiled_em_by_length"])
            for n, em in sorted(int_keys(run["em_by_length"]).items()):
                w.writerow([run["task"], run["pe"], run["seed"], n,
                            "train" if n in run["train_lengths"] else "heldout", bin_of(n, run["bins"]),
                            f"{em:.4f}", "" if n not in tokens else f"{tokens[n]:.4f}",
                            "" if n not in compiled else f"{compiled[n]:.4f}", int(run["fitted"]), run["steps"],
                            "" if run["predicted"] is None else int(run["predicted"])])


# ---- report.md ----------------------------------------------------------------------------


def bin_headers(rows: list[SummaryRow]) -> list[str]:
    """A header per bin position: its lengths when every row has the same ones there."""
    count = max((len(r["bins"]) for r in rows), default=0)
    headers = []
    for i in range(count):
        spans = {span(r["bins"][i]["lengths"]) for r in rows if len(r["bins"]) > i}
        headers.append(f"EM {spans.pop()}" if len(spans) == 1 else f"EM bin {i + 1}")
    return headers


def summary_table(rows: list[SummaryRow]) -> list[str]:
    """The table per task and encoding."""
    headers = bin_headers(rows)
    same = not any(h.startswith("EM bin") for h in headers)
    columns = ["task", "PE", "predicted", "fit", "steps", "EM train", *headers, "compiled EM", "published EM",
               "held"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [r["task"], r["pe"], f"{r['verdict']} ({r['score']:.2f})",
                 f"{r['fitted_seeds']}/{r['seeds']} {interval(r['fit_interval'])}", f"{r['steps_mean']:.0f}",
                 spread(r["train_em_mean"], r["train_em_sd"], r["seeds"])]
        for i in range(len(headers)):
            if i >= len(r["bins"]):
                cells.append("")
                continue
            b = r["bins"][i]
            where = "" if same else f"{span(b['lengths'])}: "
            cells.append(f"{where}{spread(b['em_mean'], b['em_sd'], bin_values(b, r['seeds']))}; {seeds_cell(b)}")
        cells.append("not compiled" if r["compiled_error"] else " / ".join(number(b["compiled_em"]) for b in r["bins"]))
        cells.append(published_cell(r))
        cells.append(held_cell(r))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def anchors_section(result: SuiteResult) -> list[str]:
    """Our bin EM beside the published figures, per task that has some."""
    protocol = result["settings"]["protocol"].get("name", "")
    lines = ["## Anchors: the published figures", ""]
    if protocol != "paper":
        lines += [f"> Warning: the protocol here is {protocol!r}, not 'paper': our bins and train lengths differ "
                  "from the published ones, so this compares the shape (does EM hold up past the train "
                  "lengths, or fall), not the numbers.", ""]
    found = False
    for t in result["tasks"]:
        name = t["task"]["name"]
        anchor = anchor_for(name)
        if anchor is None:
            continue
        found = True
        theirs = ", ".join(f"{span(k)}: {v:.4g}" for k, v in anchor.bins.items()) or "no per-bin figures"
        lines.append(f"- **{name}**: published ({anchor.task}; {anchor.model}): {theirs}."
                     + (f" {anchor.note[0].upper()}{anchor.note[1:]}." if anchor.note else ""))
        for row in result["summary"]:
            if row["task"] == name and row["bins"]:
                ours = ", ".join(f"{span(b['lengths'])}: {b['em_mean']:.3f} ({seeds_cell(b)})" for b in row["bins"])
                lines.append(f"  - ours, {row['pe']}: {ours}")
        lines.append(f"  - source: {anchor.citation}")
    return lines + ([] if found else ["No task here has published figures."]) + [""]


def signatures_section(result: SuiteResult) -> list[str]:
    """How the held-out failures went wrong, per task, encoding and bin, summed over seeds."""
    lines = ["## Error signatures at held-out lengths", "",
             "Summed over the fitted seeds (over all seeds where none fitted). Offsets: where in the input "
             "a wrong token came from, relative to the right token's position (a peak at one offset is a "
             "shortcut by relative distance).", ""]
    found = False
    for row in result["summary"]:
        runs = runs_of(result, row)
        runs = [r for r in runs if r["fitted"]] or runs
        for label, f in signature_groups(runs, row["bins"]):
            found = True
            lines.append(f"- {row['task']}, {row['pe']}, lengths {label} ({plural(len(runs), 'seed')}): {describe_failures(f)}")
    return lines + ([] if found else ["No wrong output at a held-out length."]) + [""]


def mechanism_section(result: SuiteResult) -> list[str]:
    """Per task and encoding, each compiled head's agreement with the closest trained head (1 -
    mean total-variation distance of their attention; `predictor.mechanism`), over the seeds, at
    the scored training lengths and the scored held-out lengths."""
    lines = ["## Mechanism: the compiled heads and the closest trained heads", "",
             "Agreement = 1 - mean total-variation distance between a compiled head's attention and the "
             "trained head that attends most like it, on 4 inputs at each of the first, middle and last "
             "training and held-out lengths; mean over seeds (`rasp inspect RUN_DIR` shows one run).", "",
             "| task | encoding | compiled head | agreement, train lengths | agreement, held out | seeds |",
             "|---|---|---|---|---|---|"]
    found = False
    for row in result["summary"]:
        runs = [r for r in runs_of(result, row) if r.get("mechanism")]
        for h, title in enumerate([m["compiled"] for m in runs[0]["mechanism"]] if runs else []):
            found = True
            means = []
            for lengths in ("train_lengths", "heldout_lengths"):
                values = [mean(1 - d for n, d in r["mechanism"][h]["by_length"].items() if int(n) in r[lengths])
                          for r in runs]
                means.append(mean(values))
            lines.append(f"| {row['task']} | {row['pe']} | {title} | {means[0]:.2f} | {means[1]:.2f} | {len(runs)} |")
    return (lines if found else lines[:2] + ["No compiled heads to match (not compiled, or no attention)."]) + [""]


def tasks_section(result: SuiteResult) -> list[str]:
    lines = ["## Tasks", ""]
    for t in result["tasks"]:
        d = t["task"]
        settings = "; ".join(f"{k} {render(v)}" for k, v in d.items() if k not in ("name", "description") and v)
        lines.append(f"- **{d['name']}** ({d.get('description') or d.get('program', '')}): {settings}; "
                     f"{'inside' if t['in_conjecture'] else 'outside'} the conjecture; analysis probability "
                     f"{t['score']:.2f}, findings: {', '.join(t['findings']) or 'none'}")
    errors = [(t["task"]["name"], t["compiled"]["error"]) for t in result["tasks"] if t["compiled"].get("error")]
    if errors:
        lines += ["", "Not compiled:", ""] + [f"- {name}: {error}" for name, error in errors]
    return lines + [""]


def failed_section(result: SuiteResult) -> list[str]:
    """The runs with no record (the table above counts only the runs that finished)."""
    failed = result.get("failed") or []
    if not failed:
        return []
    return ["## Failed runs", "", f"{len(failed)} runs failed; the table above leaves them out.", "",
            "| task | PE | seed | error |", "|---|---|---|---|",
            *(f"| {f['task']} | {f['pe']} | {f['seed']} | {f['error'].replace('|', '/')} |" for f in failed), ""]


def markdown(result: SuiteResult) -> str:
    """report.md: protocol and command, the agreement, the table, anchors, error signatures, tasks."""
    s = result["settings"]
    protocol = s["protocol"]
    seconds = result.get("seconds")
    wall = "not recorded" if seconds is None else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"
    lines = ["# Length generalization: predicted and measured", "",
             f"Command: `{result.get('command', '')}`; wall time {wall}.", "",
             f"Protocol **{protocol.get('name', '?')}**:", ""]
    lines += [f"- {k}: {render(v)}" for k, v in protocol.items() if k != "name"]
    lines += ["", f"Seeds {render(s['seeds'])}; positional encodings {', '.join(s['pes'])}; "
              f"{s['eval_examples_per_length']} fresh inputs per length; training {render(s['train'])}.",
              f"A seed fitted when its train-length EM reached {s['fit_em']}; it generalizes in a bin when "
              f"its EM there is at least {s['generalized_if_bin_em_at_least']}. A task is judged when at least "
              "half its seeds fitted; it generalized when most fitted seeds generalize in the first bin. "
              "Intervals are Wilson 95%.", "",
              f"**{agreement_line(result['agreement'])}**", ""]
    lines += summary_table(result["summary"]) + [""] + failed_section(result)
    lines += anchors_section(result) + signatures_section(result) + mechanism_section(result) + tasks_section(result)
    lines += ["![EM by length](em_by_length.png)", "",
              "![seeds that generalize in the first bin](generalized_seeds.png)", ""]
    return "\n".join(lines)


# ---- terminal -----------------------------------------------------------------------------


def show_run(run: RunRecord) -> None:
    """`rasp train`'s table: the run's settings, EM at every length with the compiled model
    beside, EM per bin, the prediction and how the held-out failures went wrong."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    loss = "none" if run["final_loss"] is None else f"{run['final_loss']:.4f}"
    console.print(f"[bold]{run['task']}[/bold] ({run['program']}, {run['framing']}); protocol "
                  f"{run['protocol'].get('name', '?')}; {run['pe']} positions, offsets "
                  f"{'on' if run['offsets'] else 'off'}; seed {run['seed']}; {run['steps']} of "
                  f"{plural(run['max_steps'], 'step')}; fitted {'yes' if run['fitted'] else 'no'}; "
                  f"{plural(run['parameters'], 'parameter')}; final loss {loss}")
    tokens = int_keys(run["token_accuracy_by_length"])
    compiled = int_keys(run["compiled_em_by_length"])
    table = Table("length", "", "EM", "token acc", "compiled EM", box=None)
    for n, em in sorted(int_keys(run["em_by_length"]).items()):
        table.add_row(str(n), "train" if n in run["train_lengths"] else "held out", f"{em:.2f}",
                      number(tokens.get(n), 3), number(compiled.get(n)) if compiled else "")
    console.print(table)
    console.print(f"EM {run['train_em']:.2f} at train lengths, {run['heldout_em']:.2f} held out "
                  f"({plural(run['eval_examples_per_length'], 'input')} per length)")
    for b in run["bins"]:
        mark = ">=" if b["em"] >= GENERALIZED else "<"
        console.print(f"bin {span(b['lengths'])}: EM {b['em']:.3f} ({mark} {GENERALIZED})")
    if run["predicted"] is None:
        console.print("analysis: not run")
    else:
        verdict = run.get("verdict") or ("yes" if run["predicted"] else "no or unknown")
        console.print(f"analysis: {verdict} (probability {number(run['prediction_score'])})")
    for label, f in signature_groups([run], run["bins"]):
        console.print(f"errors at {label}: {describe_failures(f)}")
    info = run["compiled"]
    if info and info.get("error"):
        console.print(f"compiled model: not built: {info['error']}")
    if run["resumed_from"]:
        console.print(f"resumed from the checkpoint at step {run['resumed_from']} in {run['run_dir']}")
    if not run["fitted"]:
        console.print(f"[yellow]did not fit the train lengths in {plural(run['steps'], 'step')}: the held-out figures "
                      "say nothing about the conjecture[/yellow]")


def show_summary(result: SuiteResult) -> None:
    """`rasp experiment`'s table: the report's columns in short form, then the agreement."""
    from rich.console import Console
    from rich.table import Table

    rows = result["summary"]
    headers = [h.removeprefix("EM ") for h in bin_headers(rows)]
    table = Table("task", "PE", "pred", "fit", "steps", "train", *headers, "compiled", "published", "held",
                  box=None)
    for column in table.columns:
        column.no_wrap = True
    for r in rows:
        bins = [spread(b["em_mean"], b["em_sd"], bin_values(b, r["seeds"]), "±") + " "
                + ("-" if b["fraction"] is None else f"{b['generalized_seeds']}/{b['fitted_seeds']}")
                for b in r["bins"]]
        bins += [""] * (len(headers) - len(bins))
        table.add_row(r["task"], r["pe"], f"{r['verdict']} {r['score']:.2f}",
                      f"{r['fitted_seeds']}/{r['seeds']}", f"{r['steps_mean']:.0f}",
                      spread(r["train_em_mean"], r["train_em_sd"], r["seeds"], "±"), *bins,
                      "not compiled" if r["compiled_error"] else "/".join(number(b["compiled_em"]) for b in r["bins"]),
                      published_cell(r, "/"),
                      held_cell(r, bold=False).replace(" (did not fit)", "").replace(" the conjecture", ""))
    console = Console()
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    if needed > console.width:  # a wide table is printed whole, not squeezed into ellipses
        console = Console(width=needed)
    console.print(table)
    console.print(agreement_line(result["agreement"]))
    for f in result.get("failed") or []:
        console.print(f"failed: {f['task']}, {f['pe']}, seed {f['seed']}: {f['error']}", markup=False)
