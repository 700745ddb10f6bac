"""The Diagnostics view of one run: what its per-layer statistics say about how training went.

Tabs:

* Gradient flow: ‖grad‖ of each layer over the steps (a heat map, log colour scale, layers in model order
  from the top), and beside it the first and the newest sample per layer (log x, rows aligned with the map):
  gradients that shrink towards the input show as a dark top and a slope in the profile;
* Histograms: one layer's gradient or activation histograms over the steps (value axis from the lowest to the
  highest value any sample saw; colour: log share of the values);
* Update/weight: ‖Δw‖/‖w‖ per layer over the steps, log y, with the usual 1e-3 rule of thumb;
* Activations: the share of ReLU outputs that are zero and of sigmoid/tanh outputs that are saturated.

A run without diagnostics gets one plain sentence instead of empty plots.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.training.coach.records import RunDiagnostics
from neuralforge_desktop.core.training.coach.views_data import (
    LayerMatrix,
    histogram_layers,
    histogram_matrix,
    latest_values,
    layer_matrix,
    uniform_columns,
)
from neuralforge_desktop.ui.theme import DEFAULT_THEME, RUN_COLORS, PlotColors, plot_colors
from neuralforge_desktop.ui.training.diagnostics_plots import Heatmap, apply_theme, column_rect, themed_plot

NO_DIAGNOSTICS = ("This run has no diagnostics: it was trained before diagnostics existed or with "
                  "--diagnostics off.")
UPDATE_RATIO_RULE = 1e-3  # ‖Δw‖/‖w‖ per step: far below, a layer barely learns; far above, it thrashes
SHARE_FLOOR = 1e-4  # a histogram bin holding under 0.01 % of the values is drawn as empty
TABS = ("Gradient flow", "Histograms", "Update/weight", "Activations")
HISTOGRAM_KINDS = {"Gradients": "grad", "Activations": "act"}
ZOOMS = ("Whole run", "Newest sample")  # the value range the histogram map opens on


def _log10(values: np.ndarray, floor: float) -> np.ndarray:
    """log10 of positive values; zeros, negatives and values under ``floor`` read as ``floor``; NaN stays."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), np.nan, np.log10(np.maximum(values, floor)))


