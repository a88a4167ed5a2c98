"""The analysis: each rule with a program that breaks it and one that does not; the calibration
against Zhou et al. 2024; the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from predictor.analysis import RULES, analyze
from rasp.language.program import from_text, load_program


def rules_of(text: str, vocab=None, causal=None) -> list[str]:
    result = analyze(from_text(text, path="rule.rasp"), vocab, causal=causal, growth=False)
    return [f.rule for f in result.findings]


# (rule, a program that breaks it, one that does not)
RULE_CASES = [
    ("non-causal-selector",
     "# rasp: causal\nnext = aggregate(select(indices, indices + 1, ==), tokens, \"_\");",
     "# rasp: causal\nprev = aggregate(select(indices, indices - 1, ==), tokens, \"_\");"),
    ("index-arithmetic",
     "flip = aggregate(select(indices, length - 1 - indices, ==), tokens);",
     "prev = aggregate(select(indices, indices - 1, ==), tokens, \"_\");"),
    ("growing-categorical",
     "count = selector_width(select(tokens, tokens, ==));",
     "seen = selector_width(select(tokens, tokens, ==)) > 0;"),
    ("mean-precision",
     "share = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\nmore = share > 0.5;",
     "share = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\nhalf = share / 2;"),
    ("max-min-compile",
     "best = aggregate_max(select(indices, indices, <=), tokens, \"a\");",
     "first = aggregate(select(indices, 0, ==), tokens);"),
]


@pytest.mark.parametrize("rule, bad, good", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_rule_is_broken_by_one_program_and_kept_by_its_fix(rule, bad, good):
    assert rule in rules_of(bad)
    assert rule not in rules_of(good)


def test_every_rule_has_a_test_and_a_documented_example():
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "analysis.md").read_text()
    assert {c[0] for c in RULE_CASES} == set(RULES)
    for rule in RULES:
        assert f"`{rule}`" in docs


def test_findings_point_at_the_source():
    result = analyze(from_text("a = tokens;\nflip = aggregate(select(indices, length - 1 - indices, ==), a);",
                               path="p.rasp"), growth=False)
    (finding,) = [f for f in result.findings if f.rule == "index-arithmetic"]
    assert (finding.line, finding.col) == (2, 45) and "length - 1 - indices" in finding.source


def test_the_analysis_never_reads_the_name(tmp_path):
    text = load_program("parity").tree.source.text
    renamed = tmp_path / "count.rasp"
    renamed.write_text(text.replace("parity", "count"))
    a = analyze(load_program("parity"), growth=False)
    b = analyze(load_program(str(renamed)), growth=False)
    assert (a.score, a.generalizes) == (b.score, b.generalizes)


# Zhou et al. 2024: these generalize in the paper, and these do not.
GENERALIZE = ["count", "mode", "copy", "sort_ar", "sort_unique"]
DO_NOT = ["copy_repeated", "addition", "parity"]


@pytest.mark.parametrize("name", GENERALIZE + DO_NOT)
def test_calibration_against_the_literature(name):
    result = analyze(load_program(name), lengths=(5, 8))
    assert result.generalizes == (name in GENERALIZE), (name, result.score, [f.rule for f in result.findings])
    assert 0.0 <= result.score <= 1.0


def test_growth_is_measured_by_compiling():
    result = analyze(load_program("hist"), vocab=list("ab"), lengths=(4, 8, 16))
    growth = result.growth
    assert growth["available"] and [r["max_len"] for r in growth["compiled"]] == [4, 8, 16]
    widths = [r["residual_width"] for r in growth["compiled"]]
    assert widths == sorted(widths) and growth["residual_width_exponent"] > 0
    assert "hist" in growth["growing_sops"]
    assert result.size["layers"] >= 1 and result.size["selector_widths"] == 1


def rasp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_json_and_graph(tmp_path):
    dot, png = tmp_path / "g.dot", tmp_path / "g.png"
    done = rasp("analyze", "parity", "--json", "--lengths", "4,8", "--graph", str(dot))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["generalizes"] is False and isinstance(report["score"], float)
    assert {"rule", "message", "line", "col"} <= set(report["findings"][0])
    assert "selects" in report["size"] and "available" in report["growth"]
    assert dot.read_text().startswith("digraph")
    done = rasp("analyze", "sort", "--lengths", "4", "--graph", str(png))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("sort: predicted to length-generalize")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_bad_options():
    done = rasp("analyze", "sort", "--lengths", "x")
    assert done.returncode == 2 and "--lengths" in done.stderr
    done = rasp("analyze", "sort", "--lengths", "4", "--graph", "out.pdf")
    assert done.returncode == 2 and ".png, .svg or .dot" in done.stderr
