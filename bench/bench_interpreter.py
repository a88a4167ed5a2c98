"""Our batched interpreter against tracr's own evaluator (`rasp.evaluate`, one input at a
time) on the same programs and the same inputs, side by side in one run.

    python bench/bench_interpreter.py [--inputs 4096] [--length 64] [--json]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tracr.compiler import lib
from tracr.rasp import rasp as tracr_rasp

from rasp.language.program import load_program
from timing import best_of, parser, timed

HERE = Path(__file__).parent


def cases(length: int):
    """(name, our program, tracr program, token alphabet)."""
    return [
        ("sort", load_program("sort"),
         lib.make_sort(tracr_rasp.tokens, tracr_rasp.tokens, max_seq_len=length, min_key=1), list(range(10))),
        ("hist", load_program("hist"), lib.make_hist(), list("abcdefgh")),
        ("reverse", load_program("reverse"), lib.make_reverse(tracr_rasp.tokens), list("abcdefgh")),
        ("shuffle_dyck2", load_program(str(HERE / "programs" / "shuffle_dyck2.rasp")),
         lib.make_shuffle_dyck2(), list("(){}")),
    ]


def main() -> int:
    p = parser(__doc__, inputs=4096)
    p.add_argument("--length", type=int, default=64)
    args = p.parse_args()
    rng = random.Random(0)
    console = Console(stderr=True)
    rows = []
    for name, ours, theirs, alphabet in cases(args.length):
        inputs = [[rng.choice(alphabet) for _ in range(args.length)] for _ in range(args.inputs)]
        ours.run(inputs[:8])  # warm-up: imports and first-call costs are not measured
        console.print(f"[dim]{name}: ours on {args.inputs} inputs...[/dim]")
        our_time, our_out = best_of(3, lambda: ours.run(inputs))
        console.print(f"[dim]{name}: tracr's evaluator on {args.inputs} inputs...[/dim]")
        their_time, their_out = timed(lambda: [tracr_rasp.evaluate(theirs, x) for x in inputs])
        agree = all(list(a) == [int(v) if isinstance(v, bool) else v for v in b]
                    for a, b in zip(our_out, their_out))
        rows.append({"program": name, "inputs": args.inputs, "length": args.length,
                     "ours_s": our_time, "tracr_s": their_time, "speedup": their_time / our_time,
                     "outputs_agree": agree})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        table = Table(title=f"interpreter: {args.inputs} inputs of length {args.length}", title_justify="left")
        for col in ("program", "ours (s)", "tracr rasp.evaluate (s)", "speedup", "outputs agree"):
            table.add_column(col, justify="right" if col != "program" else "left")
        for r in rows:
            table.add_row(r["program"], f"{r['ours_s']:.3f}", f"{r['tracr_s']:.2f}",
                          f"{r['speedup']:.0f}x", "yes" if r["outputs_agree"] else "NO")
        Console(width=140).print(table)
    return 0 if all(r["outputs_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
