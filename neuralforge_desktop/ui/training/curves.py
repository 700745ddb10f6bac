"""Training curves: loss and accuracy (or, for a language model, perplexity) over the global step, live from
worker events or overlaid from the store.

Long runs log hundreds of thousands of points, so the widget is built to stream:

- every series owns preallocated numpy buffers that grow by doubling; an append copies only the new points;
- every series is one PlotDataItem for its whole life, updated in place with ``setData`` (creating and
  removing items is what makes pyqtgraph stutter);
- the plots clip to the visible x range and peak-downsample to the pixel width, so a repaint costs about the
  same at 1k and at 1M points;
- appends only mark a series dirty; a single-shot timer pushes dirty series to their items at most every
  ``REDRAW_MS``, so a burst of step events costs one redraw, not one per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from neuralforge_desktop.core.training.events import EpochEvent, Event, StartedEvent, StepEvent
from neuralforge_desktop.ui.theme import DEFAULT_THEME, RUN_COLORS, PlotColors, plot_colors

REDRAW_MS = 50
LIVE = ""  # run label of the live series (the run the train panel is following)
# Past this many points a series drops its markers and switches to a 1-px pen: markers only cost paint time
# there, and Qt strokes wide (especially dashed) pens of thousands of segments many times slower than 1-px ones.
HEAVY_POINTS = 400
# Peak downsampling keeps a min and a max per bin; 2 bins per pixel is already exact to the eye (pyqtgraph's
# default of 5 draws 2.5× more segments for nothing).
DOWNSAMPLE_FACTOR = 2.0
LEGEND_COLUMNS = 4  # legend entries per row in the strip above each plot

# Live series: metric name → (legend text, plot, colour role, marker, width)
_LIVE_SERIES: dict[str, tuple[str, str, str, str | None, float]] = {
    "train/loss_step": ("train loss (steps)", "loss", "train_step", None, 1.0),
    "train/loss": ("train loss", "loss", "train", "o", 2.0),
    "val/loss": ("val loss", "loss", "val", "o", 2.0),
    "train/acc": ("train acc", "acc", "train", "o", 2.0),
    "val/acc": ("val acc", "acc", "val", "o", 2.0),
    "train/perplexity": ("train perplexity", "ppl", "train", "o", 2.0),
    "val/perplexity": ("val perplexity", "ppl", "val", "o", 2.0),
}
# The plots under the loss: key → (axis title, unit, log y axis). A language model has no accuracy to show; its
# quality plot is perplexity, on a log axis (it falls from about the vocabulary size to single digits).
_METRIC_PLOTS: dict[str, tuple[str, str, bool]] = {"acc": ("Accuracy", "%", False), "ppl": ("Perplexity", "", True)}
LANGUAGE_MODELING = "language-modeling"


class _Buffer:
    """x/y points in arrays with spare room; ``extend`` doubles the capacity when it runs out."""

    __slots__ = ("n", "x", "y")

    def __init__(self, capacity: int = 256) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def extend(self, xs: Any, ys: Any) -> None:
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        count = min(len(xs), len(ys))
        end = self.n + count
        if end > len(self.x):
            capacity = max(len(self.x), 1)
            while capacity < end:
                capacity *= 2
            # Old data is copied once per doubling: amortised O(1) per point.
            self.x = np.resize(self.x, capacity)
            self.y = np.resize(self.y, capacity)
        self.x[self.n:end] = xs[:count]
        self.y[self.n:end] = ys[:count]
        self.n = end

    def clear(self) -> None:
        self.n = 0

    def views(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]


@dataclass
class _Series:
    run: str
    name: str
    plot: str  # "loss" | "acc"
    item: pg.PlotDataItem
    buffer: _Buffer = field(default_factory=_Buffer)
    dirty: bool = False
    heavy: bool = False  # drawn the cheap way (see HEAVY_POINTS)


def _plot_for(name: str) -> str:
    metric = name.rsplit("/", 1)[-1]
    if metric == "perplexity":
        return "ppl"
    return "acc" if metric.startswith(("acc", "top")) else "loss"


class _PlainLogAxis(pg.AxisItem):
    """A log axis labelled 5, 10, 20, 50, 100 … rather than 5·10⁰, 2·10¹ …: a perplexity is read as a plain
    number; the other minor ticks keep their grid line and lose their label."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        labels = []
        for value in 10 ** np.asarray(values, dtype=np.float64) * scale:
            mantissa = value / 10 ** np.floor(np.log10(value)) if value > 0 else 0.0
            labels.append(f"{value:.4g}" if round(mantissa, 6) in (1.0, 2.0, 5.0) else "")
        return labels


