"""The trainer: it learns, it is deterministic, it resumes exactly, it splits over devices, and
its evaluation counts what it says it counts."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor import transformer
from predictor.data import Encoding
from predictor.encodings import ENCODINGS
from predictor.evaluate import evaluate_compiled, evaluate_learned, evaluation_sets, rows_correct
from predictor.tasks import Task, find_task, make_examples
from predictor.train import TrainConfig, train

TRIVIAL = "# rasp: causal\nflip = \"b\" if tokens == \"a\" else \"a\";\n"
TINY = dict(layers=1, heads=2, d_model=32)


@pytest.fixture(scope="module")
def trivial(tmp_path_factory) -> Task:
    path = tmp_path_factory.mktemp("programs") / "flip.rasp"
    path.write_text(TRIVIAL)
    return Task("flip", str(path), ("a", "b"), train_lengths=(1, 6), heldout_lengths=(7, 8))


def tiny_model(task: Task, program, pe: str = "rotary") -> tuple[transformer.ModelConfig, Encoding]:
    encoding = Encoding.for_task(task, program)
    return transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len,
                                   causal=True, pe=pe, **TINY), encoding


def params_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_a_tiny_model_learns_a_trivial_task_and_training_is_deterministic(trivial):
    program = trivial.load()
    config, encoding = tiny_model(trivial, program)
    run = TrainConfig(steps=150, batch_size=32, warmup=20, learning_rate=3e-3, seed=3)
    first = train(trivial, program, config, run, progress=False, encoding=encoding)
    sets = evaluation_sets(trivial, program, 100)
    scores = evaluate_learned(first.params, first.apply, encoding, sets)
    for n in range(1, 7):
        assert scores[n]["em"] >= 0.99, (n, scores[n])
    again = train(trivial, program, config, run, progress=False, encoding=encoding)
    assert again.losses == first.losses
    assert params_equal(again.params, first.params)
    other_seed = train(trivial, program, config, replace(run, seed=4, steps=5), progress=False, encoding=encoding)
    assert other_seed.losses != first.losses[:5]


def test_an_interrupted_run_resumes_to_the_same_parameters(trivial, tmp_path):
    program = trivial.load()
    config, encoding = tiny_model(trivial, program)
    run = TrainConfig(steps=40, batch_size=16, warmup=5, checkpoint_every=10)
    whole = train(trivial, program, config, run, tmp_path / "whole", progress=False, encoding=encoding)
    train(trivial, program, config, run, tmp_path / "cut", progress=False, encoding=encoding, stop_after=27)
    resumed = train(trivial, program, config, run, tmp_path / "cut", progress=False, encoding=encoding)
    assert resumed.resumed_from == 20
    assert len(resumed.losses) == 40
    assert resumed.losses == whole.losses
    assert params_equal(resumed.params, whole.params)


def test_a_run_out_of_time_stops_saves_and_resumes_to_the_same_parameters(trivial, tmp_path):
    """`stop_by` ends training at a step boundary, keeps every loss, checkpoints there, and the
    rerun finishes as a run that was never stopped."""
    import time

    program = trivial.load()
    config, encoding = tiny_model(trivial, program)
    run = TrainConfig(steps=30, batch_size=16, warmup=5, checkpoint_every=10)
    whole = train(trivial, program, config, run, tmp_path / "whole", progress=False, encoding=encoding)
    assert not whole.timed_out
    late = time.monotonic()
    stopped = train(trivial, program, config, run, tmp_path / "cut", progress=False, encoding=encoding, stop_by=late)
    assert stopped.timed_out and stopped.steps == 0 and not stopped.losses
    partial = train(trivial, program, config, run, tmp_path / "cut", progress=False, encoding=encoding,
                    stop_by=time.monotonic() + 3600, stop_after=13)
    assert partial.steps == 13 and len(partial.losses) == 13 and not partial.timed_out
    soon = train(trivial, program, config, run, tmp_path / "soon", progress=False, encoding=encoding,
                 stop_by=time.monotonic() + 0.5)
    assert soon.timed_out and 0 < soon.steps < 30 and len(soon.losses) == soon.steps
    resumed = train(trivial, program, config, run, tmp_path / "soon", progress=False, encoding=encoding)
    assert resumed.resumed_from == soon.steps
    assert resumed.losses == whole.losses
    assert params_equal(resumed.params, whole.params)


def test_a_killed_command_resumes_when_rerun(tmp_path, trivial):
    """A real kill (SIGKILL) of `rasp train` after its first checkpoint; the same command again
    finishes with the same results as a run that was never killed."""
    import signal
    import time

    command = [sys.executable, "-m", "rasp.faces.cli", "train", trivial.program, "--vocab", "ab", "--train-lengths",
               "1-4", "--heldout-lengths", "5-6", "--steps", "400", "--batch-size", "8", "--eval-examples", "20",
               "--no-compiled", "--json"]
    whole = json.loads(subprocess.run(command + ["--runs", str(tmp_path / "whole")], capture_output=True,
                                      text=True, check=True).stdout)
    cut = tmp_path / "cut"
    process = subprocess.Popen(command + ["--runs", str(cut)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not [p for p in cut.glob("*/checkpoints/*") if p.name.isdigit()]:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    rerun = json.loads(subprocess.run(command + ["--runs", str(cut)], capture_output=True, text=True,
                                      check=True).stdout)
    assert 100 <= rerun["resumed_from"] < 400, "the kill came after the first checkpoint, so the rerun resumes"
    assert rerun["final_loss"] == whole["final_loss"]
    assert rerun["em_by_length"] == whole["em_by_length"]


DEVICES_SCRIPT = """
import json, sys
import jax
from predictor.tasks import Task
from predictor.train import TrainConfig, train
from predictor import transformer
from predictor.data import Encoding
task = Task("flip", sys.argv[1], ("a", "b"), train_lengths=(1, 6), heldout_lengths=(7, 8))
program = task.load()
encoding = Encoding.for_task(task, program)
config = transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, layers=1, heads=2, d_model=32)
result = train(task, program, config, TrainConfig(steps=30, batch_size=16, warmup=5), progress=False, encoding=encoding)
print(json.dumps({"devices": jax.device_count(), "losses": result.losses}))
"""


def test_four_devices_give_the_losses_of_one(trivial):
    def losses(devices: int) -> dict:
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
        out = subprocess.run([sys.executable, "-c", DEVICES_SCRIPT, trivial.program], env=env, capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    one, four = losses(1), losses(4)
    assert (one["devices"], four["devices"]) == (1, 4)
    assert len(one["losses"]) == 30
    np.testing.assert_allclose(four["losses"], one["losses"], rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("pe", ENCODINGS)
@pytest.mark.parametrize("causal", [True, False])
def test_positional_encodings_respect_masks(pe, causal):
    """A causal model's output at a position ignores later tokens; every model ignores padding."""
    config = transformer.ModelConfig(7, 5, 16, causal=causal, pe=pe, **TINY)
    net = transformer.build(config)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 7, (3, 16)).astype(np.int32)
    lengths = np.array([16, 9, 4], np.int32)
    params = net.init(jax.random.PRNGKey(0), ids, lengths)
    base = np.asarray(net.apply(params, None, ids, lengths))
    padded = ids.copy()
    for r, n in enumerate(lengths):
        padded[r, n:] = rng.integers(0, 7, 16 - n)
    changed = np.asarray(net.apply(params, None, padded, lengths))
    for r, n in enumerate(lengths):
        np.testing.assert_allclose(changed[r, :n], base[r, :n], atol=1e-5)
    later = ids.copy()
    later[:, 5:] = rng.integers(1, 7, (3, 11))
    after = np.asarray(net.apply(params, None, later, np.full(3, 16, np.int32)))
    full = np.asarray(net.apply(params, None, ids, np.full(3, 16, np.int32)))
    same_prefix = np.allclose(after[:, :5], full[:, :5], atol=1e-5)
    assert same_prefix == causal


