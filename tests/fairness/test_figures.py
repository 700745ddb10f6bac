"""The figures are fairlearn's own on the same arrays; the planted disparity is found and the unbiased variant
is not flagged; small groups and missing columns are reported as such; mitigation narrows the gap."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.fairness import evaluate_fairness, load_saved
from neuralforge_desktop.core.fairness.bootstrap import figures
from neuralforge_desktop.core.fairness.data import evaluation_data
from neuralforge_desktop.core.fairness.model import load_scoring_model
from neuralforge_desktop.core.store.sqlite_store import Store

RESAMPLES = 100


def _column(report: dict, name: str) -> dict:
    return next(a for a in report["attributes"] if a["column"] == name)


def test_figures_equal_fairlearns_on_the_same_arrays(biased) -> None:
    with Store(biased["store"]) as store:
        report = evaluate_fairness(store, biased["run"], biased["eval_csv"], ["group"], resamples=RESAMPLES)
        model = load_scoring_model(store, biased["run"])
    data = evaluation_data(biased["eval_csv"], features=model.features, sensitive=["group"], label="approved")
    pred = (model.probabilities(data.x)[:, 1] >= 0.5).astype(int)
    y, groups = data.y, data.sensitive["group"]
    frame = MetricFrame(metrics={"accuracy": accuracy_score, "selection_rate": selection_rate,
                                 "tpr": true_positive_rate, "fpr": false_positive_rate},
                        y_true=y, y_pred=pred, sensitive_features=groups)
    column = _column(report, "group")
    for row in column["groups"]:
        for rate in ("accuracy", "selection_rate", "tpr", "fpr"):
            assert row["metrics"][rate]["value"] == pytest.approx(frame.by_group.loc[row["group"], rate], abs=1e-12)
            low, high = row["metrics"][rate]["ci"]
            assert low <= row["metrics"][rate]["value"] <= high
    d = column["disparities"]
    assert d["demographic_parity_difference"]["value"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=groups), abs=1e-12)
    assert d["demographic_parity_ratio"]["value"] == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=groups), abs=1e-12)
    assert d["equalized_odds_difference"]["value"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=groups), abs=1e-12)


def test_the_bootstrap_statistic_is_fairlearns_figures_on_the_original_rows() -> None:
    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 2, 600), rng.integers(0, 2, 600)
    groups = rng.choice(np.array(["a", "b", "c"]), 600, p=[0.5, 0.3, 0.2])
    names = ["a", "b", "c"]
    got = figures(y, pred, np.searchsorted(names, groups), 3)
    frame = MetricFrame(metrics={"accuracy": accuracy_score, "selection_rate": selection_rate,
                                 "tpr": true_positive_rate, "fpr": false_positive_rate},
                        y_true=y, y_pred=pred, sensitive_features=groups)
    expected = [frame.by_group.loc[g, m] for g in names for m in ("accuracy", "selection_rate", "tpr", "fpr")]
    expected += [demographic_parity_difference(y, pred, sensitive_features=groups),
                 demographic_parity_ratio(y, pred, sensitive_features=groups),
                 equalized_odds_difference(y, pred, sensitive_features=groups)]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_the_planted_disparity_is_detected_and_the_unbiased_variant_is_not_flagged(biased, unbiased) -> None:
    with Store(biased["store"]) as store:
        planted = evaluate_fairness(store, biased["run"], biased["eval_csv"], ["group"], resamples=RESAMPLES)
    with Store(unbiased["store"]) as store:
        fair = evaluate_fairness(store, unbiased["run"], unbiased["eval_csv"], ["group"], resamples=RESAMPLES)
    planted_dp = _column(planted, "group")["disparities"]["demographic_parity_difference"]
    assert planted_dp["ci"][0] > 0.1
    assert "group: demographic_parity_ratio" in planted["flagged"]
    reading = " ".join(_column(planted, "group")["reading"])
    assert "selects group = B" in reading and "less often than group = A" in reading and "95 % CI" in reading
    assert fair["flagged"] == []
    assert _column(fair, "group")["disparities"]["demographic_parity_difference"]["value"] < 0.1


def test_a_small_group_says_too_few_examples_instead_of_a_number(biased) -> None:
    with Store(biased["store"]) as store:
        report = evaluate_fairness(store, biased["run"], "example:credit", ["age_band"], resamples=RESAMPLES)
    young = next(g for g in _column(report, "age_band")["groups"] if g["group"] == "18-24")
    assert young["too_few"] and young["count"] < 30
    assert young["metrics"]["selection_rate"] == {"too_few": young["count"]}
    assert "calibration" not in young
    assert "18-24" in _column(report, "age_band")["excluded_groups"]
    assert any(f"too few examples (n={young['count']})" in line for line in _column(report, "age_band")["reading"])


def test_a_missing_sensitive_column_lists_the_columns(biased) -> None:
    with Store(biased["store"]) as store, pytest.raises(UserError) as caught:
        evaluate_fairness(store, biased["run"], biased["eval_csv"], ["gender"], resamples=RESAMPLES)
    message = str(caught.value)
    assert "'gender' not found" in message
    for column in ("income", "neighbourhood_score", "group", "age_band", "approved"):
        assert column in message


def test_mitigation_reduces_the_demographic_parity_difference(biased) -> None:
    with Store(biased["store"]) as store:
        report = evaluate_fairness(store, biased["run"], biased["eval_csv"], ["group"], resamples=RESAMPLES,
                                   mitigation="demographic_parity")
    mitigation = report["mitigation"]
    before = mitigation["before"]["disparities"]["demographic_parity_difference"]["value"]
    after = mitigation["after"]["disparities"]["demographic_parity_difference"]["value"]
    assert after < before / 2
    assert mitigation["fit_rows"] + mitigation["evaluated_rows"] == report["rows"]


def test_the_report_is_kept_as_the_runs_fairness_artifact(biased) -> None:
    with Store(biased["store"]) as store:
        report = evaluate_fairness(store, biased["run"], biased["eval_csv"], ["group", "age_band"],
                                   resamples=RESAMPLES)
        saved = load_saved(store, biased["run"])
        assert json.loads(store.artifact_path(biased["run"], "fairness.json").read_text()) == saved
    assert saved is not None and saved["flagged"] == report["flagged"]
    assert [a["column"] for a in saved["attributes"]] == ["group", "age_band"]


def test_a_label_with_more_than_two_values_is_refused(biased, tmp_path) -> None:
    import pandas as pd

    frame = pd.read_csv(biased["eval_csv"])
    frame.loc[:4, "approved"] = 2
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    with Store(biased["store"]) as store, pytest.raises(UserError, match="'approved' must hold 0 and 1"):
        evaluate_fairness(store, biased["run"], path, ["group"], resamples=RESAMPLES)


def test_a_model_not_trained_on_a_table_is_refused(tmp_path) -> None:
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.runner import prepare_run

    with Store(tmp_path / "store.db") as store:
        run_id, _ = prepare_run(zoo.build("mnist-cnn"), TrainConfig(dataset="mnist-10k", epochs=1), store)
        with pytest.raises(UserError, match="not on a table"):
            evaluate_fairness(store, run_id, "example:credit", ["group"], resamples=RESAMPLES)
