"""Did the trained model learn the program's mechanism? (`predictor/mechanism.py`, `rasp inspect`):
the head match scores a compiled model against itself as 1, the alignment pairs positions that
hold the same token, and `rasp inspect` works on a trained run and refuses what it cannot read."""

from __future__ import annotations

import json
import random
import shutil
import sys

import numpy as np
import pytest
from helpers import cli

from compiler import compile_program
from compiler.runner import Runner
from predictor.data import Encoding
from predictor.evaluate import compiled_input
from predictor.mechanism import Alignment, aligned, match_heads
from predictor.tasks import find_task, make_examples
from rasp.language.inputs import token_key
from rasp.language.program import load_program

SHIFT = '# rasp: causal\nprev = aggregate(select(indices, indices - 1, ==), tokens, "a");\n'


def test_a_compiled_model_matched_against_itself_scores_one():
    model = compile_program(load_program("sort"), list("abc"), 6, verify=False).model
    runner = Runner(model)
    rng = random.Random(0)
    inputs = [[rng.choice("abc") for _ in range(n)] for n in (2, 4, 6, 6)]
    inside = [runner.internals(tokens) for tokens in inputs]
    titles = [h.title for h in inside[0].heads]
    as_learned = [np.stack(i.attention)[None] for i in inside]  # one layer holding every compiled head
    every = [Alignment(*[np.arange(len(t) + 1)] * 4) for t in inputs]
    matches = match_heads(titles, [i.attention for i in inside], as_learned, every, [len(t) for t in inputs])
    assert [(m.layer, m.head) for m in matches] == [(0, h) for h in range(len(titles))]
    assert all(m.distance == 0 and m.agreement == 1 for m in matches)
    assert all(set(m.by_length) == {2, 4, 6} for m in matches)
    uniform = [np.broadcast_to(np.tril(np.ones_like(a[0, 0])) / np.tril(np.ones_like(a[0, 0])).sum(-1, keepdims=True),
                               a.shape) for a in as_learned]
    assert all(m.distance > 0.1 for m in match_heads(titles, [i.attention for i in inside], uniform, every,
                                                     [len(t) for t in inputs]))


@pytest.mark.parametrize("name", ["copy_unique", "majority", "sort_unique", "dyck1"])
def test_the_alignment_pairs_positions_holding_the_same_token(name):
    task = find_task(name)
    task = type(task)(**{**task.__dict__, "train_lengths": (2, 6), "heldout_lengths": (7, 8)})
    program = task.build()
    encoding = Encoding.for_task(task, program)
    for e in make_examples(task, program, 5, 3, random.Random(1)):
        compiled = ["BOS", *compiled_input(e)]
        ids = encoding.batch([e])["ids"][0]
        specials = {"<bos>": "BOS", "<sep>": "SEP"}
        learned = [specials.get(t, t) for t in map(encoding.inputs.decode, ids.tolist())]
        where = aligned(e, encoding.autoregressive)
        for c_at, l_at in ((where.compiled_queries, where.learned_queries), (where.compiled_keys, where.learned_keys)):
            assert len(c_at) == len(l_at) > 0
            for c, t in zip(c_at, l_at):
                same = compiled[c] == learned[t] or (learned[t] == "SEP" and token_key(compiled[c]) == token_key(e.separator))
                answer = learned[t] == "SEP" and e.separator is None  # the answer's query: the last input token
                assert same or answer, (c, t, compiled, learned)


@pytest.fixture(scope="module")
def shift_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    program = root / "shift.rasp"
    program.write_text(SHIFT)
    done = cli("train", str(program), "--vocab", "ab", "--train-lengths", "2-4", "--heldout-lengths", "5-6",
               "--steps", "100", "--batch-size", "16", "--eval-examples", "8", "--no-compiled", "--json",
               "--runs", str(root / "runs"))
    assert done.returncode == 0, done.stderr
    (run_dir,) = (root / "runs").iterdir()
    return run_dir


def test_inspect_matches_every_compiled_head_and_draws_both_models(shift_run, tmp_path):
    picture = tmp_path / "heads.png"
    done = cli("inspect", str(shift_run), "--input", "abba", "--examples", "2", "--json", "-o", str(picture))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    program = load_program(str(shift_run.parent.parent / "shift.rasp"))
    heads = Runner(compile_program(program, ["a", "b"], 6, verify=False).model).internals(list("abba")).heads
    assert [m["compiled"] for m in found["matches"]] == [h.title for h in heads]
    assert found["lengths"] == [2, 3, 4, 5, 6] and found["input"] == list("abba")
    for m in found["matches"]:
        assert 0 <= m["agreement"] <= 1 and m["distance"] == pytest.approx(1 - m["agreement"])
        assert set(m["by_length"]) == {str(n) for n in found["lengths"]}
    assert picture.read_bytes().startswith(b"\x89PNG")
    table = cli("inspect", str(shift_run), "--input", "ab", "--examples", "1")
    assert table.returncode == 0 and "agreement" in table.stdout


def test_inspect_refuses_what_it_cannot_read(shift_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("inspect", str(empty), "--input", "ab")
    assert done.returncode == 2 and "not a run folder" in done.stderr
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(shift_run / "run.json", fresh / "run.json")
    done = cli("inspect", str(fresh), "--input", "ab")
    assert done.returncode == 2 and "has no checkpoint yet" in done.stderr
    done = cli("inspect", str(shift_run), "--input", "abz")
    assert done.returncode == 2 and "'z' is not one" in done.stderr
    done = cli("inspect", str(shift_run), "--input", "ab", "-o", str(tmp_path / "x.txt"))
    assert done.returncode == 2 and "use a .png or .svg" in done.stderr
    assert "Traceback" not in done.stderr and sys.executable


def test_the_experiment_reports_each_runs_head_matches(tmp_path):
    from predictor import results
    from predictor.experiment import run_suite
    from predictor.mechanism import scored_lengths
    from predictor.protocols import DEMO
    from predictor.tasks import Task

    program = tmp_path / "shift.rasp"
    program.write_text(SHIFT)
    task = Task("shift", str(program), ("a", "b"), train_lengths=(2, 4), heldout_lengths=(5, 6))
    result = run_suite([task], [0, 1], ["learned"], DEMO, tmp_path, {"steps": 40, "batch_size": 16},
                       eval_per_length=6, progress=False)
    heads = Runner(compile_program(load_program(str(program)), ["a", "b"], 6, verify=False).model)
    titles = [h.title for h in heads.internals(list("ab")).heads]
    for run in result["runs"]:
        assert [m["compiled"] for m in run["mechanism"]] == titles
        assert all(set(m["by_length"]) == set(scored_lengths(task)) for m in run["mechanism"])
    report = results.markdown(result)
    section = report.split("## Mechanism")[1].split("##")[0]
    assert all(f"| shift | learned | {t} |" in section for t in titles)
