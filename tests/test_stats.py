"""The experiment's statistics (predictor.stats), the published anchors, and the written report
(predictor.results) on synthetic records: no training here."""

from __future__ import annotations

import csv
import json

import pytest

from predictor import results
from predictor.anchors import anchor_for, published
from predictor.stats import GENERALIZED, agreement, combine_failures, summarize, wilson

QUICK_BINS = [[11, 15], [16, 20]]
PAPER_BINS = [[51, 100], [101, 150]]


# ---- synthetic records --------------------------------------------------------------------


def task(name, predicted=True, in_conjecture=True, compiled=None, error=None):
    """A TaskRecord; `compiled` is the compiled model's EM by length."""
    scores = {"error": error} if error else {"em_by_length": compiled or {}, "layers": 2, "parameters": 10,
                                              "max_len": 40, "seconds": 0.1}
    return {"task": {"name": name, "program": name, "description": f"the {name} task", "framing": "per-position",
                     "sampler": "uniform", "train_lengths": [1, 10], "heldout_lengths": [11, 20]},
            "in_conjecture": in_conjecture, "score": 0.9 if predicted else 0.1, "predicted": predicted,
            "findings": [] if predicted else ["position-arithmetic"], "compiled": scores}


def failures(wrong, first_wrong_mean, offsets, examples=10):
    return {"examples": examples, "wrong": wrong, "first_wrong_mean": first_wrong_mean,
            "first_wrong": {3: wrong} if wrong else {}, "ended_early": 1 if wrong else 0,
            "ended_late": 0, "wrong_token": max(wrong - 1, 0), "source_offsets": offsets}


def run(name, seed, fitted, bin_ems, pe="rotary", bins=QUICK_BINS, steps=100, predicted=True, signature=None):
    """A RunRecord whose per-length EM equals its bin's EM at every length of the bin."""
    em = {n: 1.0 for n in range(1, 11)}
    for lengths, e in zip(bins, bin_ems):
        em.update({n: e for n in range(lengths[0], lengths[1] + 1)})
    heldout = [n for n in em if n > 10]
    return {"task": name, "program": name, "output": "out", "framing": "per-position", "in_conjecture": True,
            "protocol": {"name": "quick"}, "pe": pe, "offsets": False, "seed": seed, "steps": steps,
            "max_steps": 200, "fitted": fitted, "fit_checks": [[steps, 1.0 if fitted else 0.5]],
            "train_lengths": list(range(1, 11)), "heldout_lengths": heldout,
            "bins": [{"lengths": list(b), "em": e} for b, e in zip(bins, bin_ems)],
            "em_by_length": em, "token_accuracy_by_length": {n: min(1.0, e + 0.1) for n, e in em.items()},
            "train_em": 1.0 if fitted else 0.5, "heldout_em": sum(em[n] for n in heldout) / len(heldout),
            "error_signature": signature or {}, "predicted": predicted, "prediction_score": 0.9,
            "compiled_em_by_length": None, "compiled": None, "eval_examples_per_length": 10,
            "final_loss": 0.01, "resumed_from": None, "train_seconds": 1.0, "parameters": 1234,
            "model": {}, "train": {}, "task_settings": {}, "run_dir": None}


def one(rows, name, pe="rotary"):
    [row] = [r for r in rows if r["task"] == name and r["pe"] == pe]
    return row


# ---- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n, low, high", [
    (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (4, 5, 0.3755, 0.9638),
])
def test_wilson_matches_published_values(k, n, low, high):
    got = wilson(k, n)
    assert got[0] == pytest.approx(low, abs=1e-3)
    assert got[1] == pytest.approx(high, abs=1e-3)


def test_wilson_of_no_trials_is_the_whole_range():
    assert wilson(0, 0) == (0.0, 1.0)


# ---- anchors ------------------------------------------------------------------------------


def test_anchors_are_keyed_by_our_task_names_and_exact_bins():
    assert published("copy_unique", (51, 100)) == 0.999
    assert published("parity", (101, 150)) == 0.621
    assert published("sort_unique", (51, 100)) == 0.9996
    assert published("copy_unique", (11, 20)) is None
    assert published("mode", (51, 100)) is None
    assert "Length Generalization" in anchor_for("copy_unique").citation
    count = anchor_for("count")
    assert "ICLR 2024" in count.citation and not count.bins and "60" in count.note
    assert "0.996" in anchor_for("majority").note


