"""Training throughput: tokens per second of a training step, and the fraction of this
machine's matrix-multiply peak (measured in the same run) that the step's FLOPs reach.
Also the whole loop (fresh labelled examples every step) on a real task, and what labelling
those examples costs next to a step: copy_unique at the paper protocol's train lengths (1-50,
150 tokens), a batch of 64 drawn and labelled by the reference labellers
(predictor/references.py) and by the interpreter, against one step of a 2-layer, width-64,
1-head model on a batch of that size.

    python bench/bench_training.py [--steps 50] [--json]

FLOPs per step are XLA's own count for the compiled step (`cost_analysis`); the peak is the
best rate of a large float32 matmul on the same devices.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import replace
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.table import Table

from predictor import transformer
from predictor.data import Encoding, padded
from predictor.tasks import Example, Task, find_task, make_examples
from predictor.train import TrainConfig, make_step, optimizer, train, training_batch
from rasp.language.program import Program
from timing import best_of, parser

SHAPES = [  # (name, layers, d_model, heads, batch, sequence length)
    ("default (2 x 64)", 2, 64, 4, 64, 32),
    ("wider (4 x 256)", 4, 256, 8, 64, 64),
]


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of an n x n float32 matmul, best of several."""
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    mm(a, a).block_until_ready()
    seconds, _ = best_of(repeats, lambda: mm(a, a).block_until_ready())
    return 2 * n**3 / seconds


def step_throughput(layers: int, d: int, heads: int, batch: int, t: int, steps: int) -> dict:
    config = transformer.ModelConfig(32, 32, t, layers=layers, d_model=d, heads=heads)
    net = transformer.build(config)
    opt = optimizer(TrainConfig())
    rng = np.random.default_rng(0)
    data = {"ids": rng.integers(1, 32, (batch, t)).astype(np.int32),
            "labels": rng.integers(1, 32, (batch, t)).astype(np.int32),
            "mask": np.ones((batch, t), np.float32), "lengths": np.full(batch, t, np.int32),
            "offsets": np.zeros(batch, np.int32)}
    params = net.init(jax.random.PRNGKey(0), data["ids"], data["lengths"])
    state = {"params": params, "opt_state": opt.init(params)}
    step = make_step(net, opt)
    cost = step.lower(state, data).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", 0.0))
    state, loss, _ = step(state, data)
    loss.block_until_ready()

    def run():
        nonlocal state
        for _ in range(steps):
            state, loss, _ = step(state, data)
        loss.block_until_ready()

    seconds, _ = best_of(3, run)
    per_step = seconds / steps
    return {"parameters": transformer.parameter_count(params), "tokens_per_second": batch * t / per_step,
            "step_ms": per_step * 1e3, "flops_per_step": flops, "flops_per_second": flops / per_step}


def whole_loop(steps: int) -> dict:
    """`train` on the copy task (lengths 1-10): data generation included."""
    task = replace(find_task("copy_unique"), train_lengths=(1, 10), heldout_lengths=(11, 20))
    program = task.load()
    train(task, program, config=TrainConfig(steps=5), progress=False)  # compile once
    start = time.perf_counter()
    result = train(task, program, config=TrainConfig(steps=steps), progress=False)
    seconds = time.perf_counter() - start
    tokens = steps * 64 * 2 * (sum(task.train_lengths) / 2 + 1)  # prompt and answer, mean length
    return {"tokens_per_second": tokens / seconds, "step_ms": seconds / steps * 1e3,
            "final_loss": result.losses[-1]}


def paper_copy_task() -> Task:
    """copy_unique at the paper protocol's lengths: train 1-50, held out to 150, 150 tokens."""
    return replace(find_task("copy_unique"), vocab=tuple(str(i) for i in range(150)),
                   train_lengths=(1, 50), heldout_lengths=(51, 150))


def interpreted_examples(task: Task, program: Program, seed: int, step: int, count: int) -> list[Example]:
    """`predictor.train.training_examples` (the same sizes and inputs) with every label from the
    interpreter."""
    rng = random.Random(seed * 1_000_003 + step)
    low, high = task.train_lengths
    sizes = sorted(rng.randint(low, high) for _ in range(count))
    examples = []
    for size in sorted(set(sizes)):
        examples += make_examples(task, program, size, sizes.count(size), rng, fast=False)
    return examples


