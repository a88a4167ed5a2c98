"""The demo suite's wall time run one run after another (`--executor local`) and as Ray tasks on
a local Ray instance of this machine's cores (`--executor ray`, one core per run), in one run of
this script, and their ratio. Each executor gets a fresh output folder, so neither resumes.

    python bench/bench_ray.py [--seeds 2] [--steps 200] [--eval-examples 8] [--json]

Skipped, with a line saying so, when Ray is not installed (pip install 'lengthwise[ray]').
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(executor: str, out: Path, args: argparse.Namespace) -> float:
    command = [sys.executable, "-m", "rasp.faces.cli", "experiment", "demo", "--seeds", str(args.seeds),
               "--steps", str(args.steps), "--eval-examples", str(args.eval_examples), "--out", str(out),
               "--executor", executor, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{executor}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--eval-examples", type=int, default=8)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if importlib.util.find_spec("ray") is None:
        print("bench_ray: skipped, Ray is not installed (pip install 'lengthwise[ray]')")
        return
    with tempfile.TemporaryDirectory() as tmp:
        local = wall("local", Path(tmp) / "local", args)
        ray = wall("ray", Path(tmp) / "ray", args)
        same = (json.loads((Path(tmp) / "local" / "results.json").read_text())["summary"]
                == json.loads((Path(tmp) / "ray" / "results.json").read_text())["summary"])
    row = {"suite": "demo", "seeds": args.seeds, "steps": args.steps, "cores": os.cpu_count(),
           "local_s": round(local, 1), "ray_s": round(ray, 1), "speedup": round(local / ray, 2),
           "same_summary": same}
    if args.json:
        print(json.dumps(row))
    else:
        print(f"demo suite, {args.seeds} seeds, {args.steps} steps, {os.cpu_count()} cores: local {local:.1f} s, "
              f"ray {ray:.1f} s, speed-up {local / ray:.2f}x; same summary: {same}")


if __name__ == "__main__":
    main()
