"""The Sweep view's four plots, each fed the summary dict a sweep's results give (``sweep show --json``):
the best objective so far, parameter importance, parallel coordinates and the objective against a cost (Pareto
front marked). Items are made once and updated with ``setData`` where their number does not change; the
per-trial lines of the parallel coordinates are re-made only when another trial completed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.theme import PlotColors
from neuralforge_desktop.ui.training.diagnostics_plots import COLOR_MAP, apply_theme, themed_plot

COST_AXES = {"macs": "MACs per example", "params": "parameters", "latency_ms": "est. latency (ms)"}


class BestSoFarPlot:
    """Each completed trial's objective (dots) and the best so far (a line), over the trial number."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.widget = themed_plot(parent, colors, "objective", "trial")
        self.widget.setObjectName("sweep_best_so_far")
        self.widget.getPlotItem().setTitle("Best so far")
        self.values = self.widget.plot([], [], pen=None, symbol="o", symbolSize=7, name="trial")
        self.best = self.widget.plot([], [], symbol=None, name="best so far")  # as Optuna draws its history
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        apply_theme(self.widget, colors)
        self.values.setSymbolBrush(pg.mkBrush(colors.muted))
        self.values.setSymbolPen(pg.mkPen(None))
        self.best.setPen(pg.mkPen(colors.accent, width=2.5))

    def update(self, summary: Mapping[str, Any]) -> None:
        series = summary.get("best_so_far") or []
        x = np.array([p["trial"] for p in series], dtype=float)
        self.values.setData(x, np.array([p["value"] for p in series], dtype=float))
        self.best.setData(x, np.array([p["best"] for p in series], dtype=float))
        self.widget.getPlotItem().setLabel("left", summary.get("objectives", ["objective"])[0])


