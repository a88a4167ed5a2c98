"""A run's folder under damage: a second process is refused, a damaged run.json is named, a
damaged latest checkpoint falls back to the intact one before it (the run still ends as an
uninterrupted one would), and a damaged history is reported, not silently dropped."""

from __future__ import annotations

import subprocess
import sys

import jax
import numpy as np
import pytest

from grammar.errors import RaspError, SettingError
from predictor import transformer
from predictor.checkpoints import Checkpoints
from predictor.data import Encoding
from predictor.tasks import Task
from predictor.train import TrainConfig, train

TRIVIAL = "# rasp: causal\nflip = \"b\" if tokens == \"a\" else \"a\";\n"


@pytest.fixture(scope="module")
def flip(tmp_path_factory):
    path = tmp_path_factory.mktemp("programs") / "flip.rasp"
    path.write_text(TRIVIAL)
    task = Task("flip", str(path), ("a", "b"), train_lengths=(1, 4), heldout_lengths=(5, 6))
    program = task.load()
    encoding = Encoding.for_task(task, program)
    model = transformer.ModelConfig(len(encoding.inputs), len(encoding.classes), encoding.max_len, causal=True,
                                    layers=1, heads=1, d_model=16)
    return task, program, encoding, model


RUN = TrainConfig(steps=30, batch_size=8, warmup=5, checkpoint_every=10)


def run(flip, folder, **kw):
    task, program, encoding, model = flip
    return train(task, program, model, RUN, folder, progress=False, encoding=encoding, **kw)


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_a_second_process_on_the_same_folder_is_refused(tmp_path):
    holder = Checkpoints(tmp_path, {"run": 1})
    script = ("import sys; from pathlib import Path; from predictor.checkpoints import Checkpoints\n"
              "from grammar.errors import SettingError\n"
              "try:\n    Checkpoints(Path(sys.argv[1]), {'run': 1})\nexcept SettingError as e:\n"
              "    print(e.message); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 3 and "is in use" in out.stdout, out.stdout + out.stderr
    holder.close()
    again = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_damaged_run_json_is_named(tmp_path):
    Checkpoints(tmp_path, {"run": 1}).close()
    (tmp_path / "run.json").write_text('{"run": ')
    with pytest.raises(SettingError, match="run.json is damaged"):
        Checkpoints(tmp_path, {"run": 1})


def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(flip, tmp_path, capfd):
    whole = run(flip, tmp_path / "whole")
    run(flip, tmp_path / "cut", stop_after=20)  # checkpoints at 10 and 20
    damaged = [p for p in (tmp_path / "cut" / "checkpoints" / "20").rglob("*") if p.is_file() and p.stat().st_size]
    assert damaged
    for p in damaged:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    resumed = run(flip, tmp_path / "cut")
    assert resumed.resumed_from == 10
    err = capfd.readouterr().err
    assert "checkpoint of step 20" in err and "ERROR" not in err and "Traceback" not in err, err
    assert resumed.losses == whole.losses and same(resumed.params, whole.params)


def test_a_damaged_history_is_reported(flip, tmp_path, capfd):
    run(flip, tmp_path / "cut", stop_after=20)
    (tmp_path / "cut" / "history.json").write_text('{"losses": [0.5, ')
    resumed = run(flip, tmp_path / "cut")
    assert resumed.resumed_from == 20 and resumed.steps == 30
    assert "history.json is damaged" in capfd.readouterr().err


def test_every_checkpoint_damaged_is_one_clean_error(flip, tmp_path):
    run(flip, tmp_path / "cut", stop_after=20)
    for p in (tmp_path / "cut" / "checkpoints").rglob("*"):
        if p.is_file() and p.stat().st_size:
            p.write_bytes(b"\0" * 7)
    with pytest.raises(SettingError, match="every checkpoint in .* is damaged"):
        run(flip, tmp_path / "cut")


def test_a_checkpoint_that_cannot_be_written_is_one_clean_error(flip, tmp_path, monkeypatch):
    from orbax.checkpoint import CheckpointManager

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CheckpointManager, "save", full)
    with pytest.raises(RaspError, match="cannot write the checkpoint of step 10 .* No space left"):
        run(flip, tmp_path / "full")

