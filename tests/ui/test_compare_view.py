"""The Compare window, offscreen, on three runs written through the store API: prepared as training prepares
them (graph and config in their folders), with metric series logged as a worker logs them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run
from neuralforge_desktop.ui.training.compare_diff import ADDED, CHANGED, DIFF_COLORS
from neuralforge_desktop.ui.training.compare_view import CompareWindow, compare_problem

from training_graphs import digits_mlp, wider_digits_mlp

ACCS = {"adam": [[0.90, 0.94, 0.95], [0.91, 0.95, 0.96]], "sgd": [[0.80, 0.85, 0.86]]}


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "store.db")
    yield opened
    opened.close()


def make_runs(store) -> list[str]:
    ids = []
    for (optimizer, seed, curve), graph in zip(
            [(o, s, c) for o, curves in ACCS.items() for s, c in enumerate(curves)],
            [digits_mlp(), digits_mlp(), wider_digits_mlp()], strict=True):
        config = TrainConfig(dataset="digits", epochs=3, optimizer=optimizer, seed=seed, limit=200)
        run_id, _ = prepare_run(graph, config, store, "cmp", f"{optimizer}-{seed}")
        started = store.get_run(run_id).started
        for epoch, acc in enumerate(curve, start=1):
            step = epoch * 7
            store.log_metrics(run_id, {"val/acc": acc, "train/loss": 1.0 - acc, "epoch_seconds": 1.5}, step,
                              timestamp=started + 1.5 * epoch)
        store.set_status(run_id, "finished")
        ids.append(run_id)
    return ids


def test_only_two_to_twenty_runs_are_compared():
    assert "at least 2" in compare_problem(["a"])
    assert "at most 20" in compare_problem([str(i) for i in range(21)])
    assert compare_problem(["a", "b"]) is None


def test_the_window_for_three_runs(qtbot, store):
    ids = make_runs(store)
    window = CompareWindow(store, ids)
    qtbot.addWidget(window)
    window.show()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Curves", "Params && metrics", "Architecture", "Statistics"]

    # curves: one per run, on the chosen axis, smoothed with the raw values behind
    assert window.metric_choice.currentText() == "val/acc"
    assert set(window.curve_items) == set(ids) and set(window.raw_items) == set(ids)
    window.align_choice.setCurrentText("epoch")
    x, _ = window.curve_items[ids[0]].getData()
    assert x.tolist() == [1.0, 2.0, 3.0]
    window.smoothing.setValue(0)
    assert window.raw_items == {}
    _, y = window.curve_items[ids[2]].getData()
    assert np.allclose(y, ACCS["sgd"][0])
    window.align_choice.setCurrentText("time")
    x, _ = window.curve_items[ids[1]].getData()
    assert x.tolist() == pytest.approx([1.5, 3.0, 4.5])

    # params and final metrics: the optimizer and seed differ (highlighted), sorting by val/acc works
    table = window.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert {"optimizer", "seed"} <= set(window.differing_columns())
    column = headers.index("optimizer")
    assert table.item(0, column).background().color().name() == "#e8a317"
    acc_column = headers.index("val/acc")
    table.sortItems(acc_column, Qt.SortOrder.DescendingOrder)
    assert [table.item(r, acc_column).text() for r in range(3)] == ["96.00 %", "95.00 %", "86.00 %"]

    # the architecture diff of the first run against the third (wider, one more dropout, head renamed)
    diff = window.diff
    diff.other_choice.setCurrentIndex(2)
    lines = dict(diff.change_lines())
    assert lines["+ drop2 (Dropout)"] == ADDED
    assert lines["~ fc1 (Linear): params.out_features: 32 → 64"] == CHANGED
    assert diff.right.highlights == {"drop2": ADDED, "fc1": CHANGED}
    assert diff.left.highlights == {"fc1": CHANGED}
    outline = diff.right.outlines["drop2"]
    assert outline.pen().color().name() == DIFF_COLORS[ADDED]
    assert outline.sceneBoundingRect().contains(diff.right.graph_scene.nodes["drop2"].sceneBoundingRect())
    assert diff.changes.item(0).foreground().color().name() == DIFF_COLORS[ADDED]
    assert "1 added, 0 removed, 1 changed" in diff.summary.text()

    # statistics: grouped by the optimizer, the verdict in words
    stats = window.stats
    stats.group_by.setCurrentText("optimizer")
    assert [g.key for g in stats.groups] == ["adam", "sgd"]
    assert stats.table.item(0, 1).text() == "2" and stats.table.item(0, 4).text() != ""
    assert "No test yet" in stats.verdict.text()  # sgd has one run
    stats.group_by.setCurrentText("seed")
    assert stats.result is None and stats.seeds_button.text() == "Run 3 more seeds"


def test_statistics_say_which_group_wins(qtbot, store):
    ids = []
    for optimizer, finals in {"adam": [0.95, 0.96, 0.955], "sgd": [0.90, 0.91, 0.905]}.items():
        for seed, acc in enumerate(finals):
            run = store.create_run("api", params={"optimizer": optimizer, "seed": seed}, environment={})
            store.log_metric(run.id, "val/acc", acc, 10)
            store.set_status(run.id, "finished")
            ids.append(run.id)
    window = CompareWindow(store, ids)
    qtbot.addWidget(window)
    window.stats.group_by.setCurrentText("optimizer")
    assert "adam beats sgd on val/acc by 5.0 points" in window.stats.verdict.text()
    assert window.stats.result.significant
    # runs written without a graph: the architecture tab says why it has nothing to show
    assert "cannot read the graph it trained" in window.diff.change_lines()[0][0]


def test_the_runs_dock_opens_it_for_the_selected_runs(qtbot, store):
    from neuralforge_desktop.ui.training.runs_panel import RunsPanel

    ids = make_runs(store)
    panel = RunsPanel(store.path)
    qtbot.addWidget(panel)
    panel.refresh()
    panel.select_runs(ids[:2])
    (action,) = [a for a in panel.run_menu(ids[0]).actions() if a.text() == "Compare selected runs…"]
    action.trigger()
    (window,) = panel.window().findChildren(CompareWindow)
    assert window.isVisible() and sorted(window.run_ids) == sorted(ids[:2])
    assert set(window.curve_items) == set(ids[:2])


def test_run_more_seeds_trains_them_and_the_statistics_count_them(qtbot, store):
    ids = make_runs(store)
    for run_id in ids:  # one quick epoch on 100 digits for the seed run, without diagnostics
        folder = store.path.parent / "runs" / run_id
        config = TrainConfig.from_json(json.loads((folder / "config.json").read_text()))
        quick = dataclasses.replace(config, epochs=1, limit=100, diagnostics="off")
        (folder / "config.json").write_text(json.dumps(quick.to_json()))
    window = CompareWindow(store, ids)
    qtbot.addWidget(window)
    stats = window.stats
    stats.group_by.setCurrentText("optimizer")
    stats.table.selectRow(1)  # sgd: one run so far
    stats.more.setValue(1)
    assert stats.seeds_button.text() == "Run 1 more seed"
    with qtbot.waitSignal(stats.seeds_started) as started:
        stats.seeds_button.click()
    (new_id,) = started.args[0]
    assert "Training 1 more seed of sgd" in stats.seeds_note.text()
    assert stats.trainers[0].wait(timeout=120) and stats.trainers[0].returncodes == {new_id: 0}
    stats.refresh()
    assert {g.key: g.n for g in stats.groups} == {"adam": 2, "sgd": 2}
    assert stats.result is not None and "sgd" in stats.result.verdict
