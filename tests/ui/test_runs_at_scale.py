"""The Runs dock over stores of any size: the true count, rows fetched as they are scrolled to, sorting by SQL
in the order the cells' sort keys say, a refresh that re-reads only the changed run, any metric plotted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.store.synthetic import add_runs
from neuralforge_desktop.ui.training import RunsPanel
from neuralforge_desktop.ui.training.runs_model import COLUMNS, PAGE_ROWS, SORT_ROLE


def _store_with(path: Path, count: int, **options: Any) -> list[str]:
    with Store(path) as store:
        return add_runs(store, count, **options)


def _count_in_file(path: Path, where: str = "1") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM runs WHERE {where}").fetchone()[0])


def test_the_dock_counts_every_run_of_a_10000_run_store(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _store_with(path, 10_000)
    runs = RunsPanel(path)
    qtbot.addWidget(runs)
    runs.resize(1100, 700)
    runs.show()
    qtbot.waitExposed(runs)
    total = _count_in_file(path)
    assert total == 10_000
    assert runs.count_label.text().startswith(f"{total:,} runs")
    assert len(runs.visible_run_ids()) == total
    assert runs.model.rowCount() < total  # rows are offered a page at a time, not all at once
    runs.set_filter("status:failed")
    failed = _count_in_file(path, "status = 'failed'")
    assert 0 < failed < total
    assert runs.count_label.text().startswith(f"{failed:,} of {total:,} runs")


def test_scrolling_to_the_end_fetches_the_rest(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    ids = _store_with(path, 2 * PAGE_ROWS + 50)
    runs = RunsPanel(path)
    qtbot.addWidget(runs)
    runs.resize(900, 600)
    runs.show()
    qtbot.waitExposed(runs)
    assert runs.model.rowCount() == PAGE_ROWS
    for _ in range(10):  # the view asks for more each time it reaches the bottom
        runs.table.scrollToBottom()
        qtbot.wait(10)
        if runs.model.rowCount() == len(ids):
            break
    assert runs.model.rowCount() == len(ids)
    assert runs.cell_text(ids[0], "name") == "run-1"  # the oldest run, last in the default order
    last = runs.model.index(len(ids) - 1, COLUMNS.index("name"))
    assert last.data() == "run-1"


def test_every_column_sorts_in_the_order_of_its_cells_sort_keys(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    ids = _store_with(path, 60, seed=5)
    runs = RunsPanel(path)
    qtbot.addWidget(runs)
    for column, name in enumerate(COLUMNS):
        runs.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        keys = [runs.model.index(row, column).data(SORT_ROLE) for row in range(runs.model.rowCount())]
        assert len(keys) == len(ids)
        assert keys == sorted(keys), name
        runs.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        descending = [runs.model.index(row, column).data(SORT_ROLE) for row in range(runs.model.rowCount())]
        assert descending == keys[::-1], name


def test_a_refresh_reads_only_the_changed_run_and_updates_its_row_in_place(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    ids = _store_with(path, 40, running=1)
    live = ids[-1]  # running, newest: the first row
    runs = RunsPanel(path)
    qtbot.addWidget(runs)
    assert runs.auto_refreshing
    runs.select_runs([ids[10], live])
    resets, moves, changed_rows = [], [], []
    runs.model.modelReset.connect(lambda: resets.append(1))
    runs.model.layoutChanged.connect(lambda *_: moves.append(1))
    runs.model.dataChanged.connect(lambda top, bottom, *_: changed_rows.extend(range(top.row(), bottom.row() + 1)))
    read: list[list[str]] = []
    get_runs = runs.store.get_runs
    runs.store.get_runs = lambda run_ids: read.append(list(run_ids)) or get_runs(run_ids)

    runs.refresh()
    assert read == [] and changed_rows == []  # nothing changed: nothing read
    with Store(path) as writer:
        writer.log_series(live, "val/acc", [10_000], [0.4321])
    runs.refresh()
    assert runs.cell_text(live, "val acc") == "43.21%"
    assert read == [[live]] and changed_rows == [runs.model.row_of(live)]
    assert resets == [] and moves == []
    assert sorted(runs.selected_run_ids()) == sorted([ids[10], live])  # the selection stays

    with Store(path) as writer:  # a new run sorts first: rows move, the selection follows its runs
        new = writer.create_run("sweep-0", "newest", environment={}, status="queued").id
    runs.refresh()
    assert runs.visible_run_ids()[0] == new and moves == [1] and resets == []
    assert sorted(runs.selected_run_ids()) == sorted([ids[10], live])
    assert runs.count_label.text().startswith("41 runs")


def test_the_curves_plot_any_metric_a_run_has(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    ids = _store_with(path, 5, with_history=5)
    runs = RunsPanel(path)
    qtbot.addWidget(runs)
    runs.select_runs([ids[0]])
    offered = runs.metric_choices()
    assert {"val/acc", "train/loss", "val/loss", "lr", "epoch_seconds"} <= set(offered)
    assert runs.chosen_metrics() == ["val/acc", "val/perplexity", "train/loss"]  # the defaults
    assert runs.curves.point_count(name="val/loss") == 0
    item = runs.metric_list.item(offered.index("val/loss"))
    item.setCheckState(Qt.CheckState.Checked)  # as a click on its box does
    assert runs.curves.point_count(name="val/loss") == 20
    assert "val/loss" in runs.chosen_metrics()
    runs.choose_metrics(["lr"])
    assert runs.curves.point_count(name="lr") == 20 and runs.curves.point_count(name="val/acc") == 0
    assert runs.metric_list.item(runs.metric_choices().index("lr")).checkState() == Qt.CheckState.Checked
