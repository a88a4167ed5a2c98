"""Sort with ties, the compile that tracr's tables make slow: our compile of the library's `sort`
(composite selector over paired keys) beside tracr's compile of its own `make_sort`, at each
size (max length x vocabulary), in one run; then our compile with verification, --repeats times
(the median compile and its verification's share: the issue's rule is that verifying costs no
more than compiling). tracr is run only up to --tracr-max-len (at 128 over 32 tokens it takes
minutes).

    python bench/bench_sort.py [--sizes 64x16,128x32] [--tracr-max-len 64] [--repeats 3] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys

from rich.console import Console
from rich.table import Table
from tracr.compiler import compiling, lib
from tracr.rasp import rasp as tracr_rasp

from compiler import compile_program
from rasp.language.program import load_program
from timing import parser, timed


def main() -> int:
    p = parser(__doc__, inputs=0)
    p.add_argument("--sizes", default="64x16,128x32")
    p.add_argument("--tracr-max-len", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    console = Console(stderr=True)
    program = load_program("sort")
    compile_program(program, list(range(4)), 4, verify=False)  # warm-up: imports, first JAX costs
    rows = []
    for size in args.sizes.split(","):
        n, v = (int(x) for x in size.split("x"))
        vocab = list(range(v))
        console.print(f"[dim]{n} x {v}: ours{', then tracr' if n <= args.tracr_max_len else ''}, then ours verified...[/dim]")
        ours, result = timed(lambda: compile_program(program, vocab, n, verify=False))
        theirs = None
        if n <= args.tracr_max_len:
            theirs, _ = timed(lambda: compiling.compile_rasp_to_model(
                lib.make_sort(tracr_rasp.tokens, tracr_rasp.tokens, max_seq_len=n, min_key=1),
                vocab=set(vocab), max_seq_len=n, compiler_bos="<bos>"))
        parameters = result.model.parameter_count()
        del result  # (each model of 128 x 32 holds 1.3 GB: one at a time)
        runs = []
        for _ in range(args.repeats):
            run = compile_program(program, vocab, n)
            runs.append((run.seconds, run.verification.seconds, run.verification.describe()))
            del run
        verify_s = statistics.median(verified for _, verified, _ in runs)
        verified_s = statistics.median(total for total, _, _ in runs)
        rows.append({"max_len": n, "vocab": v, "parameters": parameters, "ours_s": ours,
                     "tracr_s": theirs, "speedup": theirs / ours if theirs else None,
                     "ours_verified_s": verified_s, "verify_s": verify_s,
                     "verify_over_compile": verify_s / (verified_s - verify_s),
                     "verify_over_compile_each": [verified / (total - verified) for total, verified, _ in runs],
                     "verification": runs[0][2]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="compiling sort with ties (ours: library sort; tracr: make_sort)", title_justify="left")
    for col in ("max len", "vocab", "parameters", "ours (s)", "tracr (s)", "speedup", "ours + verify (s)",
                "of it verifying (s)", "verify / compile", "inputs checked"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["max_len"]), str(r["vocab"]), f"{r['parameters']:,}", f"{r['ours_s']:.2f}",
                      f"{r['tracr_s']:.1f}" if r["tracr_s"] is not None else "not run",
                      f"{r['speedup']:.0f}x" if r["speedup"] else "", f"{r['ours_verified_s']:.1f}",
                      f"{r['verify_s']:.1f}", f"{r['verify_over_compile']:.2f}",
                      r["verification"].split(" (")[0])
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
