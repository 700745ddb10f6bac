"""The Cost & Capacity view shows the demo team's spend, ROI and capacity, read off the UI thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.costs import cost_report
from neuralforge_desktop.core.team.demo_costs import create_cost_demo
from neuralforge_desktop.ui.cost import CostView


def test_the_view_charts_spend_roi_and_capacity(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        demo = create_cost_demo(store, HostRegistry(), now=time.time())
        by_user = cost_report(store, by="user")
    view = CostView(path)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    qtbot.waitUntil(lambda: view.reports is not None, timeout=60_000)
    assert threading.main_thread().ident not in view.loader.read_in
    assert f"{demo.runs} runs" in view.summary.text()
    assert set(view.spend.layers) == set(demo.projects)
    stacked = np.sum(list(view.spend.layers.values()), axis=0)
    assert stacked.sum() == pytest.approx(view.reports["cost"].total.cost)
    assert view.totals.rowCount() == len(demo.projects) + 1
    assert view.totals.item(len(demo.projects), 0).text() == "total"
    assert view.roi.points == sum(len(p.points) for p in view.reports["roi"].projects) > 0
    assert view.roi.front and "Last 10 %" in view.roi_note.text()
    assert view.capacity.history >= 4 and view.capacity.forecast == 8
    assert "forecast" in view.capacity_note.text() and view.host.currentText() == "All hosts"
    assert view.capacity.history == len(view.reports["capacity"].total.gpu_hours)
    assert set(view.utilisation.values) == {"h100-pod", "a100-box", "rtx-lab"}
    assert all(0 < v < 100 for v in view.utilisation.values.values())
    # group by user: the reports are read again, and the layers follow
    view.group.setCurrentIndex(view.group.findData("user"))
    view.refresh()
    qtbot.waitUntil(lambda: view.reports is not None and view.reports["cost"].by == "user", timeout=60_000)
    assert {k: v.sum() for k, v in view.spend.layers.items()} == pytest.approx({t.key: t.cost for t in by_user.totals})
    view.measure.setCurrentIndex(view.measure.findData("gpu_hours"))
    view._show_cost()
    assert sum(v.sum() for v in view.spend.layers.values()) == pytest.approx(view.reports["cost"].total.gpu_hours)
    view.roi_project.setCurrentIndex(view.roi_project.findData("vision-defects"))
    view._show_roi()
    assert view.roi.points == len(next(p for p in view.reports["roi"].projects if p.project == "vision-defects").points)


def test_an_empty_store_says_so(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(path).close()
    view = CostView(path)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.reports is not None, timeout=60_000)
    assert "0 runs" in view.summary.text() and view.spend.layers == {}
    assert "No runs with val/acc" in view.roi_note.text()
    assert "No complete week" in view.capacity_note.text()


def test_the_team_menu_opens_the_view(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    path = tmp_path / "store.db"
    Store(path).close()
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=path)
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.commands.by_name["team.cost"].trigger()
    views = [w for w in QApplication.topLevelWidgets() if isinstance(w, CostView) and w.isVisible()]
    assert len(views) == 1 and views[0].store_path == path
    views[0].close()
