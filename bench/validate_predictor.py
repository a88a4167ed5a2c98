"""The analysis against the published outcomes of the suite's tasks: agreement, balanced
accuracy, AUC and Brier score with intervals, beside C-RASP alone and the trivial predictors.

    .venv/bin/python bench/validate_predictor.py [PROTOCOL]
"""

from __future__ import annotations

import sys
import time

from predictor.validation import literature_cases, scores, table


def main() -> None:
    protocol = sys.argv[1] if len(sys.argv) > 1 else "paper"
    start = time.perf_counter()
    cases = literature_cases(protocol)
    print(f"# the analysis under the {protocol} protocol's setting, against published outcomes\n")
    print(table(cases, scores(cases)))
    print(f"\n{len(cases)} tasks analysed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