def ms_per_batch(make: Callable[[int], Any], batches: int) -> float:
    """Mean milliseconds of make(step) over steps 1..batches (after one call to warm up)."""
    make(0)
    start = time.perf_counter()
    for k in range(1, batches + 1):
        make(k)
    return (time.perf_counter() - start) / batches * 1e3


def data_versus_step(steps: int, batch: int = 64) -> dict:
    """One step's whole data path (draw, label, arrays, offsets), labels by the references or by
    the interpreter, against one training step."""
    task = paper_copy_task()
    program = task.load()
    encoding = Encoding.for_task(task, program)
    config = TrainConfig(batch_size=batch, offsets=True)
    fast = ms_per_batch(lambda k: training_batch(task, program, encoding, config, k), max(steps, 10))
    slow = ms_per_batch(lambda k: encoding.batch(interpreted_examples(task, program, 0, k, batch)),
                        max(steps // 5, 5))
    t = padded(2 * task.train_lengths[1] + 3)  # <bos> x <sep> y <eos> at the longest train length
    step = step_throughput(2, 64, 1, batch, t, steps)["step_ms"]
    return {"task": task.name, "train_lengths": list(task.train_lengths), "vocab": len(task.vocab),
            "batch": batch, "sequence": t, "references_ms": fast, "interpreter_ms": slow, "step_ms": step,
            "references_over_step": fast / step, "interpreter_over_step": slow / step}


def main() -> int:
    p = parser(__doc__, inputs=0)
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args()
    console = Console(stderr=True)
    devices = jax.devices()
    console.print(f"devices: {len(devices)} x {devices[0].device_kind}")
    peak = matmul_peak()
    rows = []
    for name, layers, d, heads, batch, t in SHAPES:
        r = step_throughput(layers, d, heads, batch, t, args.steps)
        rows.append({"model": name, "batch": batch, "length": t, **r, "peak_flops_per_second": peak,
                     "fraction_of_peak": r["flops_per_second"] / peak})
    loop = whole_loop(args.steps * 2)
    data = data_versus_step(args.steps)
    if args.json:
        print(json.dumps({"steps": rows, "whole_loop_copy_unique": loop, "data_versus_step": data}, indent=1))
        return 0
    table = Table("model", "params", "batch x length", "ms/step", "tokens/s", "GFLOP/s", "of matmul peak",
                  title=f"training step (matmul peak measured now: {peak / 1e9:.1f} GFLOP/s)")
    for r in rows:
        table.add_row(r["model"], f"{r['parameters']:,}", f"{r['batch']} x {r['length']}", f"{r['step_ms']:.1f}",
                      f"{r['tokens_per_second']:,.0f}", f"{r['flops_per_second'] / 1e9:.1f}",
                      f"{r['fraction_of_peak']:.1%}")
    out = Console(width=max(Console().width, 110))
    out.print(table)
    out.print(f"whole loop on copy_unique (fresh labelled examples every step): {loop['step_ms']:.1f} ms/step, "
              f"{loop['tokens_per_second']:,.0f} tokens/s")
    (low, high), n = data["train_lengths"], data["batch"]
    costs = Table("per batch", "ms", "of a step", title=f"copy_unique, lengths {low}-{high}, {data['vocab']} tokens, "
                  f"batch {n}: data against a step (2 x 64, 1 head, sequence {data['sequence']})")
    costs.add_row("data path, reference labels", f"{data['references_ms']:.2f}", f"{data['references_over_step']:.1%}")
    costs.add_row("data path, interpreter labels", f"{data['interpreter_ms']:.1f}", f"{data['interpreter_over_step']:.1%}")
    costs.add_row("training step", f"{data['step_ms']:.2f}", "100%")
    out.print(costs)
    out.print(f"data / step: {data['references_over_step']:.3f} with the references, "
              f"{data['interpreter_over_step']:.3f} with the interpreter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