# ---- summarize ----------------------------------------------------------------------------


def test_fit_rate_judging_and_outcome_come_from_fitted_seeds():
    # two of three seeds fitted: judged; one of those two reaches 0.9 in the first bin, which is
    # half of them, so the row generalized; the unfitted seed's 0.99 counts for nothing
    runs = [run("copy_unique", 0, True, [0.95, 0.2]), run("copy_unique", 1, True, [0.5, 0.1]),
            run("copy_unique", 2, False, [0.99, 0.99], steps=200)]
    [row] = summarize([task("copy_unique")], runs, ["rotary"])
    assert (row["seeds"], row["fitted_seeds"]) == (3, 2)
    assert row["fit_rate"] == pytest.approx(2 / 3)
    assert row["fit_interval"] == pytest.approx(list(wilson(2, 3)))
    assert row["steps_mean"] == pytest.approx(400 / 3)
    first = row["bins"][0]
    assert first["em_mean"] == pytest.approx(0.725)
    assert (first["generalized_seeds"], first["fitted_seeds"], first["fraction"]) == (1, 2, 0.5)
    assert row["judged"] and row["generalized"] is True and row["held"] is True
    assert row["bins"][1]["generalized_seeds"] == 0


def test_a_row_whose_seeds_mostly_did_not_fit_is_not_judged():
    runs = [run("parity", 0, True, [0.2, 0.1]), run("parity", 1, False, [0.3, 0.1]),
            run("parity", 2, False, [0.4, 0.1])]
    none_fitted = [run("mode", s, False, [0.2 * (s + 1), 0.0]) for s in range(2)]
    rows = summarize([task("parity", predicted=False), task("mode")], runs + none_fitted, ["rotary"])
    parity, mode = one(rows, "parity"), one(rows, "mode")
    assert not parity["judged"] and parity["generalized"] is None and parity["held"] is None
    # with no seed fitted, EM is averaged over all seeds and there is no fraction to give
    assert mode["bins"][0]["em_mean"] == pytest.approx(0.3)
    assert mode["bins"][0]["fraction"] is None and mode["bins"][0]["interval"] is None


def test_half_the_seeds_fitted_is_enough_to_judge():
    runs = [run("parity", 0, True, [0.2, 0.1]), run("parity", 1, False, [0.95, 0.1])]
    [row] = summarize([task("parity", predicted=False)], runs, ["rotary"])
    assert row["judged"] and row["generalized"] is False and row["held"] is True


def test_prediction_against_a_failed_first_bin_does_not_hold():
    runs = [run("mode", s, True, [0.89, 1.0]) for s in range(3)]
    [row] = summarize([task("mode", predicted=True)], runs, ["rotary"])
    assert row["bins"][0]["generalized_seeds"] == 0 and row["bins"][1]["generalized_seeds"] == 3
    assert row["generalized"] is False and row["held"] is False


def test_compiled_em_is_the_mean_over_the_bin_with_json_keys():
    compiled = {"11": 1.0, "12": 0.0, "13": 1.0, "14": 1.0, "15": 0.5, "3": 0.0}
    [row] = summarize([task("mode", compiled=compiled)], [run("mode", 0, True, [1.0, 1.0])], ["rotary"])
    assert row["bins"][0]["compiled_em"] == pytest.approx(0.7)
    assert row["bins"][1]["compiled_em"] is None  # not scored at 16-20
    [broken] = summarize([task("mode", error="too large")], [run("mode", 0, True, [1.0, 1.0])], ["rotary"])
    assert broken["compiled_error"] == "too large" and broken["bins"][0]["compiled_em"] is None


