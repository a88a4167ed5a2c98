"""The analysis: each escape from C-RASP with a program that makes it and one that does not;
rewrites that keep a task keep its verdict; determinism; the setting; the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli

from predictor.analysis import Realizable, Setting, Verdict, analyze
from predictor.crasp import WHY, Escape, check
from rasp.language.program import from_text, load_program


def escapes_of(text: str, vocab=None) -> list[str]:
    program = from_text(text, path="rule.rasp")
    return [f.rule for f in analyze(program, vocab).findings]


# (escape, a program that makes it, one that computes something close inside the fragment)
ESCAPE_CASES = [
    (Escape.NON_LOCAL_LOOKUP,
     "flip = aggregate(select(indices, length - 1 - indices, ==), tokens);",
     "prev = aggregate(select(indices, indices - 1, ==), tokens, \"_\");"),
    (Escape.CROSS_POSITION_COUNT,
     "h = selector_width(select(tokens, tokens, ==));\nrarer = selector_width(select(h, h, <)) > 0;",
     "h = selector_width(select(tokens, tokens, ==));\nrare = h < 2;"),
    (Escape.COPIED_COUNT,
     "where = aggregate(select(tokens, \"a\", ==), indices, 0);\nlate = where > 3;",
     "seen = aggregate(select(tokens, \"a\", ==), tokens, \"_\");"),
    (Escape.MODULAR_COUNTING,
     "ones = selector_width(select(tokens, \"a\", ==));\nodd = ones % 2;",
     "even_position = indices % 2;"),
    (Escape.NON_LINEAR,
     "a = selector_width(select(tokens, \"a\", ==));\nb = selector_width(select(tokens, \"b\", ==));\n"
     "more = a * b > length;",
     "a = selector_width(select(tokens, \"a\", ==));\nb = selector_width(select(tokens, \"b\", ==));\n"
     "more = 2 * a > b + length;"),
    (Escape.MEAN_PRECISION,
     "share = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\nr = round(share * 10) == 3;",
     "share = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\nr = share * 10 > 3;"),
    (Escape.GROWING_OUTPUT,
     "count = selector_width(select(tokens, tokens, ==));",
     "seen = selector_width(select(tokens, tokens, ==)) > 1;"),
]


@pytest.mark.parametrize("escape, bad, good", ESCAPE_CASES, ids=[str(c[0]) for c in ESCAPE_CASES])
def test_each_escape_is_made_by_one_program_and_not_by_its_neighbour(escape, bad, good):
    assert str(escape) in escapes_of(bad)
    assert escapes_of(good) == []


def test_every_escape_has_a_test_a_reason_and_a_documented_example():
    docs = (Path(__file__).parent.parent / "docs" / "analysis.md").read_text()
    assert {c[0] for c in ESCAPE_CASES} == set(Escape) == set(WHY)
    for escape in Escape:
        assert f"`{escape}`" in docs


def test_escapes_point_at_the_source():
    result = analyze(from_text("a = tokens;\nflip = aggregate(select(indices, length - 1 - indices, ==), a);",
                               path="p.rasp"))
    (finding,) = result.findings
    assert (finding.rule, finding.line) == ("non-local-lookup", 2)
    assert "length - 1 - indices" in finding.source


# Pairs of programs that compute the same thing, written differently: means or counts, a
# function or inlined, definitions reordered, constants folded or not, dead code or none.
SAME_TASK = [
    ("share = aggregate(select(1, 1, ==), indicator(tokens_int == 1));\nm = 1 if share > 0.5 else 0;",
     "ones = selector_width(select(tokens_int, 1, ==));\nm = 1 if 2 * ones > length else 0;"),
    ("# rasp: causal\np = select(indices, indices, <=);\nb = aggregate(p, indicator(tokens == \"(\")) "
     "- aggregate(p, indicator(tokens == \")\"));\nok = b >= 0;",
     "# rasp: causal\np = select(indices, indices, <=);\nb = selector_width(p and select(tokens, \"(\", ==)) "
     "- selector_width(p and select(tokens, \")\", ==));\nok = b >= 0;"),
    ("def shift(x) { return aggregate(select(indices, indices - 1, ==), x, \"_\"); }\ny = shift(tokens) == tokens;",
     "y = aggregate(select(indices, indices - 1, ==), tokens, \"_\") == tokens;"),
    ("a = tokens == \"a\";\nb = tokens == \"b\";\ny = a or b;",
     "b = tokens == \"b\";\na = tokens == \"a\";\ny = a or b;"),
    ("y = indices + (1 + 1) > 4;", "y = indices + 2 > 4;"),
    ("unused = selector_width(select(indices, length - indices, ==)) % 2;\ny = tokens == \"a\";",
     "y = tokens == \"a\";"),
    ("y = tokens == \"a\";", "y = not (tokens != \"a\");"),
    ("ones = selector_width(select(tokens, \"a\", ==));\nodd = ones % 2;",
     "share = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\nodd = round(share * length) % 2;"),
    ("# rasp: causal\ns = aggregate(select(1, 1, ==), indicator(tokens == \"a\")) > 0.5;",
     "# rasp: causal\ns = aggregate(select(indices, indices, <=), indicator(tokens == \"a\")) > 0.5;"),
    ("# rasp: causal\ny = shift_by(tokens, 1, \"_\");",
     "# rasp: causal\ny = aggregate(select(indices, indices - 1, ==), tokens, \"_\");"),
    ("flip = aggregate(select(indices, length - 1 - indices, ==), tokens);",
     "last = length - 1;\nflip = aggregate(select(indices, last - indices, ==), tokens);"),
]


@pytest.mark.parametrize("first, second", SAME_TASK)
def test_rewrites_that_keep_the_task_keep_the_verdict(first, second):
    a, b = (analyze(from_text(t, path="p.rasp"), vocab=["a", "b", "(", ")", 0, 1]) for t in (first, second))
    assert (a.verdict, a.crasp.member, a.probability) == (b.verdict, b.crasp.member, b.probability)


def test_the_analysis_is_deterministic_and_ignores_the_sample_vocabulary_of_bounded_programs():
    program = load_program("mode")
    assert analyze(program).as_dict() == analyze(program).as_dict()
    for text in ["c = selector_width(select(tokens, \"a\", ==));",
                 "c = selector_width(select(tokens, tokens, ==));",
                 "c = selector_width(select(tokens, \"a\", ==)) > 2;"]:
        verdicts = {analyze(from_text(text), vocab).verdict for vocab in (None, list("ab"), list("abcdefgh"))}
        assert len(verdicts) == 1, text


# Huang et al., ICLR 2025 and Zhou et al., ICLR 2024: tasks with a C-RASP (or RASP-L) program
# that works at every length, and tasks shown to be outside.
INSIDE = ["copy", "sort_ar", "majority", "count", "dyck1", "shift_by"]
OUTSIDE = ["copy_repeated", "parity", "addition", "reverse", "hist"]


@pytest.mark.parametrize("name", INSIDE + OUTSIDE)
def test_membership_of_the_library_against_the_literature(name):
    program = load_program(name)
    result = check(program.output, program.sample_vocab(), causal=program.causal, distinct=program.tree.distinct)
    assert result.member == (name in INSIDE), [e.message for e in result.escapes]
    assert (result.witness is not None) == result.member


def test_the_analysis_never_reads_the_name(tmp_path):
    text = load_program("parity").tree.source.text
    renamed = tmp_path / "majority.rasp"
    renamed.write_text(text.replace("parity", "majority"))
    a, b = analyze(load_program("parity")), analyze(load_program(str(renamed)))
    assert (a.verdict, a.probability) == (b.verdict, b.probability)


def test_the_setting_enters_the_verdict():
    program = load_program("copy")
    assert analyze(program).verdict is Verdict.YES
    no_offsets = analyze(program, setting=Setting("cpu", "learned", False, (1, 30)))
    assert no_offsets.verdict is Verdict.NO and "never trained" in no_offsets.reasons[0]
    assert analyze(program, setting=Setting("cpu", "rotary", True, (1, 30))).verdict is Verdict.UNKNOWN


def test_a_wrong_program_is_no_whatever_its_fragment():
    wrong = Realizable(False, {"input": [1] * 17}, 120, 10)
    result = analyze(load_program("majority"), realizable=wrong)
    assert result.verdict is Verdict.NO and result.crasp.member
    assert result.probability == 0.0 and analyze(load_program("majority")).probability > 0.5


def test_the_probability_reads_the_features_the_json_shows():
    from predictor.probability import MODEL

    result = analyze(load_program("copy"))
    shown = result.as_dict()["features"]
    assert shown == {"member": 1, "attention_layers": result.size["attention_layers"]}
    assert result.size["attention_layers"] == 2  # the induction head: a previous-token head, then a copy
    assert result.probability == round(MODEL.probability(result.features), 4)


rasp = cli


def test_cli_json_contract_and_graph(tmp_path):
    dot, png = tmp_path / "g.dot", tmp_path / "g.png"
    done = rasp("analyze", "parity", "--json", "--graph", str(dot))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"verdict", "probability", "generalizes", "crasp", "findings", "diversity", "minimal", "realizable",
            "protocol"} <= set(report)
    assert report["verdict"] in ("yes", "no", "unknown") and report["generalizes"] == (report["verdict"] == "yes")
    assert report["crasp"]["member"] is False and report["crasp"]["escapes"]
    assert {"rule", "message", "line", "col"} <= set(report["findings"][0])
    assert report["protocol"]["pe"] == "learned" and report["realizable"] is None
    assert dot.read_text().startswith("digraph")
    again = rasp("analyze", "parity", "--json")
    assert again.stdout == done.stdout
    done = rasp("analyze", "sort_ar", "--graph", str(png))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("sort_ar: will it length-generalize? yes")
    assert png.read_bytes()[:4] == b"\x89PNG"


PARITY_TABLE = "\n".join(["ones = selector_width(select(tokens_int, 1, ==));",
                          "odd = " + " or ".join(f"ones == {k}" for k in range(1, 16, 2)) + ";",
                          "parity = 1 if odd else 0;"])


def test_cli_reference_finds_a_table_wrong_beyond_its_lengths(tmp_path):
    program, refs = tmp_path / "table.rasp", tmp_path / "refs.py"
    program.write_text(PARITY_TABLE + "\n")
    refs.write_text("def parity(xs):\n    return [sum(xs) % 2] * len(xs)\n")
    plain = json.loads(rasp("analyze", str(program), "--vocab", "[0,1]", "--json").stdout)
    assert plain["verdict"] == "yes"  # a finite table of comparisons is in the fragment ...
    done = rasp("analyze", str(program), "--vocab", "[0,1]", "--json", "--reference", f"{refs}:parity")
    report = json.loads(done.stdout)
    assert report["verdict"] == "no" and report["realizable"]["ok"] is False  # ... and wrong at 17 ones
    assert sum(report["realizable"]["counterexample"]["input"]) >= 17


def test_cli_bad_input(tmp_path):
    done = rasp("analyze", "sort_ar", "--protocol", "gpu")
    assert done.returncode == 2 and "gpu" in done.stderr and "Traceback" not in done.stderr
    refs = tmp_path / "refs.py"
    refs.write_text("def broken(xs):\n    raise ValueError('no')\n\ndef slow(xs):\n    while True:\n        pass\n")
    done = rasp("analyze", "majority", "--reference", f"{refs}:broken")
    assert done.returncode == 2 and "ValueError" in done.stderr and "Traceback" not in done.stderr
    done = rasp("analyze", "majority", "--reference", f"{refs}:slow", "--time-limit", "2", timeout=60)
    assert done.returncode == 2 and "did not finish" in done.stderr
    done = rasp("analyze", "sort_ar", "--graph", "out.pdf")
    assert done.returncode == 2 and ".png, .svg or .dot" in done.stderr
    done = rasp("analyze", "sort_ar", "--train-lengths", "5-2")
    assert done.returncode == 2 and "--train-lengths" in done.stderr
    done = rasp("analyze", "sort_ar", "--search-size", "-1")
    assert done.returncode == 2 and "--search-size" in done.stderr
    done = rasp("analyze", "copy", "--task", "nosuch", "--search-size", "2")
    assert done.returncode == 2 and "no such task" in done.stderr and "copy_unique" in done.stderr
    done = rasp("analyze", "copy", "--task", "copy_unique", "--train-lengths", "1-100", "--search-size", "2")
    assert done.returncode == 2 and "held-out lengths go to 200" in done.stderr  # 150 distinct tokens


def test_cli_searches_on_a_tasks_inputs():
    done = rasp("analyze", "copy", "--task", "copy_unique", "--protocol", "demo", "--search-size", "2",
                "--time-limit", "30", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for part in ("minimal", "diversity"):
        assert "copy_unique task's inputs" in found[part]["domain"], found[part]
    assert found["vocab"][-1] == "|" and len(found["vocab"]) > 10  # the task's tokens


def test_cli_many_shared_sub_expressions_finish(tmp_path):
    lines = ["x0 = indicator(tokens == \"a\");"] + [f"x{k} = x{k - 1} + x{k - 1};" for k in range(1, 10_000)]
    program = tmp_path / "deep.rasp"
    program.write_text("\n".join(lines + ["out = x9999 > 3;"]) + "\n")
    done = rasp("analyze", str(program), "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["crasp"]["member"] is True


@pytest.mark.parametrize("text", ["c = selector_width(select(tokens, \"a\", ==));\ny = \"x\" if c else \"y\";",
                                  "c = aggregate(select(1, 1, ==), indicator(tokens == \"a\"));\ny = 1 if c else 0;"])
def test_a_count_or_a_mean_as_a_condition_is_a_comparison_with_zero(text):
    assert analyze(from_text(text)).crasp.member


def test_a_member_never_has_a_growing_output():
    from rasp.language import library

    for name in library.names():
        result = analyze(load_program(name))
        grows = result.graph.graph["output"].label in {g.name for g in result.growing}
        assert not (result.crasp.member and grows), name
