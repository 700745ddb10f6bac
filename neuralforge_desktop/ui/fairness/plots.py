"""The Fairness view's plots, fed a column report of ``evaluate_fairness``: one bar chart per rate (accuracy,
selection rate, TPR, FPR) with the bootstrap interval as whiskers, optionally with the "after mitigation"
bars beside, and the reliability curves per group. Groups with too few examples get no bar."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.theme import PlotColors
from neuralforge_desktop.ui.training.diagnostics_plots import apply_theme

GROUP_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")
RATE_TITLES = {"accuracy": "Accuracy", "selection_rate": "Selection rate", "tpr": "True positive rate",
               "fpr": "False positive rate"}


def _plot(parent: QWidget, colors: PlotColors, title: str, name: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(parent)
    widget.setObjectName(name)
    item = widget.getPlotItem()
    item.setTitle(title)
    item.showGrid(y=True, alpha=0.15)
    item.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    apply_theme(widget, colors)
    return widget


def _bars(report: dict[str, Any], rate: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(group names, values, lower whisker lengths, upper whisker lengths); too-small groups are NaN."""
    names, values, low, high = [], [], [], []
    for group in report["groups"]:
        cell = group["metrics"][rate]
        names.append(str(group["group"]))
        value = cell.get("value", np.nan)
        ci = cell.get("ci") or (value, value)
        values.append(value)
        low.append(value - ci[0])
        high.append(ci[1] - value)
    return names, np.array(values, dtype=float), np.array(low, dtype=float), np.array(high, dtype=float)


class RatePlot:
    """Bars per group for one rate; ``after`` (a mitigated column report) draws a second bar per group."""

    def __init__(self, parent: QWidget, colors: PlotColors, rate: str) -> None:
        self.rate = rate
        self.colors = colors
        self.widget = _plot(parent, colors, RATE_TITLES[rate], f"fairness_{rate}")
        self.widget.getPlotItem().setYRange(0, 1.25)  # room above the bars for the legend
        self.legend = self.widget.getPlotItem().addLegend(offset=(-8, 8))
        self.items: list[Any] = []
        self.values: dict[str, dict[str, float]] = {}  # series ("before"/"after") → group → value

    def update(self, report: dict[str, Any], after: dict[str, Any] | None = None) -> None:
        item = self.widget.getPlotItem()
        for old in self.items:
            item.removeItem(old)
        self.items = []
        self.values = {}
        self.legend.clear()
        series = [("before" if after else "all rows", report, self.colors.accent)]
        if after:
            series.append(("after", after, self.colors.ok))
        width = 0.8 / len(series)
        names: list[str] = []
        for k, (label, column, color) in enumerate(series):
            names, values, low, high = _bars(column, self.rate)
            x = np.arange(len(names)) - 0.4 + width * (k + 0.5)
            shown = np.isfinite(values)
            bars = pg.BarGraphItem(x=x[shown], height=values[shown], width=width * 0.9, brush=color)
            whiskers = pg.ErrorBarItem(x=x[shown], y=values[shown], top=high[shown], bottom=low[shown],
                                       beam=width * 0.3, pen=pg.mkPen(self.colors.text, width=1.5))
            for part in (bars, whiskers):
                item.addItem(part)
                self.items.append(part)
            if after:
                self.legend.addItem(bars, f"{label} mitigation")
            self.values[label] = {n: float(v) for n, v in zip(names, values, strict=True) if np.isfinite(v)}
        self.legend.setColumnCount(2)
        axis = item.getAxis("bottom")
        axis.setTicks([[(i, f"{n}" if all(n in s for s in self.values.values()) else f"{n} (too few)")
                        for i, n in enumerate(names)]])
        item.setXRange(-0.6, len(names) - 0.4, padding=0)


class ReliabilityPlot:
    """Observed rate against mean predicted probability, one curve per group, and the diagonal."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.colors = colors
        self.widget = _plot(parent, colors, "Calibration (reliability) per group", "fairness_calibration")
        item = self.widget.getPlotItem()
        item.setLabel("bottom", "mean predicted probability")
        item.setLabel("left", "observed rate")
        item.setRange(xRange=(0, 1), yRange=(0, 1))
        self.legend = item.addLegend(offset=(8, 8))
        self.diagonal = item.plot([0, 1], [0, 1], pen=pg.mkPen(colors.muted, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.curves: dict[str, Any] = {}

    def update(self, report: dict[str, Any]) -> None:
        item = self.widget.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
        self.legend.clear()
        self.curves = {}
        for i, group in enumerate(g for g in report["groups"] if "calibration" in g):
            cal = group["calibration"]
            color = GROUP_COLORS[i % len(GROUP_COLORS)]
            self.curves[str(group["group"])] = item.plot(
                cal["prob_pred"], cal["prob_true"], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                symbolBrush=color, name=f"{group['group']} (ECE {cal['ece']:.3f})")
