"""The Compare window, opened from the Runs dock for 2–20 selected runs: their curves overlaid (aligned by
step, epoch or time, with TensorBoard's smoothing), a sortable table of params and final metrics with the params
that differ highlighted, the architecture diff of their graphs (``compare_diff``), and statistics across seeds
(``compare_stats``). Everything it shows comes from ``core.compare``; this module only lays it out."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.theme import DEFAULT_THEME, RUN_COLORS, plot_colors

MIN_RUNS, MAX_RUNS = 2, 20
WINDOW_SIZE = (1400, 900)
SMOOTHING_STEPS = 100  # the slider's positions: weight = position / 100, 0 … 0.99
DIFFERS_ALPHA = 64  # a param that is not the same in every run: the diff's "changed" amber, see-through
PREFERRED_METRICS = ("val/acc", "val/loss", "train/loss", "val/perplexity")


def compare_problem(run_ids: list[str]) -> str | None:
    """Why these runs cannot be compared (None: they can)."""
    if len(run_ids) < MIN_RUNS:
        return f"Select at least {MIN_RUNS} runs to compare (Ctrl+click in the runs table)."
    if len(run_ids) > MAX_RUNS:
        return f"Compare at most {MAX_RUNS} runs at once ({len(run_ids)} are selected)."
    return None


def open_compare(store: Any, run_ids: list[str], theme: str = DEFAULT_THEME,
                 parent: QWidget | None = None) -> CompareWindow | None:
    """The Compare window for ``run_ids`` of ``store``, shown; a message instead when they cannot be compared."""
    problem = compare_problem(run_ids)
    if problem is not None:
        QMessageBox.information(parent, "Compare runs", problem)
        return None
    window = CompareWindow(store, run_ids, theme, parent)
    window.show()
    window.raise_()
    return window


class _SortItem(QTableWidgetItem):
    """A cell that sorts by its number when it has one (runs without the value sort last)."""

    def __init__(self, text: str, key: float | None = None) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, _SortItem) and (self.key is not None or other.key is not None):
            mine = self.key if self.key is not None else math.inf
            theirs = other.key if other.key is not None else math.inf
            return mine < theirs
        return self.text() < other.text()


def _param_cell(value: Any) -> _SortItem:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return _SortItem("not set" if value is None else str(value), number)


class CompareWindow(QWidget):
    """Runs ``run_ids`` of ``store`` side by side (a top-level window)."""

    def __init__(self, store: Any, run_ids: list[str], theme: str = DEFAULT_THEME,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        from neuralforge_desktop.ui.training.compare_diff import ArchitectureDiff
        from neuralforge_desktop.ui.training.compare_stats import StatsTab

        self._store, self._theme = store, theme
        self.comparison = store.compare_runs(run_ids)
        self.runs = self.comparison.runs
        self.run_ids = [r.id for r in self.runs]
        self.labels = {r.id: f"{r.name} ({r.id[:6]})" for r in self.runs}
        self.colors = {r.id: RUN_COLORS[i % len(RUN_COLORS)] for i, r in enumerate(self.runs)}
        self.setWindowTitle(f"Compare {len(self.runs)} runs")
        self.resize(*WINDOW_SIZE)
        self.tabs = QTabWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        metrics = sorted(self.comparison.metrics, key=lambda m: (m not in PREFERRED_METRICS,
                                                                  PREFERRED_METRICS.index(m)
                                                                  if m in PREFERRED_METRICS else 0, m))
        self.tabs.addTab(self._curves_tab(metrics), "Curves")
        self.table = self._params_table()
        self.tabs.addTab(self.table, "Params && metrics")
        self.diff = ArchitectureDiff(store, self.runs, theme)
        self.tabs.addTab(self.diff, "Architecture")
        params = list(self.comparison.params_diff) + sorted(self.comparison.params_same)
        self.stats = StatsTab(store, self.run_ids, params, metrics)
        self.tabs.addTab(self.stats, "Statistics")

    # -- curves ------------------------------------------------------------------------------------------
    def _curves_tab(self, metrics: list[str]) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        bar = QHBoxLayout()
        self.metric_choice, self.align_choice = QComboBox(), QComboBox()
        self.metric_choice.addItems(metrics)
        self.align_choice.addItems(["step", "epoch", "time"])
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, SMOOTHING_STEPS - 1)
        self.smoothing.setValue(60)
        self.smoothing_label = QLabel()
        for label, widget in (("Metric", self.metric_choice), ("Align by", self.align_choice),
                              ("Smoothing", self.smoothing)):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget, 1)
        bar.addWidget(self.smoothing_label)
        layout.addLayout(bar)
        colors = plot_colors(self._theme)
        self.plot = pg.PlotWidget(background=colors.background)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.addLegend(offset=(-10, 10), labelTextColor=colors.text)
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)
            item.getAxis(axis).setTextPen(pg.mkPen(colors.text))
        layout.addWidget(self.plot, 1)
        self.curve_items: dict[str, Any] = {}
        self.raw_items: dict[str, Any] = {}
        self.metric_choice.currentIndexChanged.connect(self.redraw)
        self.align_choice.currentIndexChanged.connect(self.redraw)
        self.smoothing.valueChanged.connect(self.redraw)
        self.redraw()
        return tab

    @property
    def smoothing_weight(self) -> float:
        return self.smoothing.value() / SMOOTHING_STEPS

    def redraw(self) -> None:
        """Draw the chosen metric of every run again with the current alignment and smoothing."""
        from neuralforge_desktop.core.compare.align import AXIS_TITLES, run_curves
        from neuralforge_desktop.core.compare.stats import higher_is_better

        metric, by = self.metric_choice.currentText(), self.align_choice.currentText()
        self.smoothing_label.setText(f"{self.smoothing_weight:.2f}")
        item = self.plot.getPlotItem()
        item.clear()
        self.curve_items, self.raw_items = {}, {}
        if not metric:
            return
        curves = run_curves(self._store, self.run_ids, metric, by, self.smoothing_weight,  # type: ignore[arg-type]
                            labels=self.labels)
        for curve in curves:
            color = self.colors[curve.run_id]
            if self.smoothing_weight > 0:  # TensorBoard's look: the raw values faint behind the smoothed line
                faint = QColor(color)
                faint.setAlpha(60)
                self.raw_items[curve.run_id] = item.plot(curve.x, curve.raw, pen=pg.mkPen(faint, width=1))
            self.curve_items[curve.run_id] = item.plot(curve.x, curve.y, pen=pg.mkPen(color, width=2),
                                                      name=curve.label)
        # The legend goes where curves are not: bottom right under rising curves (accuracy), top right over falling
        legend, corner = item.legend, (1, 1) if higher_is_better(metric) else (1, 0)
        if legend is not None:
            legend.anchor(itemPos=corner, parentPos=corner, offset=(-10, -40 if corner[1] else 10))
        item.setLabel("bottom", AXIS_TITLES[by])
        item.setLabel("left", metric)
        missing = [self.labels[r] for r in self.run_ids if r not in self.curve_items]
        item.setTitle(f"no {metric} in: {', '.join(missing)}" if missing else None)

    # -- params and metrics ------------------------------------------------------------------------------
    def _params_table(self) -> QTableWidget:
        comparison = self.comparison
        differing = list(comparison.params_diff)
        same = sorted(comparison.params_same)
        metrics = sorted(comparison.metrics)
        headers = ["Run", "Status", *differing, *metrics, *same]  # what tells the runs apart comes first
        table = QTableWidget(len(self.runs), len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        bold = QFont()
        bold.setBold(True)
        for column in range(2, 2 + len(differing)):
            header = table.horizontalHeaderItem(column)
            header.setFont(bold)
            header.setToolTip("differs between the runs")
        from neuralforge_desktop.core.compare.stats import format_value
        from neuralforge_desktop.ui.training.compare_diff import CHANGED, DIFF_COLORS

        differs = QColor(DIFF_COLORS[CHANGED])
        differs.setAlpha(DIFFERS_ALPHA)

        for row, run in enumerate(self.runs):
            cells: list[_SortItem] = [_SortItem(self.labels[run.id]), _SortItem(run.status)]
            for key in differing:
                cells.append(_param_cell(run.params.get(key)))
            for name in metrics:
                latest = comparison.metrics[name].get(run.id)
                value = latest.value if latest is not None else None
                cells.append(_SortItem("" if value is None else format_value(name, value), value))
            cells += [_param_cell(run.params.get(key)) for key in same]
            cells[0].setForeground(QColor(self.colors[run.id]))
            for column, cell in enumerate(cells):
                if 2 <= column < 2 + len(differing):
                    cell.setBackground(differs)
                table.setItem(row, column, cell)
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the runs as selected, until
        table.setSortingEnabled(True)  # a header is clicked
        table.resizeColumnsToContents()
        return table

    def differing_columns(self) -> list[str]:
        """The params table's columns highlighted as differing."""
        return list(self.comparison.params_diff)