@settings(max_examples=10)
@given(st.integers(1, 12), st.integers(0, 10**6))
def test_autoregressive_examples_are_the_program_run_token_by_token(size, seed):
    task = replace(find_task("copy_unique"), train_lengths=(1, 6), heldout_lengths=(7, 12))
    program = task.load()
    for fast in (True, False):
        for e in make_examples(task, program, size, 3, random.Random(seed), fast=fast):
            x = e.prompt[:-1]
            assert e.prompt[-1] == "|" and x == e.input and len(x) == size and len(set(x)) == size
            assert e.target == x + ["|"] and e.output == x


def test_teacher_forced_em_scores_every_output_token_and_the_end():
    """With an oracle that predicts every next token of the framed sequence, EM is 1; spoil the
    prediction of one output token, or of one row's <eos>, and that row, only it, is wrong."""
    task = replace(find_task("count"), train_lengths=(1, 6), heldout_lengths=(7, 8))
    program = task.load()
    encoding = Encoding.for_task(task, program)
    examples = make_examples(task, program, 6, 5, random.Random(0))
    sequences = [encoding.sequence(e) for e in examples]
    assert all(s[0] == 1 and s[-1] == 3 for s in sequences)  # <bos> ... <eos>

    def oracle(spoil: tuple[int, int] | None):
        def forward(params, ids, lengths):
            out = np.zeros_like(ids)
            for r, s in enumerate(sequences):
                out[r, : len(s) - 1] = s[1:]
            if spoil:
                out[spoil] = 5
            return out
        return forward

    assert rows_correct(None, oracle(None), encoding, examples) == [True] * 5
    sep = len(examples[0].input) + 1  # position of <sep>: it predicts the first output token
    assert rows_correct(None, oracle((0, sep + 2)), encoding, examples) == [False, True, True, True, True]
    end = len(sequences[2]) - 2  # the position that predicts <eos>
    assert rows_correct(None, oracle((2, end)), encoding, examples) == [True, True, False, True, True]
    assert rows_correct(None, oracle((1, sep - 1)), encoding, examples) == [True] * 5  # inside the input: not scored


