"""The analysis against known outcomes: agreement, balanced accuracy, AUC and Brier score with
bootstrap intervals, beside C-RASP alone and the trivial predictors; the probability is fitted on
the training suite (Huang et al.'s formal languages) and scored on held-out tasks.

    .venv/bin/python bench/validate_predictor.py [--refit] [--measured RESULTS_JSON ...] [PROTOCOL]

--refit       fit the probability on the training suite and write predictor/probability.json
--measured    also score the tasks an experiment judged (its results.json), held out
PROTOCOL      the setting the suite's published tasks are analysed under (default: paper)

The formal languages are in bench/programs/languages (programs, references checked against the
authors' data, and outcomes.json with the evidence for every outcome).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from predictor import probability
from predictor.validation import (file_cases, leave_one_out, literature_cases, measured_cases, refit, rows,
                                  scores, table)

LANGUAGES = Path(__file__).parent / "programs" / "languages" / "outcomes.json"
SOURCE = "bench/programs/languages/outcomes.json (Huang et al., ICLR 2025)"


def section(title: str, cases: list) -> None:
    print(f"## {title}\n")
    print(table(cases, scores(cases)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("protocol", nargs="?", default="paper")
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--measured", metavar="RESULTS_JSON", nargs="+",
                        help="experiments' results.json files; a task judged in several counts once per file")
    args = parser.parse_args()
    start = time.perf_counter()
    training = file_cases(str(LANGUAGES), str(LANGUAGES.parents[3]))
    scored = probability.candidates(rows(training))
    model = refit(training, SOURCE, scored)
    if args.refit:
        probability.save(model)
        print(f"wrote {probability.FITTED}: weights {dict(zip(model.features, model.weights))}, bias {model.bias}\n")
    elif model != probability.MODEL:
        print(f"warning: the shipped model {probability.MODEL.as_dict()} is not the fit of today's training "
              f"suite {model.as_dict()}; run with --refit\n")
    shipped = probability.MODEL if not args.refit else model
    print("the choice (leave-one-out log-loss on the training suite):\n")
    for names, penalty, loss in scored:
        print(f"- {' + '.join(names)}, penalty {penalty:g}: {loss:.3f}")
    print()
    print(f"probability model: P = sigmoid({shipped.bias:+.3f} " + " ".join(
        f"{w:+.3f} * {name}" for name, w in zip(shipped.features, shipped.weights)) + f"), fitted on "
        f"{len(shipped.fitted_on)} tasks\n")
    section("training suite (Huang et al.'s formal languages), probability leave-one-out",
            leave_one_out(training, shipped))
    heldout = literature_cases(args.protocol)
    section(f"held out: the suite's tasks with published outcomes, under the {args.protocol} protocol's setting",
            heldout)
    if args.measured:
        measured = [case for path in args.measured for case in measured_cases(path)]
        section(f"held out: the tasks measured in {', '.join(args.measured)}", measured)
        heldout = heldout + measured
        section("held out: all", heldout)
    print(f"{len(training) + len(heldout)} cases analysed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
