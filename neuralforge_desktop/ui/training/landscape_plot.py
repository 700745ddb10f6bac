"""Draw a computed loss landscape (``core/training/coach/landscape.py``): a surface as a filled contour plot
(a colour map of the loss with labelled iso-loss lines and a colour bar), a line between two checkpoints as a
curve. The app's Loss Landscape view shows it; ``neuralforge diagnose --landscape`` saves it as a PNG.

Loss around a minimum spans orders of magnitude (0.1 at the centre, 20 at the edge of the grid), so colours and
contour levels follow log(loss): on a linear scale everything but the rim would be one colour."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from neuralforge_desktop.core.training.coach.landscape import LandscapeResult
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors

UPSAMPLE = 8  # image pixels per grid step: the grid is interpolated so that contours and colours run smooth
CONTOUR_LEVELS = 9
COLOR_MAP = "viridis"


def contour_levels(low: float, high: float, count: int = CONTOUR_LEVELS) -> list[float]:
    """``count`` loss values spaced evenly in log between just above ``low`` and just below ``high``, rounded to
    two significant digits (they label the lines)."""
    if not (low > 0 and high > low):
        return []
    lo, hi = math.log10(low), math.log10(high)
    raw = [10 ** (lo + (hi - lo) * (k + 0.5) / count) for k in range(count)]
    return sorted({float(f"{v:.2g}") for v in raw})


def smooth_grid(values: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """The grid interpolated bilinearly, ``factor`` samples per step (the corners stay the computed values)."""
    rows, cols = values.shape
    ys = np.linspace(0, rows - 1, (rows - 1) * factor + 1)
    xs = np.linspace(0, cols - 1, (cols - 1) * factor + 1)
    y0 = np.minimum(np.floor(ys).astype(int), rows - 2)
    x0 = np.minimum(np.floor(xs).astype(int), cols - 2)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = values[y0][:, x0] * (1 - fx) + values[y0][:, x0 + 1] * fx
    bottom = values[y0 + 1][:, x0] * (1 - fx) + values[y0 + 1][:, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)


def _title(result: LandscapeResult) -> str:
    name = result.run_name or result.run_id
    if result.kind == "line":
        return f"Loss from {result.checkpoint} to {result.checkpoint_b} of {name}"
    return f"Loss landscape of {name} around {result.checkpoint}"


def _caption(result: LandscapeResult) -> str:
    acc = (f", accuracy {result.center_accuracy:.1%}" if result.center_accuracy is not None else "")
    data = f"{result.examples:,} training examples, seed {result.seed}"
    if result.kind == "line":
        end = f"{result.end_loss:.4g}" if result.end_loss is not None else "?"
        distance = f", ‖B − A‖ = {result.distance:.3g}" if result.distance is not None else ""
        return f"loss at A {result.center_loss:.4g}, at B {end}{distance}\n{data}"
    return (f"★ {result.checkpoint}: loss {result.center_loss:.4g}{acc}\n"
            f"two random directions, filter-normalised (Li et al. 2018); {data}")


class LandscapePlot(QWidget):
    """One landscape, drawn; :meth:`show_result` replaces what is shown."""

    def __init__(self, parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self._colors = plot_colors(theme)
        self.result: LandscapeResult | None = None
        self.title = QLabel(self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.caption = QLabel(self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.plot_widget = pg.PlotWidget(self)
        self.plot = self.plot_widget.getPlotItem()
        self.colorbar: Any = None
        self.image: Any = None
        self.level_labels: list[float] = []  # the loss of each labelled contour line
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)
        self.set_theme(theme)

    def set_theme(self, name: str) -> None:
        self._colors = c = plot_colors(name)
        self.plot_widget.setBackground(c.background)
        self.setStyleSheet(f"background: {c.background}; color: {c.text};")
        if self.result is not None:
            self.show_result(self.result)

    def show_result(self, result: LandscapeResult) -> None:
        self.result = result
        self._clear()
        self.title.setText(_title(result))
        self.caption.setText(_caption(result))
        if result.kind == "line":
            self._draw_line(result)
        else:
            self._draw_surface(result)

    def _clear(self) -> None:
        self.plot.clear()
        self.level_labels = []
        self.image = None
        if self.colorbar is not None:
            self.plot.layout.removeItem(self.colorbar)
            self.colorbar.setParentItem(None)
            self.colorbar.deleteLater()
            self.colorbar = None
        for side in ("left", "bottom", "right"):
            self.plot.getAxis(side).setTicks(None)
        self.plot.hideAxis("right")

    def _style_axes(self, bottom: str, left: str) -> None:
        c = self._colors
        for side, text in (("bottom", bottom), ("left", left)):
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen(c.muted))
            axis.setTextPen(pg.mkPen(c.text))
            axis.setLabel(text, color=c.text)
            axis.enableAutoSIPrefix(False)  # "loss (x0.001)" reads worse than the plain values

    def _draw_surface(self, result: LandscapeResult) -> None:
        losses = np.asarray(result.losses, dtype=float)
        xs, ys = np.asarray(result.xs), np.asarray(result.ys)
        finite = losses[np.isfinite(losses)]
        floor = max(float(finite.min()) if finite.size else 1e-6, 1e-6)
        # Diverged corners (inf, NaN) are drawn as the highest finite loss: colour saturates there.
        ceiling = float(finite.max()) if finite.size else floor * 10
        clean = np.clip(np.nan_to_num(losses, nan=ceiling, posinf=ceiling), floor, ceiling)
        logs = smooth_grid(np.log10(clean))
        self._style_axes("direction δ (filter-normalised units)", "direction η (filter-normalised units)")
        rect = (float(xs[0]), float(ys[0]), float(xs[-1] - xs[0]), float(ys[-1] - ys[0]))
        # ImageItem data is indexed [x, y]; the grid is [row = y, column = x].
        self.image = pg.ImageItem(logs.T)
        self.image.setRect(*rect)
        cmap = pg.colormap.get(COLOR_MAP)
        self.image.setColorMap(cmap)
        lo, hi = float(logs.min()), float(logs.max())
        hi = hi if hi > lo else lo + 1e-3
        self.image.setLevels((lo, hi))
        self.plot.addItem(self.image)
        self._draw_contours(logs, rect, floor, ceiling)
        self.colorbar = pg.ColorBarItem(values=(lo, hi), colorMap=cmap, interactive=False, width=18)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.colorbar.axis.setTicks([[(math.log10(v), f"{v:.2g}") for v in _nice_values(floor, ceiling)]])
        self.colorbar.axis.setTextPen(pg.mkPen(self._colors.text))
        self.colorbar.axis.setLabel("loss (log scale)", color=self._colors.text)
        star = pg.ScatterPlotItem([0.0], [0.0], symbol="star", size=20, pen=pg.mkPen("#000000", width=1.2),
                                  brush=pg.mkBrush("#ffffff"))
        star.setZValue(20)
        self.plot.addItem(star)
        tag = pg.TextItem(f"{result.checkpoint}\nloss {result.center_loss:.3g}", color="#ffffff", anchor=(0, 1),
                          fill=pg.mkBrush(0, 0, 0, 150))
        tag.setPos(0.03 * rect[2], 0.03 * rect[3])
        tag.setZValue(21)
        self.plot.addItem(tag)
        self.plot.setAspectLocked(True)
        self.plot.setRange(xRange=(rect[0], rect[0] + rect[2]), yRange=(rect[1], rect[1] + rect[3]), padding=0.0)

    def _draw_contours(self, logs: np.ndarray, rect: tuple[float, float, float, float], floor: float,
                       ceiling: float) -> None:
        """Iso-loss lines, each labelled with its loss once, where its longest piece runs."""
        sx, sy = rect[2] / (logs.shape[1] - 1), rect[3] / (logs.shape[0] - 1)
        pen = pg.mkPen(QColor(255, 255, 255, 200), width=1.2)
        font = QFont()
        font.setPointSizeF(8.0)
        levels = contour_levels(floor, ceiling)
        for index, level in enumerate(levels):
            pieces = pg.isocurve(logs.T, math.log10(level), connected=True)
            pieces = [np.asarray(p, dtype=float) for p in pieces if len(p) > 1]
            if not pieces:
                continue
            for piece in pieces:
                curve = pg.PlotCurveItem(rect[0] + piece[:, 0] * sx, rect[1] + piece[:, 1] * sy, pen=pen)
                curve.setZValue(10)
                self.plot.addItem(curve)
            # Each line labelled at its own angle around the centre, so that labels do not stack in a row.
            longest = max(pieces, key=len)
            points = np.column_stack([rect[0] + longest[:, 0] * sx, rect[1] + longest[:, 1] * sy])
            target = -math.pi / 3 + 2 * math.pi * index / max(len(levels), 1)
            gap = np.abs(np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - target))))
            near_edge = ((np.abs(points[:, 0] - (rect[0] + rect[2] / 2)) > 0.44 * rect[2])
                         | (np.abs(points[:, 1] - (rect[1] + rect[3] / 2)) > 0.44 * rect[3]))
            if not near_edge.all():  # a label on the border would be cut in half
                gap = np.where(near_edge, np.inf, gap)
            x, y = longest[int(np.argmin(gap))]
            # Near a side the label hangs inwards, so that it is never cut by the plot's edge.
            place = (x / (logs.shape[1] - 1), y / (logs.shape[0] - 1))
            anchor = tuple(1.0 if f > 0.92 else 0.0 if f < 0.08 else 0.5 for f in place)
            label = pg.TextItem(f"{level:g}", color="#ffffff", anchor=anchor, fill=pg.mkBrush(0, 0, 0, 110))
            label.setFont(font)
            label.setPos(QPointF(rect[0] + x * sx, rect[1] + y * sy))
            label.setZValue(11)
            self.plot.addItem(label)
            self.level_labels.append(level)

    def _draw_line(self, result: LandscapeResult) -> None:
        c = self._colors
        self.plot.setAspectLocked(False)
        self._style_axes("α   (θ = (1 − α)·A + α·B)", "loss")
        alphas, losses = np.asarray(result.alphas), np.asarray(result.losses, dtype=float)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addItem(pg.PlotCurveItem(alphas, losses, pen=pg.mkPen(c.train, width=2.5)))
        ends = [(0.0, result.center_loss, f"A = {result.checkpoint}")]
        if result.end_loss is not None:
            ends.append((1.0, result.end_loss, f"B = {result.checkpoint_b}"))
        for alpha, loss, text in ends:
            self.plot.addItem(pg.ScatterPlotItem([alpha], [loss], symbol="star", size=18,
                                                 pen=pg.mkPen(c.text), brush=pg.mkBrush(c.accent)))
            label = pg.TextItem(f"{text}\nloss {loss:.3g}", color=c.text, anchor=(-0.08, 1.1),
                                fill=pg.mkBrush(self._colors.background))
            label.setPos(alpha, loss)
            self.plot.addItem(label)
            vline = pg.InfiniteLine(alpha, angle=90, pen=pg.mkPen(c.muted, style=Qt.PenStyle.DashLine))
            self.plot.addItem(vline)
        finite = losses[np.isfinite(losses)]
        if finite.size:
            top = float(finite.max())
            self.plot.setRange(xRange=(float(alphas[0]), float(alphas[-1])), yRange=(0.0, top * 1.1), padding=0.02)

    def save_png(self, path: Path, width: int = 900, height: int = 820) -> Path:
        """Draw at ``width`` × ``height`` logical pixels (twice that many on a 2× screen) into ``path``."""
        self.resize(width, height)
        self.layout().activate()
        image = self.grab()
        if not image.save(str(path)):
            raise OSError(f"{path}: could not write the picture")
        return Path(path)


def _nice_values(low: float, high: float) -> list[float]:
    """1, 2, 5 × 10^k values between ``low`` and ``high`` (the colour bar's ticks), with both ends."""
    values = [low]
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0 ** exponent
            if low * 1.25 < value < high / 1.25:
                values.append(value)
    return [*values, high]
