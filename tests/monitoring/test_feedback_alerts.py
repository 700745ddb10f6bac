"""Accuracy from labels sent back, and alerts raised once per breach."""

from __future__ import annotations

import json

import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.monitoring.alerts import evaluate_alerts, list_alerts, load_config, parse_duration
from neuralforge_desktop.core.monitoring.feedback import accuracy, parse_label, record_feedback, same_label


def _request(store, pid: str, version: str, when: float, predicted, *, latency: float = 5.0, ok: bool = True) -> None:
    with store.write_transaction() as conn:
        conn.execute("INSERT INTO monitor_requests (prediction_id, model, version, time, latency_ms, ok, status, "
                     "predicted) VALUES (?, 'm', ?, ?, ?, ?, ?, ?)",
                     (pid, version, when, latency, int(ok), 200 if ok else 500, json.dumps(predicted)))


def test_accuracy_joins_labels_with_predictions_per_version(store) -> None:
    for i in range(10):
        _request(store, f"a{i}", "1", 100.0 + i, [i % 3])
    _request(store, "b0", "2", 120.0, [1, 2])  # one request of two instances
    for i in range(8):  # version 1: 8 labelled, 6 right
        record_feedback(store, f"a{i}", i % 3 if i < 6 else "9")
    assert record_feedback(store, "b0", [1, 0]).matched
    late = record_feedback(store, "c0ffee", 4)  # its request is still buffered somewhere, or the id is wrong
    assert not late.matched
    scored = accuracy(store, "m")
    assert (scored.labelled, scored.correct) == (10, 7)
    assert scored.per_version == {"1": (8, 6), "2": (2, 1)}
    assert scored.accuracy == pytest.approx(0.7)
    record_feedback(store, "a6", 0)  # a corrected label replaces the first one
    assert accuracy(store, "m").per_version["1"] == (8, 7)
    assert accuracy(store, "m", since=105.0).per_version["1"] == (3, 2)


def test_labels_compare_by_value_and_bad_feedback_is_refused(store) -> None:
    assert same_label(3, "3") and same_label(3.0, 3) and same_label(" cat", "cat") and not same_label(3, 4)
    assert parse_label("3") == 3 and parse_label("cat") == "cat" and parse_label("[1, 2]") == [1, 2]
    with pytest.raises(UserError, match="prediction_id"):
        record_feedback(store, "../../etc", 1)
    with pytest.raises(UserError, match="label"):
        record_feedback(store, "abc", "  ")
    with pytest.raises(UserError, match="label"):
        record_feedback(store, "abc", float("nan"))


CONFIG = {"window": 60, "p99_latency_ms": 100.0, "error_rate": 0.2, "drift_psi": None, "accuracy_drop": None,
          "min_requests": 5}


def _minute(store, start: float, latency: float, n: int = 10) -> None:
    for i in range(n):
        _request(store, f"r{int(start)}x{i}", "1", start + i, [0], latency=latency)


def test_an_alert_fires_once_per_breach(store) -> None:
    _minute(store, 0.0, 10.0)
    assert evaluate_alerts(store, "m", CONFIG, now=59.0) == []
    _minute(store, 60.0, 300.0)  # p99 far above 100 ms
    raised = evaluate_alerts(store, "m", CONFIG, now=119.0)
    assert [(a.kind, a.version, a.threshold) for a in raised] == [("p99_latency_ms", "1", 100.0)]
    assert raised[0].value == pytest.approx(300.0) and "p99 latency 300.0 ms above 100.0 ms" in raised[0].describe()
    _minute(store, 120.0, 250.0)
    assert evaluate_alerts(store, "m", CONFIG, now=179.0) == []  # the same breach: no second alert
    assert len(list_alerts(store, "m", open_only=True)) == 1
    _minute(store, 180.0, 10.0)
    assert evaluate_alerts(store, "m", CONFIG, now=239.0) == []  # back under: the breach is over
    assert list_alerts(store, "m", open_only=True) == [] and list_alerts(store, "m")[0].resolved == 239.0
    _minute(store, 240.0, 500.0)
    assert len(evaluate_alerts(store, "m", CONFIG, now=299.0)) == 1  # a new breach, a new alert
    assert [a.time for a in list_alerts(store, "m")] == [299.0, 119.0]


def test_error_rate_and_accuracy_alerts(store) -> None:
    for i in range(10):
        _request(store, f"e{i}", "2", float(i), [1], ok=i % 2 == 0)
        record_feedback(store, f"e{i}", 1 if i < 4 else 0)
    config = {**CONFIG, "accuracy_drop": 0.1, "baseline_accuracy": 0.9}
    kinds = {(a.kind, a.version): a for a in evaluate_alerts(store, "m", config, now=30.0)}
    assert set(kinds) == {("error_rate", "2"), ("accuracy_drop", "2")}
    assert kinds[("error_rate", "2")].value == pytest.approx(0.5)
    assert kinds[("accuracy_drop", "2")].value == pytest.approx(4 / 10)  # 4 of the 10 labels match
    assert kinds[("accuracy_drop", "2")].threshold == pytest.approx(0.8)


def test_too_few_requests_are_not_judged(store) -> None:
    _minute(store, 0.0, 900.0, n=3)
    assert evaluate_alerts(store, "m", CONFIG, now=59.0) == []


def test_thresholds_config_names_an_unknown_key(tmp_path) -> None:
    with pytest.raises(UserError, match="unknown key 'p99'"):
        load_config({"p99": 3})
    path = tmp_path / "alerts.yaml"
    path.write_text("window: 15m\np99_latency_ms: 80\ndrift_psi: null\n")
    config = load_config(path)
    assert (config["window"], config["p99_latency_ms"], config["drift_psi"]) == (900.0, 80.0, None)
    with pytest.raises(UserError, match="error_rate must be a number"):
        load_config({"error_rate": "high"})
    assert parse_duration("1h") == 3600.0 and parse_duration("90") == 90.0
    with pytest.raises(UserError, match="not a duration"):
        parse_duration("soon")


def test_the_documented_example_thresholds_load() -> None:
    from pathlib import Path

    config = load_config(Path(__file__).resolve().parents[2] / "docs" / "examples" / "monitor-alerts.yaml")
    assert config == {"window": 300.0, "p99_latency_ms": 250.0, "error_rate": 0.02, "drift_psi": 0.25,
                      "accuracy_drop": 0.05, "baseline_accuracy": None, "min_requests": 50.0}
