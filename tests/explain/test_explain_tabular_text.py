"""SHAP and permutation importance on a small iris MLP; attention maps of a small BERT on generated reviews."""

from __future__ import annotations

import numpy as np
import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.explain import explain, explain_subject, load_subject
from neuralforge_desktop.core.explain.tabular import probabilities


@pytest.fixture(scope="module")
def iris_subject(iris_run):
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(iris_run["store"]) as store:
        return load_subject(store, iris_run["run"])


@pytest.fixture(scope="module")
def text_subject(text_run):
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(text_run["store"]) as store:
        return load_subject(store, text_run["run"])


def test_shap_values_sum_to_the_prediction_minus_the_expected_value(iris_subject, tmp_path):
    found = explain_subject(iris_subject, "shap", sample=3, output=tmp_path)
    figures = found.figures
    probability = probabilities(iris_subject)(iris_subject.example(3)[0])[0, found.prediction["class"]]
    assert figures["predicted_probability"] == pytest.approx(probability)
    assert figures["shap_sum"] == pytest.approx(probability - figures["expected_value"], abs=1e-6)
    assert set(figures["features"]) == {"sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                        "petal width (cm)"}
    assert (tmp_path / "shap-sample3.png").is_file()


def test_global_shap_and_permutation_rank_the_features(iris_run, store_of, tmp_path):
    store = store_of(iris_run)
    shap_found = explain(store, iris_run["run"], "shap", global_count=15, output=tmp_path)
    ranking = shap_found.figures["mean_abs_shap"]
    assert len(ranking) == 4 and all(v >= 0 for v in ranking.values())
    assert list(ranking.values()) == sorted(ranking.values(), reverse=True)
    permuted = explain(store, iris_run["run"], "permutation", global_count=30, output=tmp_path)
    importance = permuted.figures["importance"]
    # iris is told apart by its petals: shuffling one costs more accuracy than shuffling a sepal measure
    assert max(importance["petal width (cm)"]["mean"], importance["petal length (cm)"]["mean"]) > \
        max(importance["sepal width (cm)"]["mean"], 0.0)
    assert permuted.sample is None and (tmp_path / "permutation-global.png").is_file()


def test_grad_cam_on_an_mlp_is_refused_naming_what_fits(iris_subject, tmp_path):
    with pytest.raises(UserError, match="gradcam.*methods that fit it: shap, permutation"):
        explain_subject(iris_subject, "gradcam", sample=0, output=tmp_path)


def test_attention_rows_sum_to_one(text_subject, tmp_path):
    found = explain_subject(text_subject, "attention", sample=1, output=tmp_path)
    maps = found.values  # layers × 1 × heads × T × S
    assert maps.shape[:3] == (1, 1, 2)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    mask = text_subject.example(1)[2][0]
    assert np.all(maps[..., mask == 0] < 1e-6)  # padding is never attended to
    assert found.figures["tokens"] and "<pad>" not in found.figures["tokens"]
    assert (tmp_path / "attention-sample1.png").is_file()


def test_image_methods_are_refused_on_a_transformer(text_subject, tmp_path):
    with pytest.raises(UserError, match="methods that fit it: attention"):
        explain_subject(text_subject, "ig", sample=0, output=tmp_path)


def test_a_causal_language_model_attends_only_backwards(tmp_path):
    from training_graphs import CORPUS, small_gpt, train_language_model

    _, _, store, run_id, _ = train_language_model(small_gpt(), tmp_path)
    with store:
        found = explain(store, run_id, "attention", sample=0, output=tmp_path / "out")
    maps = found.values[0, 0]  # heads × T × T of the one layer
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(np.triu(maps, k=1) < 1e-6)  # no position looks ahead
    assert "".join(found.figures["tokens"]) in CORPUS  # the tokens shown as the text they stand for
    assert 0.0 < found.prediction["probability"] <= 1.0 and isinstance(found.prediction["name"], str)
