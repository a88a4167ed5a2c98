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


def test_the_fit_of_one_binary_feature_without_penalty_gives_each_group_its_rate():
    from predictor.probability import Features, fit

    rows = [(f"m{k}", Features(1, 0), k < 3) for k in range(4)] + [(f"n{k}", Features(0, 0), k < 1) for k in range(4)]
    model = fit(rows, "test", ("member",), penalty=0.0)
    assert model.probability(Features(1, 5)) == pytest.approx(0.75, abs=1e-4)
    assert model.probability(Features(0, 5)) == pytest.approx(0.25, abs=1e-4)
    assert model.fitted_on == tuple(name for name, _, _ in rows)


def test_a_larger_penalty_pulls_a_separating_weight_towards_zero():
    from predictor.probability import Features, fit

    rows = [(f"t{k}", Features(k % 2, k % 3), k % 2 == 1) for k in range(12)]
    weights = [fit(rows, "test", ("member", "attention_layers"), penalty).weights[0] for penalty in (0.01, 1.0, 10.0)]
    assert weights[0] > weights[1] > weights[2] > 0


def test_selection_keeps_the_useless_feature_out():
    """A feature unrelated to the outcome must not lower the leave-one-out log-loss, so the
    selection keeps the smaller model."""
    from predictor.probability import Features, select

    rows = [(f"t{k}", Features(int(k % 4 != 0), (k * 7) % 5), k % 4 != 0 if k != 5 else False) for k in range(16)]
    model = select(rows, "test")
    assert model.features == ("member",) and model.loo_log_loss is not None


def test_the_shipped_probability_is_the_fit_of_the_training_suite():
    """predictor/probability.json is what `bench/validate_predictor.py --refit` writes from the formal
    languages: a change to the analysis's features or to the outcomes must come with a refit."""
    from pathlib import Path

    from predictor import probability
    from predictor.validation import file_cases, refit

    root = Path(__file__).parent.parent
    listed = root / "bench" / "programs" / "languages" / "outcomes.json"
    model = refit(file_cases(str(listed), str(root)), probability.MODEL.source)
    assert model == probability.MODEL


def test_leave_one_out_never_sees_the_case_it_scores():
    from predictor.probability import Features, fit
    from predictor.validation import leave_one_out

    cases = [Case(f"t{k}", k < 4, "", "yes", 0.5, True, Features(1, 0)) for k in range(5)]
    model = fit([(c.task, c.features, c.generalizes) for c in cases], "test", ("member",), 0.0)
    held = leave_one_out(cases, model)
    assert held[0].probability == pytest.approx(3 / 4, abs=1e-3)  # fitted on 3 of 4 generalizing
    assert held[4].probability == pytest.approx(1.0, abs=1e-3)  # fitted on 4 of 4


def test_measured_cases_take_the_judged_tasks_inside_the_conjecture(tmp_path):
    import json

    from predictor.validation import measured_cases

    row = {"pe": "learned", "in_conjecture": True, "judged": True, "fitted_seeds": 5}
    summary = [{**row, "task": "majority", "generalized": True},
               {**row, "task": "parity", "judged": False, "generalized": None},
               {**row, "task": "reverse", "in_conjecture": False, "generalized": False},
               {**row, "task": "copy_repeated", "generalized": False}]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"settings": {"protocol": {"name": "cpu"}}, "summary": summary}))
    cases = measured_cases(str(path))
    assert [(c.task, c.generalizes) for c in cases] == [("majority", True), ("copy_repeated", False)]
    assert cases[0].member and not cases[1].member and "cpu" in cases[0].source
