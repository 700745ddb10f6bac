"""The Runs dock shows where each run ran, its GPU-hours and its cost, and sums them for the runs shown; a queued
run is listed at once, with the host it waits for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.training import RunsPanel
from neuralforge_desktop.ui.training.runs_model import COLUMNS


def test_runs_dock_shows_host_gpu_hours_and_cost(qtbot: Any, tmp_path: Path) -> None:
    with Store(tmp_path / "store.db") as s:
        remote = s.create_run("sweep", "on-a100", tags={"host": "a100", "cost_per_gpu_hour": "2.5"}, environment={})
        s.add_usage(remote.id, gpu_seconds=3 * 3600)
        s.set_status(remote.id, "finished")
        pricey = s.create_run("sweep", "on-h100", tags={"host": "h100", "cost_per_gpu_hour": "4"}, environment={})
        s.add_usage(pricey.id, gpu_seconds=7200)
        s.set_status(pricey.id, "finished")
        local = s.create_run("sweep", "here", environment={})
        s.add_usage(local.id, cpu_seconds=30)
        s.set_status(local.id, "finished")
        waiting = s.create_run("sweep", "waiting", environment={})
        s.enqueue(waiting.id, host="a100", gpus=2)
    runs = RunsPanel(tmp_path / "store.db")
    qtbot.addWidget(runs)

    cells = {run_id: (runs.cell_text(run_id, "host"), runs.cell_text(run_id, "GPU-h"), runs.cell_text(run_id, "cost"))
             for run_id in (remote.id, pricey.id, local.id, waiting.id)}
    assert cells == {remote.id: ("a100", "3.00", "7.50"), pricey.id: ("h100", "2.00", "8.00"),
                     local.id: ("local", "", ""), waiting.id: ("a100", "", "")}
    assert runs.cell_text(waiting.id, "status") == "queued"
    assert runs.auto_refreshing  # a queued run is watched: the dock shows it start
    assert runs.count_label.text() == "4 runs · 5.00 GPU-h · cost 15.50"
    runs.set_filter("host=a100")
    assert set(runs.visible_run_ids()) == {remote.id, waiting.id}
    assert runs.count_label.text() == "2 of 4 runs · 3.00 GPU-h · cost 7.50"
    runs.set_filter("")

    runs.table.sortByColumn(COLUMNS.index("cost"), Qt.SortOrder.DescendingOrder)
    assert runs.visible_run_ids()[:2] == [pricey.id, remote.id]
    row = runs.model.index(runs.model.row_of(remote.id), COLUMNS.index("cost"))
    assert "× 2.5 per GPU-hour" in row.data(Qt.ItemDataRole.ToolTipRole)
    assert row.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
