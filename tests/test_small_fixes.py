"""Small user-reported slips, each pinned: rasp list, --version, --vocab help, check --unique,
suite paths, names of unnamed s-ops, plurals, the experiment report and its plots."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
from test_stats import QUICK_BINS, run, task

from grammar.errors import RaspError
from predictor import plots, results
from predictor.stats import GENERALIZED, agreement, summarize
from rasp.faces.cli import main, parser
from rasp.language import library
from rasp.language.program import from_text

ROOT = Path(__file__).resolve().parent.parent


def words(text: str) -> str:
    return " ".join(text.split())


# ---- 1. rasp list: summaries literal and whole ----------------------------------------------


def test_list_prints_every_summary_whole_with_its_brackets(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["list"]) == 0
    shown = words(capsys.readouterr().out)
    for name in library.names():
        # the file's opening comment, read here line by line (pragmas left out)
        comment = []
        for line in library.path(name).read_text().splitlines():
            if not line.startswith("#"):
                break
            if not line.lstrip("# ").startswith("rasp:"):
                comment.append(line.lstrip("#").strip())
        assert f"{name} {words(' '.join(comment))}" in shown, name
    assert "on [x1 .. xn, |, y1 .. yk] the" in shown  # copy: markup no longer eats the brackets
    assert "Example: abc -> [c, b, a]" in shown  # reverse: the last words of the comment


# ---- 2. rasp --version ----------------------------------------------------------------------


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version in capsys.readouterr().out.split()


# ---- 3. --vocab help says the default that applies ------------------------------------------


def vocab_helps() -> dict[str, str]:
    helps = {}
    for action in parser()._subparsers._group_actions:
        for command, sub in action.choices.items():
            for option in sub._actions:
                if "--vocab" in option.option_strings and not option.required:
                    helps[command] = words(option.help)
    return helps


def test_every_optional_vocab_help_states_the_sampled_default(tmp_path, capsys):
    helps = vocab_helps()
    assert set(helps) == {"analyze", "check", "train"}
    refs = tmp_path / "refs.py"
    refs.write_text("def same(t):\n    return [x == 'x' for x in t]\n\ndef plus(t):\n    return [x + 1 for x in t]\n")
    letters, numbers = tmp_path / "letters.rasp", tmp_path / "numbers.rasp"
    letters.write_text('y = tokens == "x";\n')
    numbers.write_text("y = tokens_int + 1;\n")
    used = {}
    for program, ref in ((letters, "same"), (numbers, "plus")):
        main(["check", str(program), "--reference", f"{refs}:{ref}", "--examples", "5", "--json"])
        used[program] = json.loads(capsys.readouterr().out)["vocab"]
    assert used[letters] == ["a", "b", "c", "d", "x"] and used[numbers] == [0, 1, 2, 3, 4, 5]
    for command, text in helps.items():  # what the help says is what was used
        assert "a, b, c, d" in text and "0-5" in text and "one-character string" in text, command
    assert "suite task's own vocabulary" in helps["train"]


# ---- 4. check --unique reports only lengths that occur --------------------------------------


def test_check_with_distinct_tokens_stops_at_the_vocabulary_size(tmp_path, capsys):
    seen = tmp_path / "lengths.txt"
    refs = tmp_path / "refs.py"
    refs.write_text(f"def rev(t):\n    open({str(seen)!r}, 'a').write(f'{{len(t)}}\\n')\n    return t[::-1]\n")
    assert main(["check", "reverse", "--reference", f"{refs}:rev", "--unique", "--vocab", "abc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lengths = {int(n) for n in seen.read_text().split()}
    assert max(lengths) == 3 and report["max_len"] == 3 and report["ok"]
    assert main(["check", "reverse", "--reference", f"{refs}:rev", "--unique", "--vocab", "abc"]) == 0
    out = capsys.readouterr()
    assert "lengths 1-3 " in out.out and "1-10" not in out.out and "at most 3 long" in out.err


# ---- 5. suite files read their programs from their own folder -------------------------------


def test_a_suite_reads_relative_programs_beside_it(tmp_path, monkeypatch):
    from predictor.tasks import load_suite

    folder = tmp_path / "suites"
    folder.mkdir()
    (folder / "flip.rasp").write_text('y = tokens == "a";\n')
    suite = folder / "s.json"
    suite.write_text(json.dumps([{"name": "flip", "program": "flip.rasp", "vocab": ["a", "b"]},
                                 {"name": "lib", "program": "sort", "vocab": ["a", "b"]}]))
    monkeypatch.chdir(tmp_path)  # not the suite's folder
    flip, lib = load_suite("suites/s.json")
    assert Path(flip.program) == folder / "flip.rasp" and flip.build().run([["a", "b"]]) == [[True, False]]
    assert lib.program == "sort" and lib.build().run([["b", "a"]]) == [["a", "b"]]
    suite.write_text(json.dumps([{"name": "gone", "program": "nowhere/x.rasp", "vocab": ["a"]}]))
    with pytest.raises(RaspError, match=r"task 'gone': no program file .*suites/nowhere/x.rasp"):
        load_suite(str(suite))


# ---- 6. an unnamed s-op is named by what it does and where ----------------------------------

SOURCE = ('n = selector_width(select(tokens, tokens, ==));\n'
          'z = numerical(aggregate(select(indices, indices, <=), numerical(indicator(tokens == "a")), 0)) * n;\n')


def test_analysis_names_an_unnamed_aggregate_by_its_position():
    from predictor.analysis import analyze

    result = analyze(from_text(SOURCE, path="u.rasp"), list("ab"))
    col = SOURCE.splitlines()[1].index("aggregate(") + 1
    where = f"the aggregate at line 2, col {col}"
    assert any(where in f.message for f in result.findings)
    assert where in [g.name for g in result.growing]
    assert not re.search(r"'v\d+'|\bv\d+\b", " ".join(f.message for f in result.findings))


def test_a_model_too_large_names_its_largest_unnamed_s_op(monkeypatch):
    from compiler import estimate
    from compiler.lowered import Info
    from rasp.language import sops

    program = from_text('y = (indices + 1) == 3;\n', path="p.rasp")
    unnamed = next(n for n in sops.walk([program.output]) if isinstance(n, sops.Map) and not n.label)
    info = Info("x", [1, 2], sops.Encoding.CATEGORICAL, origin=unnamed)
    monkeypatch.setattr(estimate, "memory_budget", lambda: 1)
    with pytest.raises(RaspError) as raised:
        estimate.refuse_if_too_large(estimate.Estimate(10, 1, 1, 1, 10, info), 2, 4)
    col = 'y = (indices + 1) == 3;'.index("+") + 1  # an operator's node starts at the operator
    assert f"the largest part is the map '+' at line 1, col {col} with 2 values" in raised.value.message


# ---- 7. one layer, not "1 layers" -----------------------------------------------------------


def test_counts_agree_with_their_nouns():
    from rasp.language.values import plural

    assert [plural(n, "layer") for n in (0, 1, 2, 1200)] == ["0 layers", "1 layer", "2 layers", "1,200 layers"]


def test_a_one_layer_model_is_reported_as_one_layer():
    from compiler import compile_program, report

    result = compile_program(from_text('y = tokens == "a";\n'), list("ab"), 2)
    assert result.model.num_layers == 1
    text = report.summary(result)
    assert "1 layer," in text and "1 layers" not in text


# ---- 8. the experiment report ---------------------------------------------------------------


def suite(seeds: int, error: str | None = None) -> dict:
    tasks = [task("a"), task("b", error=error)]
    runs = [run(name, s, True, [0.95, 0.5]) for name in "ab" for s in range(seeds)]
    rows = summarize(tasks, runs, ["rotary"])
    return json.loads(json.dumps({
        "tasks": tasks, "runs": runs, "summary": rows, "agreement": agreement(rows, "rotary"),
        "settings": {"protocol": {"name": "quick"}, "seeds": list(range(seeds)), "pes": ["rotary"], "train": {},
                     "eval_examples_per_length": 10, "generalized_if_bin_em_at_least": GENERALIZED,
                     "fit_em": 0.99}}))


def table_rows(report: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith(("| a |", "| b |"))]


def test_one_seed_shows_no_spread_and_several_do():
    assert table_rows(results.markdown(suite(1))) and not any("±" in r for r in table_rows(results.markdown(suite(1))))
    assert all("1.00 ± 0.00" in r for r in table_rows(results.markdown(suite(2))))


def test_not_compiled_lists_the_failures_only_when_there_are_some():
    assert "Not compiled" not in results.markdown(suite(2))
    assert "Not compiled:\n\n- b: too large" in results.markdown(suite(2, error="too large"))


def test_the_report_records_the_command_as_given(tmp_path, monkeypatch):
    import predictor.experiment

    written = {}
    monkeypatch.setattr(predictor.experiment, "run_suite", lambda *a, **k: suite(1))
    monkeypatch.setattr(results, "write", lambda result, out, command, seconds: written.setdefault("c", command)
                        and [out / "r.json", out / "r.csv", out / "report.md"])
    monkeypatch.setattr(results, "show_summary", lambda result: None)
    monkeypatch.setattr(sys, "argv", ["/somewhere/rasp/faces/demo.py"])  # as make demo calls it
    assert main(["experiment", "demo", "--seeds", "1", "--out", str(tmp_path / "my out")]) == 0
    assert written["c"] == f"rasp experiment demo --seeds 1 --out '{tmp_path / 'my out'}'"


# ---- 9. the plots ---------------------------------------------------------------------------


def drawn(monkeypatch, draw, result) -> tuple:
    """The figure a plot function saves, drawn, and its renderer."""
    figures = []

    def save(fig, path, **options):
        fig.canvas.draw()
        figures.append((fig, fig.canvas.get_renderer()))

    monkeypatch.setattr(plots, "save_figure", save)
    draw(result, Path("unused.png"))
    return figures[0]


def overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_the_length_plot_has_whole_length_ticks_and_a_legend_clear_of_the_panels(monkeypatch):
    result = suite(2)
    # a full row of four panels (the legend used to sit on the last), one compiled
    result["tasks"] = [dict(t, task=dict(t["task"], name=n)) for t, n in zip(result["tasks"] * 2, "abcd")]
    result["tasks"][0]["compiled"]["em_by_length"] = {str(n): 1.0 for n in range(1, 21)}
    fig, renderer = drawn(monkeypatch, plots.plot_lengths, result)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == ["rotary", "compiled"]
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        if ax.axison:
            assert not overlap(box, ax.get_tightbbox(renderer))
            low, high = ax.get_xlim()
            assert all(float(x).is_integer() for x in ax.get_xticks() if low <= x <= high)


@pytest.mark.parametrize("copies", [2, 12])  # the demo's four rows; a full suite with two encodings
def test_the_seed_plot_labels_and_title_do_not_overprint(monkeypatch, copies):
    result = suite(2)
    result["summary"] = result["summary"] * copies
    fig, renderer = drawn(monkeypatch, plots.plot_seeds, result)
    (ax,) = fig.axes
    boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    assert not any(overlap(a, b) for a, b in zip(boxes, boxes[1:]))
    title, whole = ax.title.get_window_extent(renderer), fig.bbox
    assert whole.x0 <= title.x0 and title.x1 <= whole.x1
