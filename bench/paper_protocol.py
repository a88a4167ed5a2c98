"""The `paper` protocol (Huang et al., ICLR 2025) on a machine with an accelerator: many runs at
once, in a fixed time, then the same report as `rasp experiment`.

    python bench/paper_protocol.py run --out DIR --minutes M [--jobs J] TASK:SEEDS ...
    python bench/paper_protocol.py report DIR

`run` starts one process per (task, seed), at most J at a time, in the order given (SEEDS is a
seed or a range: copy_unique:0-4). Each trains with `predictor.experiment.train_and_evaluate`
(checkpoints in DIR/runs, so a rerun resumes) and writes DIR/TASK-sSEED.json, its log beside it.
--minutes bounds the whole command. A run still training when its time is up (all but
--scoring-seconds of what is left) stops there, is scored as it stands and says
`stopped_by_time`: it did not fit, so the report never judges it; a rerun resumes it. Runs share
the accelerator; no compiled model is built.

`report` reads those files and writes DIR/report.md, results.json, results.csv and the plots,
as `rasp experiment` does (the compiled column says it was not built).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCORING_SECONDS = 90  # kept back from each run's time to score it (--scoring-seconds)


def parse_jobs(specs: list[str]) -> list[tuple[str, int]]:
    jobs = []
    for spec in specs:
        task, _, seeds = spec.partition(":")
        first, _, last = (seeds or "0").partition("-")
        jobs += [(task, s) for s in range(int(first), int(last or first) + 1)]
    return jobs


def worker(task_name: str, seed: int, out: Path, seconds: float, scoring: float) -> None:
    from predictor.data import Encoding
    from predictor.evaluate import evaluation_sets
    from predictor.experiment import prediction, train_and_evaluate, train_config
    from predictor.protocols import apply, protocol
    from predictor.tasks import find_task

    stop_by = time.monotonic() + seconds - scoring
    paper = protocol("paper")
    task = apply(paper, find_task(task_name))
    program = task.load()
    record = train_and_evaluate(task, program, paper, "learned", train_config(paper, task_name, seed), out / "runs",
                                paper.eval_per_length, sets=evaluation_sets(task, program, paper.eval_per_length),
                                compiled=False, encoding=Encoding.for_task(task, program),
                                predicted=prediction(program, task, paper, "learned"), stop_by=stop_by)
    path = out / f"{task_name}-s{seed}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record, default=str))
    partial.replace(path)


def line(record: dict) -> str:
    bins = "  ".join(f"{b['lengths'][0]}-{b['lengths'][1]} EM {b['em']:.3f}" for b in record["bins"])
    how = "fitted" if record["fitted"] else ("stopped by time" if record.get("stopped_by_time") else "did not fit")
    return f"{how} at step {record['steps']}, train EM {record['train_em']:.3f}; {bins} ({record['train_seconds']:.0f} s)"


def finished(path: Path) -> bool:
    """A run's results are written and it did not stop for lack of time (such a run resumes)."""
    return path.exists() and not json.loads(path.read_text()).get("stopped_by_time")


def run(out: Path, minutes: float, jobs_at_once: int, jobs: list[tuple[str, int]], scoring: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    end = time.time() + 60 * minutes
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "PYTHONUNBUFFERED": "1"}
    waiting = [j for j in jobs if not finished(out / f"{j[0]}-s{j[1]}.json")]
    running: dict[tuple[str, int], subprocess.Popen] = {}
    print(f"{len(jobs)} runs ({len(jobs) - len(waiting)} done before), {jobs_at_once} at a time, "
          f"{minutes:g} minutes", flush=True)
    while waiting or running:
        while waiting and len(running) < jobs_at_once and end - time.time() > 2 * scoring:
            task, seed = waiting.pop(0)
            log = open(out / f"{task}-s{seed}.log", "a")
            running[(task, seed)] = subprocess.Popen(
                [sys.executable, __file__, "worker", task, str(seed), str(out), str(end - time.time()), str(scoring)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
            print(f"{time.strftime('%H:%M:%S')} start {task} seed {seed}", flush=True)
        if waiting and not running:
            break
        time.sleep(2)
        for (task, seed), process in list(running.items()):
            if process.poll() is None:
                continue
            del running[(task, seed)]
            path = out / f"{task}-s{seed}.json"
            said = line(json.loads(path.read_text())) if path.exists() else f"failed (exit {process.returncode}; see its log)"
            print(f"{time.strftime('%H:%M:%S')} {task} seed {seed}: {said}", flush=True)
        if time.time() > end:  # --minutes bounds the whole command: a run still scoring is cut
            for (task, seed), process in running.items():
                process.kill()
                print(f"{time.strftime('%H:%M:%S')} {task} seed {seed}: cut at the end of the time "
                      "(rerun to resume and score it)", flush=True)
            break
    for task, seed in waiting:
        print(f"not started: {task} seed {seed} (a run starts only while more than twice --scoring-seconds, "
              f"{2 * scoring:.0f} s, is left)", flush=True)


def report(out: Path) -> None:
    from predictor import results
    from predictor.experiment import in_conjecture, prediction, suite_result
    from predictor.protocols import apply, protocol
    from predictor.records import TaskRecord
    from predictor.stats import int_keys
    from predictor.tasks import find_task

    paper = protocol("paper")
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*-s*.json"))]
    for r in runs:  # JSON made the lengths strings
        for field in ("em_by_length", "token_accuracy_by_length", "error_signature"):
            r[field] = int_keys(r[field])
    names = list(dict.fromkeys(r["task"] for r in runs))
    tasks = []
    for name in names:
        task = apply(paper, find_task(name))
        program = task.load()
        predicted = prediction(program, task, paper, "learned")
        tasks.append(TaskRecord(task=task.as_dict(), in_conjecture=in_conjecture(task, program),
                                score=predicted.probability, predicted=predicted.generalizes,
                                verdict=predicted.verdict, findings=predicted.findings,
                                compiled={"error": "not built in this run (bench/paper_protocol.py)"}))
    result = suite_result(tasks, runs, sorted({r["seed"] for r in runs}), ["learned"], paper, paper.eval_per_length)
    paths = results.write(result, out, "python bench/paper_protocol.py report " + str(out))
    print(paths[2].read_text())


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        task, seed, out, seconds, scoring = sys.argv[2:7]
        return worker(task, int(seed), Path(out), float(seconds), float(scoring))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--minutes", type=float, required=True)
    r.add_argument("--jobs", type=int, default=8)
    r.add_argument("--scoring-seconds", type=float, default=SCORING_SECONDS)
    r.add_argument("runs", nargs="+", metavar="TASK:SEEDS")
    p = sub.add_parser("report")
    p.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "run" and args.jobs > (os.cpu_count() or 1):
        # 25 runs at once on 16 cores: every step about 6x slower than 10 at once, and no
        # run of 4 layers reached its first fit check in 7 minutes (docs/experiments.md)
        parser.error(f"--jobs {args.jobs} is more than this machine's {os.cpu_count()} CPU cores; each run "
                     f"needs a core of its own to keep the accelerator busy: use --jobs {os.cpu_count()} or fewer")
    if args.command == "run":
        run(args.out, args.minutes, args.jobs, parse_jobs(args.runs), args.scoring_seconds)
    else:
        report(args.out)


if __name__ == "__main__":
    main()
