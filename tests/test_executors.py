"""`rasp experiment --executor ray`: the same records as the local executor, a killed worker's run
retried from its checkpoint, failed runs reported, and bad settings refused before any run."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from predictor.executors import RayExecutor, RaySettings
from predictor.experiment import run_suite
from predictor.protocols import DEMO
from predictor.tasks import Task

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")

TRIVIAL = "# rasp: causal\nflip = \"b\" if tokens == \"a\" else \"a\";\n"
TINY = {"steps": 30, "batch_size": 16}
VOLATILE = {"train_seconds", "run_dir", "resumed_from"}  # when and where, not what was learned
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trivial(tmp_path_factory) -> Task:
    path = tmp_path_factory.mktemp("programs") / "flip.rasp"
    path.write_text(TRIVIAL)
    return Task("flip", str(path), ("a", "b"), train_lengths=(1, 4), heldout_lengths=(5, 6))


@pytest.fixture(scope="module")
def cluster():
    """A Ray instance of 2 CPUs on the loopback interface, for this module's tests."""
    executor = RayExecutor(RaySettings(local_cpus=2, retries=2), progress=False)  # imports ray
    global ray
    import ray
    yield executor
    executor.close()


def rows(result) -> list[dict]:
    """The records without their timing and paths (the compiled model's compile time included):
    everything learned and measured is compared bit for bit."""
    out = []
    for run in result["runs"]:
        row = {k: v for k, v in run.items() if k not in VOLATILE}
        row["compiled"] = {k: v for k, v in (row["compiled"] or {}).items() if k != "seconds"}
        out.append(row)
    return out


def suite(trivial: Task, out: Path, execute=None, seeds=(0, 1), **overrides):
    return run_suite([trivial], list(seeds), ["alibi"], DEMO, out, {**TINY, **overrides}, eval_per_length=8,
                     progress=False, execute=execute)


@pytest.fixture(scope="module")
def local_result(trivial, tmp_path_factory):
    return suite(trivial, tmp_path_factory.mktemp("local"))


def test_ray_runs_give_the_local_executors_records(cluster, trivial, local_result, tmp_path):
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
    assert ray.cluster_resources()["CPU"] == 2
    result = suite(trivial, tmp_path, cluster)
    assert [(r["seed"], r["steps"]) for r in result["runs"]] == [(0, 30), (1, 30)]
    assert rows(result) == rows(local_result)
    assert result["summary"] == local_result["summary"] and result["failed"] == []
    for run in result["runs"]:  # each run's log is kept in its folder, written by a worker process
        log = (Path(run["run_dir"]) / "log.txt").read_text()
        assert "start on" in log and f"process {os.getpid()}" not in log and "done: 30 steps" in log

    # A rerun skips the finished runs' training; a run that cannot run is reported, the rest completes.
    damaged = Path(result["runs"][1]["run_dir"]) / "run.json"
    damaged.write_text("{not json")
    again = suite(trivial, tmp_path, cluster)
    assert [r["seed"] for r in again["runs"]] == [0] and again["runs"][0]["resumed_from"] == 30
    assert rows(again) == rows(local_result)[:1]
    assert [(f["seed"], f["pe"]) for f in again["failed"]] == [(1, "alibi")]
    assert "run.json is damaged" in again["failed"][0]["error"]
    from predictor.results import markdown

    assert "## Failed runs" in markdown(again) and "run.json is damaged" in markdown(again)


def test_a_killed_worker_is_retried_and_resumes_from_its_checkpoint(cluster, trivial, tmp_path):
    long = {"steps": 200, "fit_em": 2.0}  # never fits: all 200 steps, checkpoints every 50
    baseline = suite(trivial, tmp_path / "local", seeds=(3,), **long)
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=suite(trivial, tmp_path / "ray", cluster,
                                                                         seeds=(3,), **long)))
    worker.start()
    killed, deadline = None, time.monotonic() + 240
    while killed is None and worker.is_alive() and time.monotonic() < deadline:
        for lock in (tmp_path / "ray" / "runs").glob("*/.lock"):
            steps = [p for p in (lock.parent / "checkpoints").glob("*") if p.name.isdigit()]
            holder = lock.read_text().split()
            if steps and len(holder) == 2 and holder[1].isdigit():
                killed = int(holder[1])
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    worker.join(timeout=300)
    assert killed is not None and killed != os.getpid()
    result = outcome["result"]
    assert result["failed"] == []
    assert result["runs"][0]["resumed_from"] in (50, 100, 150)  # the second try began at a checkpoint
    assert rows(result) == rows(baseline)
    log = (Path(result["runs"][0]["run_dir"]) / "log.txt").read_text()
    assert log.count("start on") == 2 and f"process {killed}" in log


def rasp(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp.faces.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("request_", [["--cpus-per-run", "64"], ["--gpus-per-run", "1"]])
def test_requests_no_node_can_take_are_refused_before_any_run(cluster, tmp_path, request_):
    from rasp.faces.cli import main

    out = tmp_path / "out"
    assert main(["experiment", "demo", "--tasks", "parity", "--executor", "ray", "--out", str(out), *request_]) == 2
    assert not out.exists()
    assert ray.is_initialized()  # the cluster it found is left running


def test_an_unreachable_address_is_refused_at_once(tmp_path):
    start = time.monotonic()
    out = rasp("experiment", "demo", "--executor", "ray", "--address", "127.0.0.1:1", "--out", str(tmp_path / "o"))
    assert out.returncode == 2 and time.monotonic() - start < 60
    assert "cannot reach a Ray cluster at 127.0.0.1:1" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists()


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['ray'] = None\n")  # import ray then raises ImportError
    path = os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])
    out = rasp("experiment", "demo", "--executor", "ray", "--out", str(tmp_path / "o"), env={"PYTHONPATH": path})
    assert out.returncode == 2, out.stderr
    assert "Ray is not installed: pip install 'lengthwise[ray]'" in out.stderr
    assert not (tmp_path / "o").exists()
