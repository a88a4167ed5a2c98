"""The compiler fuzzer of tests/test_compiler_fuzz.py, run longer: random well-typed programs
(maps, selects with every comparison, composite selectors, every kind of aggregate, selector
widths; causal and not), each compiled and checked on every input up to length 4, or refused at a
source position. Prints the counts; exits 1 with the (shrunk) program that breaks the rule.

    python bench/fuzz_compiler.py [--examples 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_compiler_fuzz import check, programs  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    counts: Counter[str] = Counter()
    start = time.perf_counter()

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(programs(max_lines=8), st.booleans())
    def run(text: str, causal: bool) -> None:
        counts[check(text, causal)] += 1
        done = sum(counts.values())
        if done % 50 == 0:
            print(f"{done} programs: {dict(counts)} ({time.perf_counter() - start:.0f} s)", flush=True)

    try:
        run()
    except Exception as e:  # the rule broken; Hypothesis has printed the shrunk program
        print(f"a program broke the rule: {type(e).__name__}: {e}")
        return 1
    print(f"{sum(counts.values())} programs in {time.perf_counter() - start:.0f} s: {counts['compiled']} compiled "
          f"and exact on every input, {counts['refused']} refused at a position, {counts['not a program']} "
          "rejected by the interpreter itself; none broke the rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