def test_anchors_attach_only_to_bins_with_the_papers_lengths():
    runs = [run("copy_unique", 0, True, [1.0, 0.9], bins=PAPER_BINS),
            run("copy_unique", 0, True, [1.0, 0.9], pe="alibi", bins=[[51, 100], [101, 160]]),
            run("copy_unique", 0, True, [1.0, 0.9], pe="nope"),
            run("mode", 0, True, [1.0, 0.9], bins=PAPER_BINS)]
    rows = summarize([task("copy_unique"), task("mode")], runs, ["rotary", "alibi", "nope"])
    assert [b["anchor"] for b in one(rows, "copy_unique")["bins"]] == [0.999, 0.987]
    assert [b["anchor"] for b in one(rows, "copy_unique", "alibi")["bins"]] == [0.999, None]
    assert [b["anchor"] for b in one(rows, "copy_unique", "nope")["bins"]] == [None, None]
    assert "Huang" in one(rows, "copy_unique")["anchor"]
    assert one(rows, "mode")["anchor"] is None and one(rows, "mode")["bins"][0]["anchor"] is None


# ---- agreement ----------------------------------------------------------------------------


def suite_runs(bins=QUICK_BINS):
    """rotary: a held (generalized, predicted yes), b not held (failed, predicted yes), c held
    (failed, predicted no), d outside the conjecture, e not judged; alibi rows that must not count."""
    rotary = {"a": [0.95, 0.9], "b": [0.1, 0.0], "c": [0.2, 0.0], "d": [1.0, 1.0]}
    runs = [run(name, s, True, ems, bins=bins) for name, ems in rotary.items() for s in range(2)]
    runs += [run("e", s, s == 0, [0.0, 0.0], bins=bins) for s in range(3)]
    runs += [run(name, 0, True, [0.0, 0.0], pe="alibi", bins=bins) for name in "abcde"]
    tasks = [task("a"), task("b"), task("c", predicted=False), task("d", predicted=False, in_conjecture=False),
             task("e")]
    return tasks, runs


def test_agreement_counts_each_judged_task_inside_the_conjecture_once():
    tasks, runs = suite_runs()
    rows = summarize(tasks, runs, ["rotary", "alibi"])
    rows.append(dict(one(rows, "b")))  # a task listed twice is counted once
    a = agreement(rows, "rotary")
    assert (a["judged"], a["held"]) == (3, 2)
    assert a["rate"] == pytest.approx(2 / 3)
    assert a["interval"] == pytest.approx(list(wilson(2, 3)))
    assert (a["always_yes"], a["always_no"]) == (1, 2)
    assert a["not_judged"] == ["e"] and a["outside"] == ["d"]
    assert one(rows, "d")["held"] is False  # computed outside the conjecture, but not counted
    alibi = agreement(rows, "alibi")
    # alibi: one fitted seed each, all failed: e is judged there, and only c (predicted no) held
    assert (alibi["judged"], alibi["held"], alibi["always_yes"], alibi["not_judged"]) == (4, 1, 0, [])


def test_agreement_with_nothing_judged_has_no_rate():
    a = agreement([], "rotary")
    assert a["judged"] == 0 and a["rate"] is None and a["interval"] is None


# ---- error signatures ---------------------------------------------------------------------


def test_failures_combine_across_lengths_with_string_keys():
    combined = combine_failures([failures(4, 2.0, {"-1": 3, "1": 1}), failures(1, 7.0, {"-1": 1, "2": 1}),
                                 failures(0, None, {})])
    assert (combined["examples"], combined["wrong"], combined["ended_early"]) == (30, 5, 2)
    assert combined["first_wrong_mean"] == pytest.approx(3.0)  # (4 * 2 + 1 * 7) / 5
    assert combined["source_offsets"] == {-1: 4, 1: 1, 2: 1}
    assert combined["first_wrong"] == {3: 5}


# ---- the report ---------------------------------------------------------------------------


def suite_result(protocol, bins):
    tasks, runs = suite_runs(bins)
    tasks[0] = task("copy_unique")
    runs = [dict(r, task="copy_unique") if r["task"] == "a" else r for r in runs]
    last = bins[-1][1]
    runs[0]["error_signature"] = {last: failures(3, 4.5, {-1: 2, 1: 1})}
    runs[0]["fitted"] = True
    rows = summarize(tasks, runs, ["rotary", "alibi"])
    return {"tasks": tasks, "runs": runs, "summary": rows, "agreement": agreement(rows, "rotary"),
            "settings": {"protocol": protocol, "seeds": [0, 1], "pes": ["rotary", "alibi"],
                         "train": {"steps": 200, "batch_size": 64}, "eval_examples_per_length": 10,
                         "generalized_if_bin_em_at_least": GENERALIZED, "fit_em": 0.99}}


