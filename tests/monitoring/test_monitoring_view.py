"""The Monitoring view shows a served history read off the UI thread, and follows new requests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core.monitoring.demo import generate_demo_history
from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.ui.monitoring import MonitoringView


def _curve(plot: Any, name: str) -> np.ndarray:
    return np.asarray(plot.curves[name].getData()[1], dtype=float)


def test_the_view_plots_latency_traffic_drift_and_lists_alerts(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        history = generate_demo_history(store, "mnist", hours=0.5, rate=2.0, step=300.0)
    view = MonitoringView(path, refresh_ms=60_000)
    qtbot.addWidget(view)
    view.window_choice.setCurrentIndex(view.window_choice.count() - 1)  # everything
    view.refresh()
    qtbot.waitUntil(lambda: view.report is not None and view.report["summary"]["count"] == history.requests,
                    timeout=20_000)
    assert threading.main_thread().ident not in view.reader.read_in  # the store was read in the worker
    assert view.model.currentText() == "mnist"
    assert f"{history.requests:,} requests" in view.summary.text() and "accuracy from feedback" in view.summary.text()
    p99 = _curve(view.latency, "p99")
    p50 = _curve(view.latency, "p50")
    assert len(p99) >= 10 and np.nanmax(p99) > np.nanmax(p50) > 0
    assert set(view.traffic.curves) == {"1", "2"}
    assert np.nansum(_curve(view.traffic, "1")) > np.nansum(_curve(view.traffic, "2")) > 0
    assert np.nanmax(_curve(view.drift, "1")) > 0.25  # the planted drift, above the alert line
    rows = view.alerts.rowCount()
    assert rows == len(view.report["alerts"]["open"]) > 0
    assert all(view.alerts.item(r, 2).text().startswith("mnist@") for r in range(rows))


def test_the_view_follows_new_requests_and_says_when_there_are_none(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(path).close()
    view = MonitoringView(path, refresh_ms=60_000)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: "No served requests" in view.summary.text(), timeout=20_000)
    with RequestRecorder(path, "digits") as recorder:
        for i in range(30):
            recorder.record(version="4", latency_ms=float(i), ok=True, status=200, predictions=[[0.2, 0.8]])
    view.refresh()
    qtbot.waitUntil(lambda: view.report is not None, timeout=20_000)
    assert view.model.currentText() == "digits" and "30 requests" in view.summary.text()
    assert list(view.traffic.curves) == ["4"] and view.alerts.rowCount() == 0


def test_the_main_window_opens_it_from_the_view_menu(qtbot: Any, tmp_path: Path) -> None:
    from neuralforge_desktop.ui.main_window import MainWindow

    window = MainWindow(store_path=tmp_path / "store.db", recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(window)
    window.commands.by_name["view.monitoring"].trigger()
    view = window.monitoring_view
    assert isinstance(view, MonitoringView) and view.isVisible() and view.store_path == tmp_path / "store.db"
    view.close()


def test_check_now_says_why_drift_could_not_be_computed(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with RequestRecorder(path, "digits", sample_rate=1.0) as recorder:
        for i in range(30):
            recorder.record(version="1", latency_ms=1.0, ok=True, status=200, inputs=[[float(i), 1.0]],
                            predictions=[[0.2, 0.8]])
    view = MonitoringView(path, refresh_ms=60_000)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.report is not None, timeout=20_000)
    view.report = None
    view.check_button.click()
    qtbot.waitUntil(lambda: view.report is not None, timeout=20_000)
    assert "drift of version 1 not computed: digits@1 is not in the model registry" in view.summary.text()
