"""Verification beside the compile, for every library program that compiles at a small size:
the median of three compiles (after a warm-up compile of another program), the time the
check took inside each (`verification.seconds`), their ratio, and what was checked; beside them,
the model's own pass over the same inputs (the runner alone, best of three: no interpreter, no
comparison), the least a check of those inputs can cost with this runner.

    python bench/verify_share.py [--repeats 3] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys

from rich.console import Console
from rich.table import Table

from compiler import compile_program
from compiler.runner import Runner
from compiler.verify import verification_inputs
from rasp.language.program import load_program
from timing import best_of, parser

# library program -> (vocabulary, maximum length): small enough to check every input of most
SIZES = {
    "length": (list("ab"), 6), "reverse": (list("abc"), 6), "hist": (list("abc"), 6), "sort": (list("abc"), 6),
    "sort_unique": ([1, 2, 3, 4, 5], 5), "sort_by_frequency": (list("ab"), 5), "most_frequent": (list("ab"), 5),
    "dyck1": (list("()"), 6), "dyck2": (list("(){}"), 4), "frac_prevs": (list("xa"), 6),
    "shift_by": (list("abc"), 6), "count": ([0, 1, 2, 3], 6), "copy": (list("abcd|"), 5),
    "copy_repeated": (list("ab|"), 5), "majority": (list("01"), 6), "parity": (list("01"), 6),
    "parity_scratchpad": (list("01=."), 6), "addition_hints": (list("01a+=."), 6), "mode": (list("abc"), 6),
    "sort_ar": ([0, 1, 2, 3, 4, 5], 6)}


def main() -> int:
    p = parser(__doc__, inputs=0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    compile_program(load_program("reverse"), list("ab"), 4)  # warm-up: imports
    rows = []
    for name, (vocab, max_len) in SIZES.items():
        program, runs = load_program(name), []
        for _ in range(args.repeats):
            result = compile_program(program, vocab, max_len)
            runs.append((result.seconds - result.verification.seconds, result.verification.seconds))
        compile_s, verify_s = (statistics.median(run[i] for run in runs) for i in (0, 1))
        inputs = verification_inputs(vocab, max_len, 256, program.tree.distinct, 0).inputs
        model_s = best_of(3, lambda: Runner(result.model).run(inputs))[0]
        rows.append({"program": name, "vocab": len(vocab), "max_len": max_len, "compile_s": compile_s,
                     "verify_s": verify_s, "ratio": verify_s / compile_s, "model_s": model_s,
                     "inputs": result.verification.inputs, "exhaustive": result.verification.exhaustive})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="verification beside the compile (medians)", title_justify="left")
    for column in ("program", "vocab", "max len", "compile (ms)", "verification (ms)", "ratio", "model alone (ms)",
                   "inputs"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r["program"], str(r["vocab"]), str(r["max_len"]), f"{r['compile_s'] * 1000:.1f}",
                      f"{r['verify_s'] * 1000:.1f}", f"{r['ratio']:.2f}", f"{r['model_s'] * 1000:.1f}",
                      f"{r['inputs']:,}" + (" (every input)" if r["exhaustive"] else ""))
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