def test_the_compiled_model_is_exact_on_the_evaluation_inputs():
    task = replace(find_task("copy_unique"), train_lengths=(1, 3), heldout_lengths=(4, 5),
                   vocab=tuple(str(k) for k in range(8)))  # the suite's 150 tokens take minutes to compile
    program = task.load()
    result = evaluate_compiled(task, program, evaluation_sets(task, program, 20))
    assert result["em_by_length"] == {n: 1.0 for n in range(1, 6)}


def test_mode_compiles_with_its_max_heads_and_is_exact_on_the_evaluation_inputs():
    task = replace(find_task("mode"), train_lengths=(1, 3), heldout_lengths=(4, 5))
    program = task.load()
    result = evaluate_compiled(task, program, evaluation_sets(task, program, 10))
    assert result["em_by_length"] == {n: 1.0 for n in range(1, 6)}


def test_a_program_that_cannot_compile_says_why():
    from rasp.language.program import from_text

    task = replace(find_task("majority"), train_lengths=(1, 3), heldout_lengths=(4, 5))
    program = from_text("x = numerical(aggregate(select(indices, indices, <=), tokens_int + 1));", path="m.rasp")
    result = evaluate_compiled(task, program, evaluation_sets(task, program, 5))
    assert "can only average the numbers 0 and 1" in result["error"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["train", "copy_unique", "--train-lengths", "1-10", "--heldout-lengths", "5-8"], "must all be longer"),
    (["train", "no_such_program"], "no program 'no_such_program'"),
    (["train", "count", "--vocab", "abc"], "integer vocabulary"),
    (["train", "parity", "--vocab", "xyz"], "cannot use parity"),
    (["train", "copy_unique", "--vocab", "abcdef", "--train-lengths", "1-3", "--heldout-lengths", "4-8"],
     "at most 6"),
    (["train", "copy_unique", "--protocol", "gpu"], "unknown protocol 'gpu' (known: paper, cpu, demo)"),
    (["train", "copy_unique", "--protocol", "cpu", "--train-lengths", "1-40"], "must all be longer"),
    (["experiment", "--protocol", "demo", "--tasks", "copy_unique", "--batch-size", "65536"],
     "lower --batch-size or the lengths"),
    (["train", "reverse", "--pe", "wavelet"], "unknown positional encoding"),
    (["train", "reverse", "--batch-size", "4096", "--train-lengths", "1-10", "--heldout-lengths", "11-3000"],
     "lower --batch-size or the lengths"),
    (["train", "reverse", "--train-lengths", "ten"], "give lengths as A-B"),
    (["train", "copy_repeated", "--end", "#"], "did not give the end token"),
    (["train", "copy", "--sampler", "uniform"], "cannot use copy"),
    (["experiment", "no_such_suite.json"], "no suite"),
    (["experiment", "--tasks", "nothing"], "no task nothing"),
])
def test_bad_options_get_clear_errors(args, message):
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_the_experiment_writes_its_report(trivial, tmp_path):
    from predictor import results
    from predictor.experiment import run_suite
    from predictor.protocols import DEMO

    suite = [trivial, replace(trivial, name="flip_short", train_lengths=(1, 2), heldout_lengths=(3, 4))]
    result = run_suite(suite, [0, 1], ["alibi"], DEMO, tmp_path, {"steps": 30, "batch_size": 16},
                       eval_per_length=10, progress=False)
    paths = results.write(result, tmp_path, "rasp experiment test", 12.5)
    assert [p.name for p in paths[:3]] == ["results.json", "results.csv", "report.md"]
    for png in paths[3:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(paths[0].read_text())
    assert len(saved["runs"]) == 4 and saved["seconds"] == 12.5
    rows = paths[1].read_text().strip().splitlines()
    assert len(rows) == 1 + 2 * 8 + 2 * 4  # a row per run and length
    runs = [r for r in result["runs"] if r["task"] == "flip_short"]
    assert [b["lengths"] for b in runs[0]["bins"]] == [[3, 4]]  # the +10 bin, cut at the last length
    assert runs[0]["bins"][0]["em"] == pytest.approx((runs[0]["em_by_length"][3] + runs[0]["em_by_length"][4]) / 2)
    assert all(r["steps"] <= 30 and r["max_steps"] == 30 for r in result["runs"])
    assert result["agreement"]["judged"] + len(result["agreement"]["not_judged"]) == 2
    report = paths[2].read_text()
    assert "flip_short" in report and "rasp experiment test" in report and "demo" in report


def test_train_json_has_the_documented_keys(trivial, tmp_path):
    out = run_cli("train", trivial.program, "--vocab", "ab", "--train-lengths", "2-3", "--heldout-lengths", "4-5",
                  "--steps", "20", "--eval-examples", "10", "--json", "--runs", str(tmp_path), "--seed", "7")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("protocol", "em_by_length", "train_lengths", "heldout_lengths", "bins", "fitted", "steps", "seed",
                "predicted", "verdict", "stopped_by_time", "error_signature", "compiled_em_by_length"):
        assert key in result, key
    assert result["protocol"]["name"] == "cpu" and result["protocol"]["offsets"] is True
    assert result["pe"] == "learned" and result["offsets"] is True
    assert result["train_lengths"] == [2, 3] and result["heldout_lengths"] == [4, 5]
    assert set(result["em_by_length"]) == {"2", "3", "4", "5"}
    assert set(result["compiled_em_by_length"]) == {"2", "3", "4", "5"}
    assert all(v == 1.0 for v in result["compiled_em_by_length"].values())
    assert (result["steps"], result["seed"]) == (20, 7)
    assert isinstance(result["predicted"], bool) and result["predicted"] == (result["verdict"] == "yes")
    assert result["verdict"] in ("yes", "no", "unknown") and result["stopped_by_time"] is False


def test_library_errors_speak_of_values_and_the_command_line_names_its_flags():
    from grammar.errors import SettingError
    from predictor.train import refuse_if_too_large

    with pytest.raises(SettingError) as raised:
        refuse_if_too_large(transformer.ModelConfig(8, 8, 100_000), 4096)
    assert "lower the batch size or the lengths" in raised.value.message
    assert "--" not in raised.value.message
    assert "lower --batch-size or the lengths" in raised.value.naming({"batch_size": "--batch-size"}).message


def test_a_suite_file_with_an_unknown_framing_is_refused_by_name(tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text('[{"name": "t", "program": "reverse", "vocab": "ab", "framing": "sideways"}]')
    out = run_cli("experiment", str(suite))
    assert out.returncode == 2, out.stderr
    assert "unknown framing 'sideways' (use one of per-position, autoregressive, answer)" in out.stderr
    assert "Traceback" not in out.stderr


def test_evaluation_in_mixed_padded_batches_equals_each_example_alone():
    """`predictions` runs examples of many lengths together, sorted and padded to a few shapes;
    every example's predictions are those it gets run on its own, at every length."""
    from predictor.evaluate import predictions

    task = replace(find_task("copy_unique"), train_lengths=(1, 6), heldout_lengths=(7, 40))
    program = task.load()
    encoding = Encoding.for_task(task, program)
    config = transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, pe="learned", **TINY)
    net = transformer.build(config)
    rng = random.Random(5)
    examples = [e for n in rng.sample(range(1, 41), 12) for e in make_examples(task, program, n, 3, rng)]
    first = encoding.batch(examples[:1])
    params = net.init(jax.random.PRNGKey(2), first["ids"], first["lengths"])
    forward = jax.jit(lambda p, ids, lengths: net.apply(p, None, ids, lengths).argmax(-1))
    together = predictions(params, forward, encoding, examples, cells=40 * 96 * 96)
    for e, (p, y) in zip(examples, together):
        (alone_p, alone_y), = predictions(params, forward, encoding, [e])
        assert np.array_equal(p, alone_p) and np.array_equal(y, alone_y), len(e.input)
        assert len(y) == len(e.output) + 1  # every output token and the end


def test_gpt2_initialisation_is_huggingfaces_and_ties_the_output_layer():
    """Under Init.GPT2 (the paper protocol's) weights start N(0, 0.02), residual output
    projections N(0, 0.02 / sqrt(2 * layers)), and the logits are the final activations times
    the token embedding (no output layer of its own); weight decay leaves vectors alone."""
    from predictor.train import optimizer

    config = transformer.ModelConfig(40, 40, 64, layers=2, heads=2, d_model=64, init="gpt2", tied=True)
    net = transformer.build(config)
    ids, lengths = np.ones((2, 8), np.int32), np.full(2, 8, np.int32)
    params = net.init(jax.random.PRNGKey(0), ids, lengths)
    flat = {f"{module}/{name}": np.asarray(v) for module, group in params.items() for name, v in group.items()}
    assert not [k for k in flat if "unembed" in k]
    for name, value in flat.items():
        if value.ndim == 2 and name.endswith("_out/w"):
            assert abs(value.std() - 0.01) < 0.0015, name
        elif value.ndim == 2:
            assert abs(value.std() - 0.02) < 0.003, name
    untied = transformer.ModelConfig(40, 40, 64, layers=2, heads=2, d_model=64)
    assert not untied.tied and "init" not in untied.identity()  # haiku's: run folders named as before
    assert [k for k in transformer.build(untied).init(jax.random.PRNGKey(0), ids, lengths) if "unembed" in k]

    opt = optimizer(TrainConfig(weight_decay=0.5, learning_rate=0.1, warmup=0), matrices_only=True)
    zero = jax.tree_util.tree_map(np.zeros_like, params)
    updates, _ = opt.update(zero, opt.init(params), params)
    for module, group in updates.items():
        for name, u in group.items():
            moved = bool(np.any(np.asarray(u) != 0))
            assert moved == (np.asarray(params[module][name]).ndim >= 2 and np.any(params[module][name] != 0)), name


@pytest.mark.parametrize("init, where", [("haiku", "transformer/~attention/attn_0_q"), ("gpt2", "transformer/~linear/attn_0_q")])
def test_parameter_names_stay_those_each_initialisations_runs_were_saved_with(init, where):
    """Checkpoints restore by parameter name: runs with haiku's initialisation were saved before
    GPT-2's existed, with their layers named after the method that makes them."""
    config = transformer.ModelConfig(8, 8, 16, init=init)
    params = transformer.build(config).init(jax.random.PRNGKey(0), np.zeros((1, 8), np.int32), np.ones(1, np.int32))
    assert where in params and not any("~dense" in name for name in params)
    assert ("transformer/unembed" in params) == (init == "haiku")  # GPT-2's output layer is the embedding