class DiagnosticsView(QWidget):
    """``set_diagnostics(diag, run_name)`` shows a run (None: the run has none)."""

    def __init__(self, parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self._colors: PlotColors = plot_colors(theme)
        self._diag: RunDiagnostics | None = None
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.message = QLabel(NO_DIAGNOSTICS, self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._gradient_tab(), TABS[0])
        self.tabs.addTab(self._histogram_tab(), TABS[1])
        self.tabs.addTab(self._ratio_tab(), TABS[2])
        self.tabs.addTab(self._activation_tab(), TABS[3])
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.message)
        self.pages.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.summary)
        layout.addWidget(self.pages, 1)
        self.set_diagnostics(None)

    # -- tabs ----------------------------------------------------------------------------------------------
    def _gradient_tab(self) -> QWidget:
        c = self._colors
        self.grad_map = Heatmap(self, c, "layer", "log₁₀ ‖grad‖", top_down=True)
        self.grad_profile = themed_plot(self, c, "", "‖grad‖", log_x=True)
        self.grad_profile.getPlotItem().hideAxis("left")  # the map's layer names label these rows too
        self.grad_profile.getPlotItem().getViewBox().invertY(True)
        self.grad_profile.setYLink(self.grad_map.widget)
        self.grad_profile.getPlotItem().addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.first_curve = pg.PlotDataItem(name="first sample")
        self.latest_curve = pg.PlotDataItem(name="newest sample")
        for curve in (self.first_curve, self.latest_curve):
            self.grad_profile.addItem(curve)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.grad_map.widget)
        splitter.addWidget(self.grad_profile)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        return splitter

    def _histogram_tab(self) -> QWidget:
        page = QWidget(self)
        self.layer_combo = QComboBox(page)
        self.kind_combo = QComboBox(page)
        self.kind_combo.addItems(list(HISTOGRAM_KINDS))
        self.zoom_combo = QComboBox(page)
        self.zoom_combo.addItems(list(ZOOMS))
        self.zoom_combo.setToolTip("Gradients often shrink as training goes on: zoom the value axis to the newest "
                                   "sample's range to see its shape (drag a box to zoom anywhere).")
        self.hist_note = QLabel(page)
        self.hist_map = Heatmap(page, self._colors, "value", "log₁₀ share of values")
        head = QHBoxLayout()
        head.addWidget(QLabel("Layer", page))
        head.addWidget(self.layer_combo, 1)
        head.addWidget(self.kind_combo)
        head.addWidget(self.zoom_combo)
        head.addWidget(self.hist_note, 2)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 6, 0, 0)
        box.addLayout(head)
        box.addWidget(self.hist_map.widget, 1)
        self.kind_combo.currentTextChanged.connect(lambda _: self._fill_layer_combo())
        self.layer_combo.currentTextChanged.connect(lambda _: self._draw_histograms())
        self.zoom_combo.currentTextChanged.connect(lambda _: self._draw_histograms())
        return page

    def _ratio_tab(self) -> QWidget:
        self.ratio_plot = themed_plot(self, self._colors, "‖Δw‖ / ‖w‖", log_y=True)
        self.ratio_plot.getPlotItem().addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.rule_line = pg.InfiniteLine(pos=np.log10(UPDATE_RATIO_RULE), angle=0, movable=False,
                                         label="1e-3 rule of thumb", labelOpts={"position": 0.08})
        self.ratio_plot.addItem(self.rule_line, ignoreBounds=True)
        return self.ratio_plot

    def _activation_tab(self) -> QWidget:
        page = QWidget(self)
        self.zero_plot = themed_plot(page, self._colors, "zero outputs (%)")
        self.sat_plot = themed_plot(page, self._colors, "saturated outputs (%)")
        self.activation_note = QLabel("No ReLU, sigmoid or tanh layer in this run's diagnostics.", page)
        self.activation_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 6, 0, 0)
        for widget in (self.zero_plot, self.sat_plot):
            widget.getPlotItem().addLegend(offset=(-4, 4), labelTextSize="8pt")
            box.addWidget(widget, 1)
        box.addWidget(self.activation_note, 1)
        return page

    # -- public ----------------------------------------------------------------------------------------------
    @property
    def diagnostics(self) -> RunDiagnostics | None:
        return self._diag

    def has_data(self) -> bool:
        return self.pages.currentWidget() is self.tabs

    def set_diagnostics(self, diag: RunDiagnostics | None, run_name: str = "") -> None:
        self._diag = diag
        who = f"Run {run_name}: " if run_name else ""
        if diag is None or not (diag.layers or diag.histograms):
            self.summary.setText(who.rstrip(": ") if run_name else "")
            self.pages.setCurrentWidget(self.message)
            return
        self.pages.setCurrentWidget(self.tabs)
        steps = sorted({r.step for r in diag.layers})
        span = f"{len(steps)} samples, steps {steps[0]}–{steps[-1]}" if steps else "no per-layer samples"
        text = f"{who}capture level {diag.level}, {span}."
        if diag.nonfinite:
            first = diag.nonfinite[0]
            where = f"{first.where} of {first.layer}" if first.layer else first.where
            text += f"  First NaN/Inf: {where} at step {first.step}."
        self.summary.setText(text)
        self._draw_gradient_flow()
        self._fill_layer_combo()
        self._draw_ratios()
        self._draw_activations()

    def select_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def show_histograms(self, layer: str, kind: str = "grad", zoom: str = ZOOMS[0]) -> None:
        """Pick the histograms of ``layer`` (``grad`` or ``act``), the value axis on ``zoom`` (one of ZOOMS)."""
        self.zoom_combo.setCurrentText(zoom)
        self.kind_combo.setCurrentText(next(k for k, v in HISTOGRAM_KINDS.items() if v == kind))
        self.layer_combo.setCurrentText(layer)

    def set_theme(self, name: str) -> None:
        self._colors = c = plot_colors(name)
        for heatmap in (self.grad_map, self.hist_map):
            heatmap.set_theme(c)
        for widget in (self.grad_profile, self.ratio_plot, self.zero_plot, self.sat_plot):
            apply_theme(widget, c)
        if self._diag is not None:
            self.set_diagnostics(self._diag)

    # -- drawing ---------------------------------------------------------------------------------------------
    def _draw_gradient_flow(self) -> None:
        assert self._diag is not None
        matrix = layer_matrix(self._diag, "grad_norm")
        self.grad_layers = matrix.layers
        if matrix.empty:
            self.grad_map.image.clear()
            self.first_curve.setData([], [])
            self.latest_curve.setData([], [])
            return
        grid, values = uniform_columns(matrix.steps, matrix.values)
        x0, width = column_rect(grid)
        logs = _log10(values, 1e-30)
        self.grad_map.set_matrix(logs, x0, width, 0.0, float(len(matrix.layers)))
        self.grad_map.set_row_names(matrix.layers)
        rows = np.arange(len(matrix.layers)) + 0.5
        first = np.array([row[~np.isnan(row)][0] if np.any(~np.isnan(row)) else np.nan for row in matrix.values])
        c = self._colors
        self.first_curve.setData(first, rows, pen=pg.mkPen(c.muted, width=1.5, style=Qt.PenStyle.DashLine),
                                 symbol="o", symbolSize=5, symbolBrush=c.muted, symbolPen=c.muted)
        self.latest_curve.setData(latest_values(matrix), rows, pen=pg.mkPen(c.accent, width=2), symbol="o",
                                  symbolSize=7, symbolBrush=c.accent, symbolPen=c.accent)

    def _fill_layer_combo(self) -> None:
        kind = HISTOGRAM_KINDS[self.kind_combo.currentText()]
        layers = histogram_layers(self._diag, kind) if self._diag is not None else []
        current = self.layer_combo.currentText()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(layers)
        if current in layers:
            self.layer_combo.setCurrentText(current)
        self.layer_combo.blockSignals(False)
        self._draw_histograms()

    def _draw_histograms(self) -> None:
        kind = HISTOGRAM_KINDS[self.kind_combo.currentText()]
        layer = self.layer_combo.currentText()
        hm = histogram_matrix(self._diag, layer, kind) if self._diag is not None and layer else None
        if hm is None:
            self.hist_map.image.clear()
            what = "gradient" if kind == "grad" else "activation"
            self.hist_note.setText(f"No {what} histograms were captured (capture level full records them).")
            return
        grid, shares = uniform_columns(hm.steps, hm.shares)
        x0, width = column_rect(grid)
        # An empty bin shows the background (no values there); a nearly empty one the floor colour.
        logs = _log10(np.where(shares > 1e-12, shares, np.nan), SHARE_FLOOR)
        lo, hi = float(hm.edges[0]), float(hm.edges[-1])
        self.hist_map.set_matrix(logs, x0, width, lo, hi - lo, levels=(np.log10(SHARE_FLOOR), 0.0))
        if self.zoom_combo.currentText() == ZOOMS[1]:
            low, high = hm.newest_range()
            self.hist_map.widget.getPlotItem().getViewBox().setYRange(low, high, padding=0.02)
        sampled = hm.counts[hm.counts > 0]
        self.hist_note.setText(f"{len(sampled)} samples, values {lo:.3g} to {hi:.3g}, "
                               f"about {int(np.median(sampled)):,} values each")

    def _draw_curves(self, widget: pg.PlotWidget, matrix: LayerMatrix, scale: float = 1.0) -> None:
        item = widget.getPlotItem()
        item.clear()  # removes the curves and empties the legend
        for i, (name, row) in enumerate(zip(matrix.layers, matrix.values, strict=True)):
            present = ~np.isnan(row)
            pen = pg.mkPen(RUN_COLORS[i % len(RUN_COLORS)], width=1.5)
            item.addItem(pg.PlotDataItem(matrix.steps[present], row[present] * scale, pen=pen, name=name))

    def _draw_ratios(self) -> None:
        assert self._diag is not None
        self._draw_curves(self.ratio_plot, layer_matrix(self._diag, "update_ratio"))
        self.ratio_plot.addItem(self.rule_line, ignoreBounds=True)
        self.rule_line.label.setColor(self._colors.text)
        self.rule_line.setPen(pg.mkPen(self._colors.warning, width=1.5, style=Qt.PenStyle.DashLine))

    def _draw_activations(self) -> None:
        assert self._diag is not None
        shown = 0
        for widget, stat in ((self.zero_plot, "act_zero_frac"), (self.sat_plot, "act_sat_frac")):
            matrix = layer_matrix(self._diag, stat)
            widget.setVisible(not matrix.empty)
            shown += not matrix.empty
            self._draw_curves(widget, matrix, scale=100.0)
            widget.getPlotItem().setYRange(0, 100, padding=0.02)
        self.activation_note.setVisible(shown == 0)


class DiagnosticsDialog(QDialog):
    """A window over one run's Diagnostics view (several may be open side by side, one per run)."""

    def __init__(self, diag: RunDiagnostics | None, run_name: str, parent: QWidget | None = None,
                 theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Diagnostics — {run_name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view = DiagnosticsView(self, theme)
        self.view.set_diagnostics(diag, run_name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.resize(960, 620)