def test_report_after_a_json_round_trip_shows_agreement_anchors_and_signatures(tmp_path):
    protocol = {"name": "paper", "train_lengths": [1, 50], "offsets": True, "max_steps": 30000}
    result = json.loads(json.dumps(suite_result(protocol, PAPER_BINS)))
    paths = results.write(result, tmp_path, "rasp experiment paper", seconds=125.0)
    assert [p.name for p in paths[:3]] == ["results.json", "results.csv", "report.md"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    report = paths[2].read_text()
    assert ("With rotary positions, the prediction held on 2 of 3 tasks inside the conjecture "
            "(0.67, Wilson 95% interval 0.21-0.94)") in report
    assert "always 'yes' would get 1, always 'no' 2; not judged: e; outside the conjecture: d." in report
    assert "offsets: yes" in report and "max_steps: 30000" in report and "Protocol **paper**" in report
    assert "rasp experiment paper" in report and "125 s" in report
    assert "0.999 / 0.987" in report  # published figures beside ours
    assert "Huang et al., ICLR 2025" in report and "not 'paper'" not in report
    assert "2/2 seeds >= 0.9 [0.34-1.00]" in report
    assert "not judged (did not fit)" in report and "outside the conjecture |" in report and "**no**" in report
    assert "lengths 101-150 (2 seeds): 3 of 10 wrong" in report and "-1 (2), +1 (1)" in report
    saved = json.loads(paths[0].read_text())
    assert saved["command"] == "rasp experiment paper" and saved["seconds"] == 125.0
    with paths[1].open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(r["em_by_length"]) for r in result["runs"])
    assert {r["bin"] for r in rows if r["split"] == "heldout"} == {"51-100", "101-150"}
    assert {r["bin"] for r in rows if r["split"] == "train"} == {""}


def test_an_unknown_verdict_is_reported_as_unknown_not_as_no(tmp_path, capsys):
    result = suite_result({"name": "quick"}, QUICK_BINS)
    result["tasks"][1] = dict(result["tasks"][1], predicted=False, verdict="unknown")
    result["summary"] = summarize(result["tasks"], result["runs"], ["rotary", "alibi"])
    result = json.loads(json.dumps(result))
    name = result["tasks"][1]["task"]["name"]
    rows = [line for line in results.write(result, tmp_path, "rasp experiment")[2].read_text().splitlines()
            if line.startswith(f"| {name} |")]
    assert rows and all("| unknown (0.90) |" in line for line in rows)
    results.show_run(dict(result["runs"][0], predicted=False, verdict="unknown"))
    assert "analysis: unknown" in capsys.readouterr().out


def test_report_warns_that_other_protocols_compare_shapes_not_numbers(tmp_path):
    result = json.loads(json.dumps(suite_result({"name": "quick", "train_lengths": [1, 10]}, QUICK_BINS)))
    report = results.write(result, tmp_path, "rasp experiment")[2].read_text()
    assert "not 'paper'" in report and "the shape" in report
    assert "0.999" in report  # the published figure still listed in the Anchors section
    assert "EM 11-15" in report and "wall time not recorded" in report


def test_terminal_tables_after_a_json_round_trip(capsys):
    result = json.loads(json.dumps(suite_result({"name": "quick"}, QUICK_BINS)))
    results.show_summary(result)
    unfitted = next(r for r in result["runs"] if not r["fitted"])
    results.show_run(result["runs"][0])
    results.show_run(dict(unfitted, predicted=None))
    out = capsys.readouterr().out
    assert "the prediction held on 2 of 3" in out
    assert "analysis: yes (probability 0.90)" in out and "analysis: not run" in out
    assert "errors at 16-20: 3 of 10 wrong" in out
    assert "did not fit the train lengths in 100 steps" in out
    assert out.count("did not fit the train lengths") == 1
