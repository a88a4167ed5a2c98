"""The analysis against the published outcomes of the suite's tasks: agreement, balanced
accuracy, AUC and Brier score with intervals, beside C-RASP alone and the trivial predictors.

    .venv/bin/python bench/validate_predictor.py [PROTOCOL]

The formal languages of Huang et al. are in bench/programs/languages (programs, references
checked against the authors' data, and outcomes.json with the evidence for every outcome).
"""

from __future__ import annotations

import sys
import time

from pathlib import Path

from predictor.validation import file_cases, literature_cases, scores, table

LANGUAGES = Path(__file__).parent / "programs" / "languages" / "outcomes.json"


def main() -> None:
    protocol = sys.argv[1] if len(sys.argv) > 1 else "paper"
    start = time.perf_counter()
    suite = literature_cases(protocol)
    languages = file_cases(str(LANGUAGES), str(LANGUAGES.parents[3]))
    cases = suite + languages
    for title, group in ((f"the suite's tasks, under the {protocol} protocol's setting", suite),
                         ("Huang et al.'s formal languages (learned positions with offsets)", languages),
                         ("all", cases)):
        print(f"## {title}: the analysis against published outcomes\n")
        print(table(group, scores(group)) + "\n")
    print(f"\n{len(cases)} tasks analysed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
