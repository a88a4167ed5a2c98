"""Programs whose sub-expressions are shared: `x = x and x` repeated d times has 2^d paths
through d + 2 nodes. Our compile (no verification) beside tracr's compile of the identical tracr
expression our lowering produces, for each depth; tracr is run only up to --tracr-max-depth
(its graph walks follow every path).

    python bench/bench_shared.py [--depths 8,12,14,16,20,40] [--tracr-max-depth 16] [--json]
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table
from tracr.compiler import compiling

from compiler import compile_program, lower
from rasp.language.program import from_text
from timing import parser, timed

VOCAB, MAX_LEN = list("ab"), 5


def chain(depth: int):
    return from_text("\n".join(['x = tokens == "a";'] + ["x = x and x;"] * depth + ["out = x;"]), path="chain.rasp")


def main() -> int:
    p = parser(__doc__, inputs=0)
    p.add_argument("--depths", default="8,12,14,16,20,40")
    p.add_argument("--tracr-max-depth", type=int, default=16)
    args = p.parse_args()
    console = Console(stderr=True)
    compile_program(chain(2), VOCAB, MAX_LEN, verify=False)  # warm-up: imports, first JAX costs
    rows = []
    for depth in (int(d) for d in args.depths.split(",")):
        console.print(f"[dim]depth {depth}: ours{', then tracr' if depth <= args.tracr_max_depth else ''}...[/dim]")
        program = chain(depth)
        ours, result = timed(lambda: compile_program(program, VOCAB, MAX_LEN, verify=False))
        theirs = None
        if depth <= args.tracr_max_depth:
            sink = lower.lower(program.output, VOCAB, MAX_LEN).sink
            theirs, _ = timed(lambda: compiling.compile_rasp_to_model(sink, vocab=set(VOCAB), max_seq_len=MAX_LEN,
                                                                      compiler_bos="<bos>"))
        rows.append({"depth": depth, "paths": 2 ** depth, "layers": result.model.num_layers, "ours_s": ours,
                     "tracr_s": theirs, "speedup": theirs / ours if theirs else None})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"compiling `x = x and x` d times (vocabulary ab, max length {MAX_LEN})", title_justify="left")
    for col in ("depth", "paths", "layers", "ours (s)", "tracr (s)", "speedup"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["depth"]), f"{r['paths']:,}", str(r["layers"]), f"{r['ours_s']:.2f}",
                      f"{r['tracr_s']:.2f}" if r["tracr_s"] is not None else "not run",
                      f"{r['speedup']:.0f}x" if r["speedup"] else "")
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
