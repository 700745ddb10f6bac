"""The Cost view's charts: spend over time stacked by group, ROI scatter with its Pareto front, weekly GPU-hours
per host with the forecast and its band, and host utilisation bars. Each is rebuilt from a core report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.theme import PlotColors
from neuralforge_desktop.ui.training.diagnostics_plots import apply_theme

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")
STACKED = 7  # groups drawn one by one; the rest share one "other" layer


def _plot(parent: QWidget, colors: PlotColors, title: str, name: str, *, dates: bool = False) -> pg.PlotWidget:
    axes = {"bottom": pg.DateAxisItem()} if dates else {}
    widget = pg.PlotWidget(parent, axisItems=axes)
    widget.setObjectName(name)
    item = widget.getPlotItem()
    item.setTitle(title)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.getAxis("left").enableAutoSIPrefix(False)
    item.getAxis("bottom").enableAutoSIPrefix(False)
    item.getAxis("left").setWidth(56)
    item.setMenuEnabled(False)
    widget.setMinimumHeight(200)
    apply_theme(widget, colors)
    return widget


class _Chart:
    """A plot whose data items are replaced wholesale on every update."""

    def __init__(self, widget: pg.PlotWidget, colors: PlotColors) -> None:
        self.widget = widget
        self.colors = colors
        self.items: list[Any] = []
        self.legend = widget.getPlotItem().addLegend(offset=(6, 6), labelTextSize="8pt")

    def clear(self) -> None:
        item = self.widget.getPlotItem()
        for old in self.items:
            item.removeItem(old)
        self.items = []
        self.legend.clear()

    def add(self, part: Any, legend: str | None = None) -> Any:
        self.widget.getPlotItem().addItem(part)
        self.items.append(part)
        if legend:
            self.legend.addItem(part, legend)
        return part

    def finish(self) -> None:
        apply_theme(self.widget, self.colors)
        self.legend.setVisible(bool(self.legend.items))


class SpendPlot(_Chart):
    """Cost (or GPU-hours) per bucket, one stacked layer per group."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        super().__init__(_plot(parent, colors, "Spend over time", "cost_spend"), colors)
        self.legend.setColumnCount(2)
        self.layers: dict[str, np.ndarray] = {}

    def update(self, report: Any, measure: str) -> None:
        self.clear()
        self.layers = {}
        item = self.widget.getPlotItem()
        what = {"project": "project", "experiment": "experiment", "user": "user", "host": "host"}[report.by]
        unit = "cost (host rates' currency)" if measure == "cost" else "GPU-hours"
        item.setTitle(f"Spend over time per {report.bucket}, by {what}")
        item.setLabel("left", unit)
        item.setLabel("bottom", f"{report.bucket} starting")
        if not report.buckets:
            return
        starts = np.array([b.start for b in report.buckets])
        widths = np.array([b.end - b.start for b in report.buckets]) * 0.8
        centres = starts + widths / 0.8 / 2
        layers = [(s.key, np.array(s.cost if measure == "cost" else s.gpu_hours)) for s in report.series]
        if len(layers) > STACKED:
            rest = np.sum([v for _, v in layers[STACKED:]], axis=0)
            layers = [*layers[:STACKED], (f"other ({len(layers) - STACKED})", rest)]
        base = np.zeros(len(starts))
        for index, (key, values) in enumerate(layers):
            color = PALETTE[index % len(PALETTE)]
            self.add(pg.BarGraphItem(x=centres, y0=base.copy(), height=values, width=widths, brush=color,
                                     pen=pg.mkPen(self.colors.background, width=0.5)), key)
            self.layers[key] = values
            base = base + values
        fmt = "%b %Y" if report.bucket == "month" else "%d %b"
        every = max(1, -(-len(starts) // 9))  # at most 9 labels, so they never run into each other
        item.getAxis("bottom").setTicks([[(float(c), dt.datetime.fromtimestamp(b.start).strftime(fmt))
                                          for c, b in list(zip(centres, report.buckets, strict=True))[::every]], []])
        item.setXRange(starts[0], starts[-1] + widths[-1] / 0.8, padding=0.02)
        item.setYRange(0, max(float(base.max()), 1e-9) * 1.15, padding=0)
        self.finish()


class RoiPlot(_Chart):
    """Each run's best accuracy against its compute, coloured by project, and the Pareto front as a staircase."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        super().__init__(_plot(parent, colors, "Accuracy against compute", "cost_roi"), colors)
        self.legend.setOffset((-6, -6))  # bottom right, below the runs: the y range leaves room there
        self.legend.setColumnCount(2)
        self.points = 0
        self.front: list[Any] = []

    def update(self, report: Any, project: str | None) -> None:
        self.clear()
        item = self.widget.getPlotItem()
        axis = report.axis
        item.setLabel("bottom", "cost per run (host rates' currency)" if axis == "cost" else "GPU-hours per run")
        item.setLabel("left", f"best {report.metric}")
        shown = [p for p in report.projects if project is None or p.project == project]
        self.points = 0
        for index, roi in enumerate(report.projects):
            if roi not in shown or not roi.points:
                continue
            color = PALETTE[index % len(PALETTE)]
            x = [p.compute(axis) for p in roi.points]
            y = [p.accuracy for p in roi.points]
            self.add(pg.ScatterPlotItem(x=x, y=y, size=7, brush=pg.mkBrush(color + "c0"), pen=pg.mkPen(None)),
                     roi.project)
            self.points += len(x)
            if project is None and len(roi.front) > 1:  # each project's own front, in its colour
                self.add(pg.PlotDataItem(*_staircase(roi.front, axis), pen=pg.mkPen(color + "a0", width=1)))
        front = list(report.front) if project is None else next((p.front for p in shown), [])
        self.front = list(front)
        if front:
            fx = [p.compute(axis) for p in front]
            fy = [p.accuracy for p in front]
            self.add(pg.PlotDataItem(*_staircase(front, axis), pen=pg.mkPen(self.colors.text, width=1.5,
                                                                              style=Qt.PenStyle.DashLine)),
                     "Pareto front" + (" (all projects)" if project is None else ""))
            self.add(pg.ScatterPlotItem(x=fx, y=fy, size=10, brush=pg.mkBrush(None),
                                        pen=pg.mkPen(self.colors.text, width=1.5)))
        accuracies = [p.accuracy for roi in shown for p in roi.points]
        if accuracies:
            low, high = min(accuracies), max(accuracies)
            item.setYRange(low - 0.45 * (high - low + 1e-3), high + 0.05 * (high - low + 1e-3), padding=0)
        item.setTitle("Accuracy against compute" + (f": {project}" if project else ", all projects"))
        self.finish()


def _staircase(front: Any, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """The front as steps: between two front runs, the best accuracy that compute buys is the cheaper run's."""
    fx = [p.compute(axis) for p in front]
    fy = [p.accuracy for p in front]
    return np.repeat(fx, 2)[1:], np.repeat(fy, 2)[:-1]


class CapacityPlot(_Chart):
    """One host's weekly GPU-hours: history, forecast and its band."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        super().__init__(_plot(parent, colors, "Weekly GPU-hours and forecast", "cost_capacity", dates=True), colors)
        self.history = 0
        self.forecast = 0

    def update(self, host: Any | None, band_level: float) -> None:
        self.clear()
        item = self.widget.getPlotItem()
        item.setLabel("left", "GPU-hours per week")
        item.setLabel("bottom", "week starting")
        self.history = self.forecast = 0
        if host is None:
            return
        item.setTitle(f"Weekly GPU-hours: {host.host}")
        x = np.array(host.week_starts) + 3.5 * 86400  # the middle of each week
        if host.weekly_capacity:
            limit = pg.InfiniteLine(pos=host.weekly_capacity, angle=0, movable=False,
                                    pen=pg.mkPen(self.colors.error, width=1, style=Qt.PenStyle.DotLine),
                                    label=f"GPU capacity {host.weekly_capacity:,.0f} a week",
                                    labelOpts={"position": 0.40, "color": self.colors.muted,
                                               "anchors": [(0, 1), (0, 1)]})
            self.add(limit)
        self.add(pg.PlotDataItem(x, np.array(host.gpu_hours), pen=pg.mkPen(self.colors.accent, width=2),
                                 symbol="o", symbolSize=5, symbolBrush=self.colors.accent, symbolPen=None), "used")
        self.history = len(x)
        if host.forecast is not None:
            f = host.forecast
            fx = np.concatenate([[x[-1]], np.array(host.forecast_starts) + 3.5 * 86400])
            last = host.gpu_hours[-1]
            lower = pg.PlotCurveItem(fx, np.array([last, *f.lower]), pen=pg.mkPen(self.colors.warning + "60"))
            upper = pg.PlotCurveItem(fx, np.array([last, *f.upper]), pen=pg.mkPen(self.colors.warning + "60"))
            band = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(self.colors.warning + "40"))
            self.add(lower)
            self.add(upper, f"{band_level:.0%} band")  # a legend sample of the fill itself crashes pyqtgraph
            self.add(band)
            self.add(pg.PlotDataItem(fx, np.array([last, *f.mean]), pen=pg.mkPen(
                self.colors.warning, width=2, style=Qt.PenStyle.DashLine)), "forecast")
            self.forecast = len(f.mean)
        self.finish()


class UtilisationPlot(_Chart):
    """Horizontal bars: each host's GPU-hours as a share of what its GPUs could give."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        super().__init__(_plot(parent, colors, "Host utilisation", "cost_utilisation"), colors)
        self.widget.getPlotItem().getAxis("left").setWidth(76)
        self.values: dict[str, float] = {}

    def update(self, report: Any, span: str) -> None:
        self.clear()
        item = self.widget.getPlotItem()
        item.setTitle(f"Host utilisation, {span}")
        item.setLabel("bottom", "utilisation (% of GPUs × hours)")
        rows = [u for u in report.utilisation if u.utilisation is not None]
        self.values = {u.host: 100.0 * float(u.utilisation) for u in rows}
        if not rows:
            return
        y = np.arange(len(rows))[::-1]
        values = np.array([self.values[u.host] for u in rows])
        self.add(pg.BarGraphItem(x0=np.zeros(len(rows)), y=y, width=values, height=0.6, brush=self.colors.accent))
        for yi, u, v in zip(y, rows, values, strict=True):
            label = pg.TextItem(f"{v:.0f} % of {u.gpus} GPUs", color=self.colors.text, anchor=(0, 0.5))
            label.setPos(float(v), float(yi))
            self.add(label)
        item.getAxis("left").setTicks([[(float(yi), u.host) for yi, u in zip(y, rows, strict=True)]])
        item.setXRange(0, max(100.0, float(values.max()) * 1.1), padding=0)
        item.setYRange(-0.6, len(rows) - 0.4, padding=0)
        self.finish()
