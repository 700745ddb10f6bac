"""The Fairness view evaluates off the UI thread and shows bars with whiskers, reliability curves, the
disparities and the reading, before and after mitigation."""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.ui.fairness import FairnessView


def test_the_view_shows_the_groups_disparities_reading_and_mitigation(qtbot: Any, biased) -> None:
    view = FairnessView(biased["store"])
    qtbot.addWidget(view)
    assert biased["run"] in [view.model.itemText(i) for i in range(view.model.count())]
    view.model.setCurrentText(biased["run"])
    view.data.setText(str(biased["eval_csv"]))
    view.sensitive.setCurrentText("group")
    view.mitigation.setCurrentIndex(view.mitigation.findData("demographic_parity"))
    view.evaluate(resamples=100)
    qtbot.waitUntil(lambda: view.report is not None, timeout=60_000)
    assert threading.main_thread().ident not in view.worker.ran_in
    mitigation = view.report["mitigation"]
    before = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in mitigation["before"]["groups"]}
    after = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in mitigation["after"]["groups"]}
    assert view.rates["selection_rate"].values == {"before": before, "after": after}
    assert set(view.reliability.curves) == {"A", "B"}
    assert view.disparities.rowCount() == 3
    assert view.disparities.item(0, 0).text() == "demographic parity difference"
    before_dp, after_dp = (float(v) for v in view.disparities.item(0, 3).text().split(" → "))
    assert after_dp < before_dp
    assert "less often than group = A" in view.reading.text() and "After mitigation" in view.reading.text()


def test_a_missing_column_is_shown_in_the_status_line(qtbot: Any, biased) -> None:
    view = FairnessView(biased["store"])
    qtbot.addWidget(view)
    view.model.setCurrentText(biased["run"])
    view.data.setText(str(biased["eval_csv"]))
    view.sensitive.setCurrentText("religion")
    view.evaluate(resamples=100)
    qtbot.waitUntil(lambda: "Could not evaluate" in view.status.text(), timeout=60_000)
    assert "'religion' not found" in view.status.text() and "age_band" in view.status.text()


def test_the_main_window_opens_it_from_the_view_menu(qtbot: Any, biased, tmp_path) -> None:
    from neuralforge_desktop.ui.main_window import MainWindow

    window = MainWindow(store_path=biased["store"], recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(window)
    window.commands.by_name["view.fairness"].trigger()
    view = window.fairness_view
    assert isinstance(view, FairnessView) and view.isVisible() and view.store_path == biased["store"]
    assert view.model.findText(biased["run"]) >= 0
    view.close()