class CurvesWidget(QWidget):
    """Loss (top) and accuracy in % (bottom) against the global step, x axes linked. Perplexity series (a
    language model's) get a plot of their own, on a log axis, shown instead of the accuracy plot when no
    series needs that one (both when runs of each kind are overlaid).

    Live use: ``clear()`` then ``add_event(event)`` for each worker event. Comparing runs:
    ``add_series(run_label, name, steps, values)`` per run and metric (a colour per run; validation solid,
    training dashed); calling it again for the same run and name replaces that series' points in place.
    """

    def __init__(self, parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self._colors: PlotColors = plot_colors(theme)
        self._series: dict[tuple[str, str], _Series] = {}
        self._run_colors: dict[str, str] = {}
        self._plots: dict[str, pg.PlotWidget] = {}
        self._grids: dict[str, pg.GridItem] = {}
        self._expects_perplexity = False  # a language model's run has started: show its plot before the data
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        plots = [("loss", "Loss", "", False)] + [(key, *spec) for key, spec in _METRIC_PLOTS.items()]
        for key, title, unit, log_y in plots:
            widget = pg.PlotWidget(self, axisItems={"left": _PlainLogAxis("left")} if log_y else None)
            item = widget.getPlotItem()
            if log_y:
                item.setLogMode(y=True)
            item.setClipToView(True)
            item.setDownsampling(auto=True, mode="peak")
            # A GridItem, not the axes' grid: pyqtgraph's axis grid costs ~10 ms per repaint, this ~1 ms.
            grid = pg.GridItem(textPen=None)
            grid.setTickSpacing(x=[None, None], y=[None, None])  # two levels: major and tenths, no finer
            grid.setZValue(-100)
            item.addItem(grid, ignoreBounds=True)
            self._grids[key] = grid
            item.setLabel("left", title, units=unit or None)
            for axis in ("left", "bottom"):
                # A loss of 0.2–0.6 reads 0.2–0.6, not "Loss (x0.001)" with ticks 200–600.
                item.getAxis(axis).enableAutoSIPrefix(False)
            # Steps start at 0: auto-range padding would otherwise open the x axis at about −5 %.
            item.getViewBox().setLimits(xMin=0)
            self._add_legend_above(item)
            item.getViewBox().setMouseMode(pg.ViewBox.RectMode)  # drag a box to zoom; right-click resets
            widget.setMinimumHeight(120)
            self._plots[key] = widget
            layout.addWidget(widget, 1)
        for key in _METRIC_PLOTS:
            self._plots[key].setXLink(self._plots["loss"])
            self._plots[key].getPlotItem().setLabel("bottom", "step")
        self._show_metric_plots()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)
        self.set_theme(theme)

    # -- public ------------------------------------------------------------------------------------------
    def plot_widget(self, key: str) -> pg.PlotWidget:
        """The "loss", "acc" or "ppl" (perplexity) PlotWidget (for context menus or image export)."""
        return self._plots[key]

    def shown_plots(self) -> list[str]:
        """Keys of the plots on show, top to bottom."""
        return [key for key, widget in self._plots.items() if not widget.isHidden()]

    def clear(self) -> None:
        """Remove every series (a new run, or a new selection of runs)."""
        self._timer.stop()
        for series in self._series.values():
            self._plots[series.plot].getPlotItem().removeItem(series.item)
        self._series.clear()
        self._run_colors.clear()
        self._expects_perplexity = False
        for key, widget in self._plots.items():
            widget.getPlotItem().enableAutoRange()
            self._fit_legend_strip(key)
        self._show_metric_plots()

    def series_count(self) -> int:
        return len(self._series)

    def point_count(self, run_label: str | None = None, name: str | None = None) -> int:
        """Points held, over all series or those of one run label and/or metric name."""
        return sum(s.buffer.n for (run, metric), s in self._series.items()
                   if (run_label is None or run == run_label) and (name is None or metric == name))

    def series_data(self, run_label: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Copies of one series' steps and values (as plotted: accuracies in %)."""
        series = self._series.get((run_label, name))
        if series is None:
            return np.empty(0), np.empty(0)
        x, y = series.buffer.views()
        return x.copy(), y.copy()

    def add_event(self, event: Event) -> None:
        """Take one worker event: ``step`` adds to the per-step loss, ``epoch`` to the epoch-level series;
        ``started`` for a language model shows the perplexity plot in place of accuracy."""
        if isinstance(event, StepEvent):
            self._append(LIVE, "train/loss_step", [event.step], [event.loss])
        elif isinstance(event, StartedEvent):
            if event.dataset.get("task") == LANGUAGE_MODELING:
                self._expects_perplexity = True
                self._show_metric_plots()
        elif isinstance(event, EpochEvent):
            for name in _LIVE_SERIES:
                if name.endswith("_step"):
                    continue
                value = event.metrics.get(name)
                if value is not None:
                    self._append(LIVE, name, [event.step], [value])

    def add_series(self, run_label: str, name: str, steps: Sequence[float] | np.ndarray,
                   values: Sequence[float] | np.ndarray) -> None:
        """Show ``name`` of ``run_label`` with exactly these points (replacing any it had), drawn on the next
        redraw tick."""
        series = self._get(run_label, name)
        series.buffer.clear()
        self._extend(series, steps, values)

    def append(self, run_label: str, name: str, steps: Sequence[float] | np.ndarray,
               values: Sequence[float] | np.ndarray) -> None:
        """Add points to the end of a series (created on first use)."""
        self._append(run_label, name, steps, values)

    def remove_run(self, run_label: str) -> None:
        for key in [k for k in self._series if k[0] == run_label]:
            series = self._series.pop(key)
            self._plots[series.plot].getPlotItem().removeItem(series.item)
        self._run_colors.pop(run_label, None)
        for key in self._plots:
            self._fit_legend_strip(key)
        self._show_metric_plots()

    def runs(self) -> list[str]:
        return list(dict.fromkeys(run for run, _ in self._series))

    def flush(self) -> None:
        """Push every series with new points to its item now (the redraw timer calls this)."""
        self._timer.stop()
        for series in self._series.values():
            if not series.dirty:
                continue
            series.dirty = False
            if not series.heavy and series.buffer.n > HEAVY_POINTS:
                series.heavy = True
                self._style(series)
            x, y = series.buffer.views()
            series.item.setData(x, y)

    def set_theme(self, name: str) -> None:
        self._colors = c = plot_colors(name)
        self.setAutoFillBackground(True)  # the gap between the plots, in the plots' colour
        palette = self.palette()
        palette.setColor(self.backgroundRole(), pg.mkColor(c.background))
        self.setPalette(palette)
        for grid in self._grids.values():
            grid.setPen(pg.mkPen(c.muted + "30"))
        for widget in self._plots.values():
            widget.setBackground(c.background)
            item = widget.getPlotItem()
            for axis in ("left", "bottom"):
                ax = item.getAxis(axis)
                ax.setPen(pg.mkPen(c.muted))
                ax.setTextPen(pg.mkPen(c.text))
            legend = item.legend
            if legend is not None:
                legend.setBrush(pg.mkBrush(c.background + "d0"))
                legend.setPen(pg.mkPen(c.border))
                legend.setLabelTextColor(c.text)
        for series in self._series.values():
            self._style(series)

    # -- internals ---------------------------------------------------------------------------------------
    @staticmethod
    def _add_legend_above(item: pg.PlotItem) -> None:
        """A legend in a strip above the plot area (the hidden title's row), laid out in a row, so it never
        covers the newest points, wherever the curves go."""
        legend = pg.LegendItem(labelTextSize="8pt", colCount=LEGEND_COLUMNS, frame=False, verSpacing=-4)
        legend.setParentItem(item)
        legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-8, 0))
        item.legend = legend  # PlotItem.addItem adds every named series to it
        legend.hide()  # an empty legend would still take its strip: shown with the first series

    def _show_metric_plots(self) -> None:
        """Perplexity when a series (or a started language model) needs it; accuracy when a series needs it
        or nothing else is shown, as before any data; the lowest plot shown labels the step axis."""
        used = {s.plot for s in self._series.values()}
        perplexity = "ppl" in used or self._expects_perplexity
        self._plots["ppl"].setVisible(perplexity)
        self._plots["acc"].setVisible("acc" in used or not perplexity)
        self._plots["acc"].getPlotItem().showLabel("bottom", not perplexity)

    def _fit_legend_strip(self, key: str) -> None:
        item = self._plots[key].getPlotItem()
        shown = any(s.plot == key for s in self._series.values())
        item.legend.setVisible(shown)
        item.layout.setRowFixedHeight(0, item.legend.height() + 2 if shown else 0)

    def _append(self, run_label: str, name: str, steps: Sequence[float] | np.ndarray,
                values: Sequence[float] | np.ndarray) -> None:
        self._extend(self._get(run_label, name), steps, values)

    def _extend(self, series: _Series, steps: Any, values: Any) -> None:
        ys = np.asarray(values, dtype=np.float64)
        if series.plot == "acc":
            ys = ys * 100.0
        elif series.plot == "ppl":  # an infinite perplexity (a loss past 700) leaves a gap, not a broken axis
            ys = np.where(np.isfinite(ys), ys, np.nan)
        series.buffer.extend(steps, ys)
        series.dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def _get(self, run_label: str, name: str) -> _Series:
        key = (run_label, name)
        series = self._series.get(key)
        if series is None:
            live = _LIVE_SERIES.get(name) if run_label == LIVE else None
            plot = live[1] if live else _plot_for(name)
            label = live[0] if live else (f"{run_label} · {name}" if run_label else name)
            item = pg.PlotDataItem(name=label, autoDownsampleFactor=DOWNSAMPLE_FACTOR)
            # Item-level settings too, so each series downsamples even if the plot's defaults change.
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            series = _Series(run_label, name, plot, item)
            if run_label not in self._run_colors and run_label != LIVE:
                self._run_colors[run_label] = RUN_COLORS[len(self._run_colors) % len(RUN_COLORS)]
            self._style(series)
            self._series[key] = series
            plot_item = self._plots[plot].getPlotItem()
            plot_item.addItem(item)
            self._fit_legend_strip(plot)
            self._show_metric_plots()
        return series

    def _style(self, series: _Series) -> None:
        c = self._colors
        live = _LIVE_SERIES.get(series.name) if series.run == LIVE else None
        if live is not None:
            _, _, role, marker, width = live
            color = getattr(c, role)
            pen = pg.mkPen(color, width=width)
        else:
            color = self._run_colors.get(series.run, RUN_COLORS[0])
            marker = "o" if not series.name.endswith("_step") else None
            dashed = series.name.startswith("train/")
            pen = pg.mkPen(color, width=1.5 if dashed else 2.0,
                           style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        if series.heavy:
            pen.setWidthF(1.0)
            marker = None
        series.item.setPen(pen)
        if marker is not None:
            series.item.setSymbol(marker)
            series.item.setSymbolSize(5)
            series.item.setSymbolPen(pg.mkPen(color))
            series.item.setSymbolBrush(pg.mkBrush(c.background))
        else:
            series.item.setSymbol(None)
