"""The Diagnostics view draws a run's per-layer statistics (gradient flow, histograms over time, update/weight
ratios, activation health) and says plainly when a run has none."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from neuralforge_desktop.core.training.coach.records import LayerStats, RunDiagnostics
from neuralforge_desktop.ui.training.diagnostics_views import (
    NO_DIAGNOSTICS,
    TABS,
    DiagnosticsDialog,
    DiagnosticsView,
)
from tests.coach.synthetic_diagnostics import synthetic_cnn_diagnostics


def _shown(qtbot: Any, diag: RunDiagnostics | None) -> DiagnosticsView:
    view = DiagnosticsView()
    qtbot.addWidget(view)
    view.resize(900, 560)
    view.set_diagnostics(diag, "cnn")
    view.show()
    qtbot.waitExposed(view)
    return view


def test_gradient_flow_maps_each_weighted_layer_on_a_log_scale(qtbot: Any) -> None:
    view = _shown(qtbot, synthetic_cnn_diagnostics(nonfinite=True))
    assert view.has_data()
    assert view.grad_layers == ["conv1", "conv2", "block1/conv3", "fc"]  # the ReLUs have no gradient norm
    image = view.grad_map.image.image
    assert image.shape == (4, 50)  # layers × samples
    low, high = view.grad_map.levels()
    assert -5 < low < high < 0  # log10 of norms between 1e-5 and 1
    assert np.nanmean(image[0]) < np.nanmean(image[3])  # conv1's gradients are the smallest
    x, y = view.latest_curve.getData()
    assert list(y) == [0.5, 1.5, 2.5, 3.5] and x[0] < x[-1]
    assert "First NaN/Inf: gradient of fc at step 495" in view.summary.text()
    ticks = view.grad_map.widget.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == view.grad_layers


def test_histograms_follow_the_chosen_layer_and_kind_with_the_true_value_range(qtbot: Any) -> None:
    view = _shown(qtbot, synthetic_cnn_diagnostics())
    view.select_tab("Histograms")
    assert [view.layer_combo.itemText(i) for i in range(view.layer_combo.count())] == [
        "conv1", "conv2", "block1/conv3", "fc"]
    view.show_histograms("fc", "grad")
    fc_rect = view.hist_map.image.mapRectToParent(view.hist_map.image.boundingRect())
    view.show_histograms("relu1", "act")
    assert view.layer_combo.count() == 6  # every layer has activations
    relu_rect = view.hist_map.image.mapRectToParent(view.hist_map.image.boundingRect())
    assert abs(relu_rect.top()) < 1e-6  # ReLU outputs start at 0
    assert fc_rect.height() < 1.0 < relu_rect.height()  # gradients are small numbers, activations are not
    assert view.hist_map.image.image.shape[0] == 64  # common bins down, samples across
    assert "10 samples" in view.hist_note.text()
    view.show_histograms("fc", "grad", zoom="Newest sample")
    (low, high) = view.hist_map.widget.getPlotItem().getViewBox().viewRange()[1]
    assert high - low < 0.5 * fc_rect.height()  # the newest gradients are the narrowest: zoomed in on them
    assert low < 0.0 < high


def test_update_ratio_plot_has_a_curve_per_layer_and_the_rule_of_thumb(qtbot: Any) -> None:
    view = _shown(qtbot, synthetic_cnn_diagnostics())
    curves = [i for i in view.ratio_plot.getPlotItem().listDataItems()]
    assert [c.name() for c in curves] == ["conv1", "conv2", "block1/conv3", "fc"]
    assert view.ratio_plot.getPlotItem().getAxis("left").logMode
    assert view.rule_line.value() == pytest.approx(-3.0)  # 1e-3 on the log axis
    assert view.rule_line in view.ratio_plot.getPlotItem().items


def test_activation_tab_shows_only_the_statistics_the_run_has(qtbot: Any) -> None:
    view = _shown(qtbot, synthetic_cnn_diagnostics())
    view.select_tab("Activations")
    assert view.zero_plot.isVisible() and not view.sat_plot.isVisible()
    names = [c.name() for c in view.zero_plot.getPlotItem().listDataItems()]
    assert names == ["relu1", "relu2"]
    none = [None, None]
    plain = RunDiagnostics(layers=[LayerStats(5, ["a", "b"], [1.0, 2.0], none, none, none, none, none, none)])
    view.set_diagnostics(plain, "mlp")
    assert view.activation_note.isVisible() and not view.zero_plot.isVisible()
    view.select_tab("Histograms")
    assert "No gradient histograms" in view.hist_note.text()


def test_a_run_without_diagnostics_says_so_instead_of_empty_plots(qtbot: Any) -> None:
    for diag in (None, RunDiagnostics(level="basic")):
        view = _shown(qtbot, diag)
        assert not view.has_data()
        assert view.message.isVisible() and view.message.text() == NO_DIAGNOSTICS
        assert not view.tabs.isVisible()
    view.set_diagnostics(synthetic_cnn_diagnostics(), "again")
    assert view.has_data() and view.tabs.isVisible()


def test_dialog_and_theme_switch(qtbot: Any) -> None:
    dialog = DiagnosticsDialog(synthetic_cnn_diagnostics(), "cnn-digits", theme="light")
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Diagnostics — cnn-digits"
    assert [dialog.view.tabs.tabText(i) for i in range(4)] == list(TABS)
    dialog.view.set_theme("dark")
    assert dialog.view.grad_map.image.image.shape == (4, 50)


def test_a_deep_model_names_every_kth_layer_so_names_do_not_overlap(qtbot: Any) -> None:
    layers = [f"block{i // 3}/conv{i % 3}" for i in range(96)]
    none = [None] * len(layers)
    records = [LayerStats(step, layers, [0.1 * (i + 1) for i in range(96)], none, none, none, none, none, none)
               for step in (10, 20, 30)]
    view = _shown(qtbot, RunDiagnostics(layers=records))
    major, minor = view.grad_map.widget.getPlotItem().getAxis("left")._tickLevels
    assert len(major) == 32 and len(major) + len(minor) == 96
    assert view.grad_map.image.image.shape == (96, 3)


def test_the_runs_dock_opens_a_real_runs_diagnostics_and_says_when_a_run_has_none(qtbot: Any, tmp_path) -> None:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run
    from neuralforge_desktop.ui.training.runs_panel import RunsPanel
    from tests.training_graphs import digits_mlp

    store = Store(tmp_path / "store.db")
    ids = {}
    for level in ("full", "off"):
        graph = digits_mlp(dropout=0.0)
        cfg = TrainConfig(dataset="digits", limit=160, epochs=1, batch_size=16, seed=0, threads=1, diagnostics=level)
        run_id, folder = prepare_run(graph, cfg, store, "views", f"diag-{level}")
        assert Trainer(graph, cfg, run_id, folder, lambda event: None, store).run().status == "finished"
        ids[level] = run_id
    store.close()
    runs = RunsPanel(tmp_path / "store.db")
    qtbot.addWidget(runs)
    assert not runs.diagnostics_button.isEnabled()  # no run selected yet
    runs.select_runs([ids["full"]])
    assert runs.diagnostics_button.isEnabled()
    dialog = runs.open_diagnostics()
    assert dialog is not None
    qtbot.addWidget(dialog)
    view = dialog.view
    assert view.has_data() and view.grad_layers == ["fc1", "fc2"]
    assert view.grad_map.image.image.shape[0] == 2 and np.isfinite(view.grad_map.image.image).any()
    assert [view.layer_combo.itemText(i) for i in range(view.layer_combo.count())] == ["fc1", "fc2"]
    runs.select_runs([ids["off"]])
    dialog = runs.open_diagnostics()
    qtbot.addWidget(dialog)
    assert not dialog.view.has_data() and dialog.view.message.text() == NO_DIAGNOSTICS
