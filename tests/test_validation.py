"""The agreement figures of the analysis: each metric against values worked out by hand, and the
published cases built from the suite."""

from __future__ import annotations

import pytest

from predictor.validation import Case, auc, balanced_accuracy, brier, literature_cases, score, scores


def test_auc_counts_pairs_ranked_right_and_ties_as_half():
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.2, 0.9], [True, True, False]) == 0.0
    assert auc([0.5, 0.5], [True, False]) == 0.5
    assert auc([0.9, 0.2, 0.5, 0.1], [True, True, False, False]) == pytest.approx(3 / 4)
    assert auc([0.3, 0.4], [True, True]) == 0.5  # one class only


def test_balanced_accuracy_and_brier():
    truth = [True, True, True, False]
    assert balanced_accuracy([True] * 4, truth) == 0.5  # always yes, whatever the class balance
    assert balanced_accuracy([True, False, True, False], truth) == pytest.approx((2 / 3 + 1) / 2)
    assert brier([1.0, 0.0, 0.5, 0.5], truth) == pytest.approx((0 + 1 + 0.25 + 0.25) / 4)


def test_a_perfect_predictor_scores_perfectly_and_intervals_hold_the_estimate():
    cases = [Case(f"t{k}", k % 3 != 0, "", "yes" if k % 3 != 0 else "no", 0.9 if k % 3 else 0.1, k % 3 != 0)
             for k in range(12)]
    best = score("oracle", cases, lambda c: c.generalizes, lambda c: float(c.generalizes))
    assert (best.agree, best.balanced_accuracy, best.auc, best.brier) == (12, 1.0, 1.0, 0.0)
    for s in scores(cases):
        assert s.balanced_accuracy_interval[0] <= s.balanced_accuracy <= s.balanced_accuracy_interval[1]
        assert s.brier_interval[0] <= s.brier <= s.brier_interval[1]
    always_no = scores(cases)[-1]
    assert always_no.agree == 4 and always_no.auc == 0.5


def test_literature_cases_cover_every_published_outcome_with_a_verdict():
    from predictor.anchors import OUTCOMES

    cases = literature_cases("paper")
    assert [c.task for c in cases] == list(OUTCOMES)
    assert all(c.verdict in ("yes", "no", "unknown") and 0 <= c.probability <= 1 for c in cases)
    assert all((c.verdict == "yes") <= c.member for c in cases)  # yes needs a member under learned positions


def test_the_fragment_check_agrees_with_the_papers_verdicts_on_its_formal_languages():
    """Huang et al. (ICLR 2025) say for each of their formal languages whether they found a
    C-RASP[periodic, local] program; our check of our program for it must say the same."""
    import json
    from pathlib import Path

    from predictor.validation import file_cases

    root = Path(__file__).parent.parent
    listed = root / "bench" / "programs" / "languages" / "outcomes.json"
    published = {item["name"]: item["crasp_published"] for item in json.loads(listed.read_text())}
    cases = file_cases(str(listed), str(root))
    assert len(cases) == len(published) >= 15
    assert {c.task: c.member for c in cases} == published
