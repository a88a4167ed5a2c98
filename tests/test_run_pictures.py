"""`rasp run` looking inside: --trace (table, JSON, graph picture), a selector named by --output,
and a compiled model's --attention and --residual pictures; bad requests are refused first."""

from __future__ import annotations

import json

import pytest
from helpers import cli

from compiler import model as saved
from compiler.runner import Runner
from rasp.language.program import from_text, load_program

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sort_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "sort.npz"
    assert cli("compile", "sort", "--vocab", "abc", "--max-len", "5", "-o", str(path)).returncode == 0
    return path


def test_attention_and_residual_pictures_of_a_model(sort_model, tmp_path):
    attention, residual = tmp_path / "a.png", tmp_path / "r.svg"
    done = cli("run", "sort", "--model", str(sort_model), "--input", "cab", "--attention", str(attention),
               "--residual", str(residual))
    assert done.returncode == 0, done.stderr
    assert attention.read_bytes().startswith(PNG) and b"<svg" in residual.read_bytes()[:400]
    heads = Runner(saved.load(sort_model)).internals(list("cab")).heads
    assert heads and f"({len(heads)} heads)" in done.stderr and "residual dimensions" in done.stderr


def test_trace_json_is_the_programs_trace_and_draws_the_graph(tmp_path):
    picture = tmp_path / "graph.png"
    done = cli("run", "sort", "--input", "cab", "--trace", str(picture), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(load_program("sort").trace(list("cab")).as_dict()))
    assert picture.read_bytes().startswith(PNG)
    table = cli("run", "sort", "--input", "cab", "--trace")
    assert table.returncode == 0 and all(name in table.stdout for name in ("earlier", "target", "sorted"))


def test_output_may_name_a_selector(tmp_path):
    source = tmp_path / "smaller.rasp"
    source.write_text("smaller = select(tokens, tokens, <);\nw = selector_width(smaller);\n")
    done = cli("run", str(source), "--output", "smaller", "--input", "cab", "--input", "ba", "--json")
    assert done.returncode == 0, done.stderr
    for line, tokens in zip(done.stdout.splitlines(), ["cab", "ba"]):
        rows = json.loads(line)["output"]
        assert rows == [[k < q for k in tokens] for q in tokens]  # rows are queries, columns keys
    widths = from_text(source.read_text()).run([list("cab")])[0]
    assert [sum(r) for r in json.loads(done.stdout.splitlines()[0])["output"]] == widths


@pytest.mark.parametrize("args, message", [
    (["--input", "cab", "--attention", "a.png"], "give it with --model"),
    (["--input", "cab", "--input", "ab", "--trace"], "look at one input"),
    (["--input", "cab", "--trace", "graph.txt"], "use a .png or .svg"),
    (["--input", "cab", "--trace", "no/such/folder/graph.png"], "there is no folder"),
])
def test_bad_picture_requests_are_refused(args, message, tmp_path):
    done = cli("run", "sort", *[str(tmp_path / a) if a.endswith((".png", ".txt")) else a for a in args])
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_pictures_refuse_inputs_the_model_cannot_take(sort_model, tmp_path):
    for tokens, message in (("abcabc", "compiled for at most 5"), ("abz", "not in the model's vocabulary")):
        done = cli("run", "sort", "--model", str(sort_model), "--input", tokens, "--attention",
                   str(tmp_path / "a.png"))
        assert done.returncode == 2 and message in done.stderr
        assert not (tmp_path / "a.png").exists()


def test_attention_titles_name_the_selector_each_head_compiles(sort_model):
    from rasp.faces.cli.running import head_titles
    from rasp.language import sops

    program = load_program("sort")
    inside = Runner(saved.load(sort_model)).internals(list("cab"))
    titles = head_titles(program, inside)
    for head, title in zip(inside.heads, titles):
        (node,) = [n for n in sops.walk([program.output]) if isinstance(n, (sops.Aggregate, sops.SelectorWidth))
                   and (n.span.line, n.span.col) == (head.sop.line, head.sop.col)]
        span = node.selector.span
        assert f"(line {span.line})" in title and (node.selector.label or "select(") in title