class ImportancePlot:
    """Horizontal bars: Optuna's importance of each searched setting, the most important on top."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.widget = themed_plot(parent, colors, "", "importance")
        self.widget.setObjectName("sweep_importance")
        self.widget.getPlotItem().setTitle("Parameter importance")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[])
        self.widget.addItem(self.bars)
        self.note = pg.TextItem("", anchor=(0.5, 0.5))
        self.widget.addItem(self.note)
        self._colors = colors
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        self._colors = colors
        apply_theme(self.widget, colors)
        self.bars.setOpts(brush=pg.mkBrush(colors.accent), pen=pg.mkPen(None))
        self.note.setColor(colors.muted)

    def update(self, summary: Mapping[str, Any]) -> None:
        found: dict[str, float] = summary.get("importance") or {}
        names = list(reversed(list(found)))  # pyqtgraph's y grows upwards: the largest last, on top
        values = [found[n] for n in names]
        self.bars.setOpts(x0=[0.0] * len(names), y=list(range(len(names))), width=values, height=0.6)
        self.widget.getPlotItem().getAxis("left").setTicks([list(enumerate(names))])
        self.note.setText("" if found else f"importance {summary.get('importance_note') or 'not known yet'}")
        self.note.setPos(0.5, 0.5)
        if found:
            self.widget.getPlotItem().setXRange(0, max(values) * 1.05, padding=0)
            self.widget.getPlotItem().setYRange(-0.5, len(names) - 0.5, padding=0.05)


def axis_positions(space: Mapping[str, Any], name: str, values: Sequence[Any]) -> list[float]:
    """Trial values of one searched setting placed on a 0..1 axis: a range by its bounds (a log range on a log
    scale), a choice by its index among the choices."""
    spec = space.get(name)
    if isinstance(spec, list):
        index = {repr(c): i for i, c in enumerate(spec)}
        span = max(len(spec) - 1, 1)
        return [index.get(repr(v), 0) / span for v in values]
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, bounds), = spec.items()
        low, high = float(bounds[0]), float(bounds[1])
        if kind == "log_uniform" and low > 0:
            return [(math.log(float(v)) - math.log(low)) / (math.log(high) - math.log(low)) for v in values]
        return [(float(v) - low) / (high - low) if high > low else 0.5 for v in values]
    return [0.5 for _ in values]


def choice_ticks(space: Mapping[str, Any], name: str) -> str:
    """The ends of an axis in words, for its label: ``adam … sgd`` or ``0.001 … 0.03``."""
    spec = space.get(name)
    if isinstance(spec, list):
        return " · ".join(str(c) for c in spec)
    if isinstance(spec, dict) and len(spec) == 1:
        (_kind, bounds), = spec.items()
        return f"{float(bounds[0]):g} … {float(bounds[1]):g}"
    return ""


class ParallelCoordinatesPlot:
    """One polyline per completed trial across the searched settings (each on its own 0..1 axis) and the
    objective, coloured by the objective (viridis: bright is high)."""

    def __init__(self, parent: QWidget, colors: PlotColors) -> None:
        self.widget = themed_plot(parent, colors, "position in range", "")
        self.widget.setObjectName("sweep_parallel")
        self.widget.getPlotItem().setTitle("Parallel coordinates")
        self.lines: list[pg.PlotDataItem] = []
        self.axes: list[pg.InfiniteLine] = []
        self._shown: tuple[Any, ...] = ()
        self._colors = colors

    def set_colors(self, colors: PlotColors) -> None:
        self._colors = colors
        apply_theme(self.widget, colors)
        for line in self.axes:
            line.setPen(pg.mkPen(colors.muted, width=1))

    def update(self, summary: Mapping[str, Any], space: Mapping[str, Any]) -> None:
        data = summary.get("parallel_coordinates") or {}
        names: list[str] = list(data.get("params") or [])
        rows = data.get("rows") or []
        key = (tuple(names), tuple((r["trial"], r["value"]) for r in rows))
        if key == self._shown:
            return
        self._shown = key
        plot = self.widget.getPlotItem()
        for item in [*self.lines, *self.axes]:
            plot.removeItem(item)
        self.lines, self.axes = [], []
        columns = [axis_positions(space, n, [r["params"].get(n) for r in rows]) for n in names]
        values = np.array([r["value"] for r in rows], dtype=float)
        low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
        columns.append([(v - low) / (high - low) if high > low else 0.5 for v in values])
        colormap = pg.colormap.get(COLOR_MAP)
        for i, value in enumerate(values):
            shade = (value - low) / (high - low) if high > low else 1.0
            pen = pg.mkPen(colormap.map(0.15 + 0.85 * shade, mode="qcolor"), width=2)
            line = pg.PlotDataItem(list(range(len(columns))), [c[i] for c in columns], pen=pen)
            plot.addItem(line)
            self.lines.append(line)
        for x in range(len(columns)):
            axis = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen(self._colors.muted, width=1))
            plot.addItem(axis)
            self.axes.append(axis)
        objective = summary.get("objectives", ["objective"])[0]
        labels = [f"{n}\n{choice_ticks(space, n)}" for n in names] + [f"{objective}\n{low:.3g} … {high:.3g}"]
        plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        plot.getAxis("bottom").setHeight(48)  # two lines under each axis: its name and its range
        plot.setXRange(-0.3, len(columns) - 0.7, padding=0)
        plot.setYRange(-0.05, 1.05, padding=0)


class ParetoPlot:
    """Completed trials' objective against a cost (MACs, params or latency); the Pareto front joined."""

    def __init__(self, parent: QWidget, colors: PlotColors, cost: str = "macs") -> None:
        self.cost = cost
        self.widget = themed_plot(parent, colors, "objective", COST_AXES[cost])
        self.widget.setObjectName("sweep_pareto")
        self.widget.getPlotItem().setTitle("Objective against cost (Pareto front)")
        self.trials = self.widget.plot([], [], pen=None, symbol="o", symbolSize=7)
        self.front = self.widget.plot([], [], symbol="s", symbolSize=9)
        self._summary: Mapping[str, Any] = {}
        self.set_colors(colors)

    def set_colors(self, colors: PlotColors) -> None:
        apply_theme(self.widget, colors)
        self.trials.setSymbolBrush(pg.mkBrush(colors.muted))
        self.trials.setSymbolPen(pg.mkPen(None))
        self.front.setPen(pg.mkPen(colors.accent, width=2))
        self.front.setSymbolBrush(pg.mkBrush(colors.accent))
        self.front.setSymbolPen(pg.mkPen(None))

    def set_cost(self, cost: str) -> None:
        self.cost = cost
        self.widget.getPlotItem().setLabel("bottom", COST_AXES[cost])
        self.update(self._summary)

    def points(self, trials: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        kept = [t for t in trials if t.get("state") == "complete" and (t.get("cost") or {}).get(self.cost)
                is not None]
        kept.sort(key=lambda t: t["cost"][self.cost])
        return (np.array([t["cost"][self.cost] for t in kept], dtype=float),
                np.array([t["value"] for t in kept], dtype=float))

    def update(self, summary: Mapping[str, Any]) -> None:
        self._summary = summary
        self.trials.setData(*self.points(summary.get("trials") or []))
        self.front.setData(*self.points(summary.get("pareto_front") or []))
        self.widget.getPlotItem().setLabel("left", (summary.get("objectives") or ["objective"])[0])
