"""The compiled model's batched runner against tracr's own `model.apply` (one input at a time),
on the same compiled weights and the same inputs; and our compile time beside tracr's direct
compile of its equivalent library program.

    python bench/bench_compiler.py [--inputs 1000] [--max-len 32] [--json]
"""

from __future__ import annotations

import json
import random
import sys

from rich.console import Console
from rich.table import Table
from tracr.compiler import compiling, lib
from tracr.rasp import rasp as tracr_rasp

from compiler import compile_program
from compiler.runner import Runner
from rasp.language.program import load_program
from timing import best_of, parser, timed


def main() -> int:
    p = parser(__doc__, inputs=1000)
    p.add_argument("--max-len", type=int, default=32)
    args = p.parse_args()
    console = Console(stderr=True)
    n = args.max_len
    cases = [
        ("sort", list(range(8)), lambda: lib.make_sort(tracr_rasp.tokens, tracr_rasp.tokens, max_seq_len=n, min_key=1)),
        ("hist", list("abcdefgh"), lib.make_hist),
        ("reverse", list("abcdefgh"), lambda: lib.make_reverse(tracr_rasp.tokens)),
    ]
    rows = []
    # warm-up: imports and first-time JAX/haiku costs are paid here, by both compilers
    compile_program(load_program("hist"), list("ab"), 4)
    compiling.compile_rasp_to_model(lib.make_hist(), vocab={"a", "b"}, max_seq_len=4, compiler_bos="<bos>")
    for name, vocab, make in cases:
        console.print(f"[dim]{name}: compiling (ours, then tracr's)...[/dim]")
        program = load_program(name)
        verify_time, verified = timed(lambda: compile_program(program, vocab, n, verify=True))
        our_compile, result = timed(lambda: compile_program(program, vocab, n, verify=False))
        their_compile, _ = timed(lambda: compiling.compile_rasp_to_model(make(), vocab=set(vocab), max_seq_len=n,
                                                                          compiler_bos=result.model.meta.bos))
        model, tracr_model = result.model, result.model.tracr()
        rng = random.Random(0)
        inputs = [[rng.choice(vocab) for _ in range(rng.randint(1, n))] for _ in range(args.inputs)]
        runner = Runner(model)
        bos = model.meta.bos
        runner.run(inputs)  # warm-up, for both sides
        for length in range(1, n + 1):
            tracr_model.apply([bos] + [vocab[0]] * length)
        console.print(f"[dim]{name}: running {args.inputs} inputs (ours, then tracr's apply)...[/dim]")
        ours, our_out = best_of(3, lambda: runner.run(inputs))
        theirs, their_out = timed(lambda: [tracr_model.apply([bos, *x]).decoded[1:] for x in inputs])
        rows.append({"program": name, "vocab": len(vocab), "max_len": n, "inputs": args.inputs,
                     "runner_s": ours, "tracr_apply_s": theirs, "speedup": theirs / ours,
                     "outputs_agree": our_out == their_out,
                     "compile_s": our_compile, "compile_and_verify_s": verify_time,
                     "verify_s": verified.verification.seconds,
                     "tracr_compile_s": their_compile,
                     "parameters": model.parameter_count()})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        table = Table(title=f"compiled models: {args.inputs} inputs of lengths 1 to {n}", title_justify="left")
        for col in ("program", "params", "runner (s)", "tracr apply (s)", "speedup", "agree",
                    "compile (s)", "+ verify (s)", "of it verifying (s)", "tracr compile (s)"):
            table.add_column(col, justify="left" if col == "program" else "right")
        for r in rows:
            table.add_row(r["program"], f"{r['parameters']:,}", f"{r['runner_s']:.3f}", f"{r['tracr_apply_s']:.1f}",
                          f"{r['speedup']:.0f}x", "yes" if r["outputs_agree"] else "NO", f"{r['compile_s']:.2f}",
                          f"{r['compile_and_verify_s']:.2f}", f"{r['verify_s']:.2f}", f"{r['tracr_compile_s']:.1f}")
        Console(width=140).print(table)
    return 0 if all(r["outputs_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
