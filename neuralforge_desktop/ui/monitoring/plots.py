"""The Monitoring view's plots, each fed the dict ``monitor_report`` returns: latency percentiles over time,
throughput, traffic per version and drift over time. Curves are made once and updated with ``setData``;
a version seen for the first time gets its own curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.theme import PlotColors
from neuralforge_desktop.ui.training.diagnostics_plots import apply_theme

VERSION_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")


def time_plot(parent: QWidget, colors: PlotColors, title: str, left: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(parent, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
    item = widget.getPlotItem()
    item.setTitle(title)
    item.setLabel("left", left)
    item.getAxis("left").enableAutoSIPrefix(False)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.addLegend(offset=(8, 8))
    item.getViewBox().setMouseMode(pg.ViewBox.RectMode)
    apply_theme(widget, colors)
    return widget


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _centres(series: Mapping[str, Any]) -> np.ndarray:
    return np.array(series.get("start", []), dtype=float) + float(series.get("bucket_seconds", 0.0)) / 2


class LatencyPlot:
    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.widget = time_plot(parent, colors, "Latency", "ms")
        self.widget.setObjectName("monitor_latency")
        self.curves = {p: self.widget.plot([], [], name=p, connect="finite") for p in ("p50", "p95", "p99")}
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        apply_theme(self.widget, colors)
        for (name, curve), color in zip(self.curves.items(), (colors.ok, colors.warning, colors.error), strict=True):
            curve.setPen(pg.mkPen(color, width=2 if name == "p99" else 1.5))

    def update(self, report: Mapping[str, Any]) -> None:
        series = report["over_time"]
        x = _centres(series)
        for name, curve in self.curves.items():
            curve.setData(x, _floats(series.get(name, [])))


class ThroughputPlot:
    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.widget = time_plot(parent, colors, "Throughput and errors", "requests/s")
        self.widget.setObjectName("monitor_throughput")
        self.rate = self.widget.plot([], [], name="requests/s")
        self.errors = self.widget.plot([], [], name="failed/s", connect="finite")
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        apply_theme(self.widget, colors)
        self.rate.setPen(pg.mkPen(colors.accent, width=2))
        self.rate.setFillLevel(0)
        self.rate.setBrush(pg.mkBrush(colors.accent + "30"))
        self.errors.setPen(pg.mkPen(colors.error, width=1.5))

    def update(self, report: Mapping[str, Any]) -> None:
        series = report["over_time"]
        x = _centres(series)
        rate = _floats(series.get("throughput", []))
        errors = rate * np.nan_to_num(_floats(series.get("error_rate", [])))
        self.rate.setData(x, rate)
        self.errors.setData(x, errors)


class PerVersionPlot:
    """One curve per version (requests/s of each, or the latest drift PSI of each), plus an optional
    threshold line."""

    def __init__(self, parent: QWidget, colors: PlotColors, title: str, left: str, name: str,
                 threshold: float | None = None) -> None:
        self.widget = time_plot(parent, colors, title, left)
        self.widget.setObjectName(name)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.threshold = None
        if threshold is not None:
            self.threshold = pg.InfiniteLine(pos=threshold, angle=0, movable=False,
                                             label=f"alert at {threshold:g}",
                                             labelOpts={"position": 0.9, "anchors": [(1, 1), (1, 1)]})
            self.widget.addItem(self.threshold)
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        apply_theme(self.widget, colors)
        if self.threshold is not None:
            self.threshold.setPen(pg.mkPen(colors.error, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
            self.threshold.label.setColor(colors.muted)

    def curve(self, version: str) -> pg.PlotDataItem:
        if version not in self.curves:
            color = VERSION_COLORS[len(self.curves) % len(VERSION_COLORS)]
            self.curves[version] = self.widget.plot([], [], name=f"v{version}", symbol="o", symbolSize=4,
                                                    pen=pg.mkPen(color, width=2), symbolBrush=pg.mkBrush(color),
                                                    symbolPen=pg.mkPen(None))
        return self.curves[version]

    def set_series(self, series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        for version in sorted(series):
            x, y = series[version]
            self.curve(version).setData(x, y)
        for version, curve in self.curves.items():
            if version not in series:
                curve.setData([], [])


def traffic_series(report: Mapping[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    series = report["over_time"]
    x = _centres(series)
    seconds = np.array(series.get("seconds", []), dtype=float)
    return {v: (x, np.array(counts, dtype=float) / seconds) for v, counts in series.get("per_version", {}).items()}


def drift_series(report: Mapping[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    found: dict[str, tuple[list[float], list[float]]] = {}
    for entry in report["drift"]["history"]:
        xs, ys = found.setdefault(str(entry["version"]), ([], []))
        xs.append(float(entry["time"]))
        ys.append(np.nan if entry["max_psi"] is None else float(entry["max_psi"]))
    return {v: (np.array(xs), np.array(ys)) for v, (xs, ys) in found.items()}
