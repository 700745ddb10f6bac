"""The Coach before training, on real datasets: what it finds in the graph, the settings and the data."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.coach.static import leaked_rows, static_check
from neuralforge_desktop.core.training.config import TrainConfig
from tests.coach.graphs import classifier


def loud(report) -> list[str]:
    return [f.kind for f in report.findings if f.severity != "info"]


def write_table(path, features: np.ndarray, labels: np.ndarray) -> str:
    columns = [f"f{i}" for i in range(features.shape[1])]
    lines = [",".join([*columns, "label"])]
    lines += [",".join([*(f"{v:.6g}" for v in row), str(int(y))]) for row, y in zip(features, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_sound_graph_on_digits_and_iris_gets_no_warning():
    report = static_check(classifier(), TrainConfig(dataset="digits"))
    assert loud(report) == []
    reasons = {n.kind: n.reason for n in report.not_applied}
    assert "before training" in reasons["lr_too_high"] and "diagnostics" in reasons["dead_relu"]
    assert loud(static_check(classifier(shape=(4,), classes=3), TrainConfig(dataset="iris"))) == []


def test_mnist_cnn_on_mnist_10k_is_clean_and_fast():
    from neuralforge_desktop.core.training.datasets import list_datasets

    if not next(d for d in list_datasets() if d.name == "mnist-10k").available:
        pytest.skip("mnist-10k is not available here")
    started = time.monotonic()
    report = static_check(zoo.build("mnist-cnn"), TrainConfig(dataset="mnist-10k"))
    assert time.monotonic() - started < 10
    assert report.findings == []


def test_softmax_before_cross_entropy_on_digits():
    found = static_check(classifier("Softmax"), TrainConfig(dataset="digits")).of_kind("softmax_before_cross_entropy")
    assert found[0].fix.action == "remove_node" and found[0].fix.args == {"node": "act"}
    found = static_check(classifier("Softmax", loss=None), TrainConfig(dataset="digits"))
    assert found.of_kind("softmax_before_cross_entropy")  # the default loss is a cross-entropy too


def test_mse_on_class_labels_is_an_error_finding_not_a_crash():
    report = static_check(classifier(loss="MSELoss"), TrainConfig(dataset="digits"))
    found = report.of_kind("wrong_loss_for_task")
    assert found[0].severity == "error" and found[0].fix.args == {"node": "loss", "type": "CrossEntropyLoss"}


def test_batchnorm_with_tiny_batches_on_digits():
    report = static_check(classifier(norm=True), TrainConfig(dataset="digits", batch_size=2))
    assert [f.severity for f in report.of_kind("batchnorm_small_batch")] == ["warning"]
    report = static_check(classifier(norm=True), TrainConfig(dataset="digits", batch_size=1))
    assert [f.severity for f in report.of_kind("batchnorm_small_batch")] == ["error"]


def test_rows_copied_across_splits_are_leakage(tmp_path):
    rng = np.random.default_rng(0)
    unique = rng.normal(size=(150, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 150)
    path = write_table(tmp_path / "dupes.csv", np.concatenate([unique, unique]), np.concatenate([labels, labels]))
    found = static_check(classifier(shape=(4,), classes=3), TrainConfig(dataset=path, val_fraction=0.2)
                         ).of_kind("data_leakage")
    assert found and found[0].evidence["numbers"]["leaked"] > 10
    clean = write_table(tmp_path / "clean.csv", unique, labels)
    report = static_check(classifier(shape=(4,), classes=3), TrainConfig(dataset=clean, val_fraction=0.2))
    assert not report.of_kind("data_leakage")


def test_class_imbalance_95_to_5(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.array([0] * 380 + [1] * 20)
    path = write_table(tmp_path / "skewed.csv", rng.normal(size=(400, 3)) + labels[:, None], labels)
    found = static_check(classifier(shape=(3,), classes=2), TrainConfig(dataset=path)).of_kind("class_imbalance")
    assert found[0].evidence["numbers"]["largest"] == 342 and found[0].fix.args == {"class_weights": True}


def test_raw_columns_in_the_thousands_when_normalisation_is_off(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 200)
    path = write_table(tmp_path / "prices.csv", rng.normal(3000, 800, size=(200, 2)), labels)
    graph = classifier(shape=(2,), classes=2)
    found = static_check(graph, TrainConfig(dataset=path, normalize=False)).of_kind("unnormalized_inputs")
    assert found[0].fix.args == {"normalize": True}
    assert not static_check(graph, TrainConfig(dataset=path)).of_kind("unnormalized_inputs")


def test_a_graph_that_does_not_fit_the_data_is_a_user_error():
    with pytest.raises(UserError, match="image"):
        static_check(classifier(shape=(3, 32, 32)), TrainConfig(dataset="digits"))


def test_leaked_rows_counts_each_copied_validation_row():
    train = np.arange(12, dtype=np.float32).reshape(4, 3)
    val = np.stack([train[2], train[2] + 100, train[0]])
    assert leaked_rows(train, val) == (2, [0, 2])
