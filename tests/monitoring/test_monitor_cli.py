"""``neuralforge monitor`` on a store with a served history: the table, --json and feedback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.monitoring.demo import generate_demo_history
from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
from neuralforge_desktop.core.store import Store


@pytest.fixture
def served(store_path: Path) -> Path:
    with Store(store_path) as store:
        generate_demo_history(store, "digits", hours=0.5, rate=2.0, step=300.0)
    return store_path


def test_the_table_shows_latency_traffic_drift_accuracy_and_alerts(served: Path, capsys) -> None:
    assert main(["monitor", "digits", "--store", str(served)]) == 0
    out = capsys.readouterr().out
    assert "Model digits: everything recorded" in out
    assert "p50" in out and "p99" in out and "req/s" in out
    traffic = out.split("Traffic per version")[1].split("Input drift")[0]
    assert [line.split()[0] for line in traffic.strip().splitlines()[2:]] == ["1", "2"]
    assert "feature 2" in out and "major shift" in out and "the largest shift is feature 2" in out
    assert "Accuracy from feedback:" in out and "v1 " in out and "v2 " in out
    assert "Open alerts (" in out and "digits@" in out


def test_json_has_every_figure_and_agrees_with_the_store(served: Path, capsys) -> None:
    assert main(["monitor", "digits", "--store", str(served), "--json", "--since", "2h"]) == 0
    report = json.loads(capsys.readouterr().out)
    with Store(served) as store, store.read_transaction() as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM monitor_requests WHERE model = 'digits'").fetchone()
    assert report["summary"]["count"] == count
    assert sum(v["count"] for v in report["versions"].values()) == count
    assert sum(report["over_time"]["count"]) == count
    assert report["summary"]["p50"] <= report["summary"]["p95"] <= report["summary"]["p99"]
    assert set(report["drift"]["latest"]) == {"1", "2"} and report["drift"]["history"]
    assert 0.5 < report["accuracy"]["accuracy"] < 1.0
    assert {a["kind"] for a in report["alerts"]["open"]} <= {"p99_latency_ms", "error_rate", "drift_psi",
                                                              "accuracy_drop"}


def test_feedback_from_the_command_line_counts_in_accuracy(store_path: Path, capsys) -> None:
    with RequestRecorder(store_path, "digits") as recorder:
        ids = [recorder.record(version="1", latency_ms=3.0, ok=True, status=200, predictions=[[0.1, 0.9]])
               for _ in range(2)]
    assert main(["monitor", "feedback", ids[0], "1", "--store", str(store_path)]) == 0
    assert main(["monitor", "feedback", ids[1], "0", "--store", str(store_path)]) == 0
    assert f"Recorded label 1 for prediction {ids[0]}" in capsys.readouterr().out
    assert main(["monitor", "digits", "--store", str(store_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == {
        "labelled": 2, "correct": 1, "accuracy": 0.5, "per_version": {"1": {"labelled": 2, "correct": 1,
                                                                            "accuracy": 0.5}}}


def test_mistakes_are_one_line_errors(served: Path, capsys) -> None:
    assert main(["monitor", "nosuch", "--store", str(served)]) == 1
    assert "no served requests of model 'nosuch' in the store; models with requests: digits" in capsys.readouterr().err
    assert main(["monitor", "digits", "--since", "soon", "--store", str(served)]) == 1
    assert "--since: 'soon' is not a duration" in capsys.readouterr().err
    assert main(["monitor", "feedback", "abc", "--store", str(served)]) == 2  # a usage error
    assert "give PREDICTION_ID and LABEL" in capsys.readouterr().err
    assert main(["monitor", "feedback", "abc", "3", "--store", str(served)]) == 0
    assert "no served request with this id" in capsys.readouterr().err
