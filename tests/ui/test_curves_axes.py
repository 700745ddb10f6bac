"""The training curves read as numbers a person can quote: a loss of 0.2–0.6 is labelled 0.2–0.6, the step
axis starts at the first step, and the legends sit beside the data, never over the newest points."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pyqtgraph")

from neuralforge_desktop.core.training.events import EpochEvent, StepEvent
from neuralforge_desktop.ui.training import CurvesWidget


def test_loss_axis_has_no_si_scaling_starts_at_step_zero_and_legend_clears_the_data(qtbot: Any) -> None:
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    curves.resize(700, 500)
    curves.show()
    qtbot.waitExposed(curves)
    for step in range(1, 301):
        loss = 0.6 - 0.4 * step / 300
        curves.add_event(StepEvent(epoch=step // 100, step=step, loss=loss))
        if step % 100 == 0:
            curves.add_event(EpochEvent(epoch=step // 100, step=step, metrics={
                "train/loss": loss, "val/loss": loss + 0.02, "train/acc": 0.5 + step / 1000,
                "val/acc": 0.48 + step / 1000}))
    curves.flush()
    qtbot.wait(50)
    for key in ("loss", "acc"):
        item = curves.plot_widget(key).getPlotItem()
        axis = item.getAxis("left")
        assert "x0.001" not in axis.labelString() and axis.autoSIPrefixScale == 1.0
        view = item.getViewBox()
        assert view.viewRange()[0][0] >= 0.0  # no negative steps from auto-range padding
        # The newest points (step 300) are inside the data area; the legend is wholly outside it.
        legend = item.legend
        assert legend.isVisible()
        assert not legend.sceneBoundingRect().intersects(view.sceneBoundingRect())
    loss_axis = curves.plot_widget("loss").getPlotItem().getAxis("left")
    low, high = curves.plot_widget("loss").getPlotItem().getViewBox().viewRange()[1]
    assert 0.1 < low < 0.25 and 0.55 < high < 0.7  # the axis spans the values themselves
    ticks = [float(t) for level in loss_axis.tickValues(low, high, 300) for t in
             loss_axis.tickStrings(level[1], loss_axis.autoSIPrefixScale, level[0])]
    assert ticks and all(0.1 <= t <= 0.7 for t in ticks)


def test_cleared_curves_hide_the_legend_strip(qtbot: Any) -> None:
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    curves.add_event(StepEvent(epoch=0, step=1, loss=0.5))
    curves.flush()
    assert curves.plot_widget("loss").getPlotItem().legend.isVisible()
    curves.clear()
    assert not curves.plot_widget("loss").getPlotItem().legend.isVisible()
