"""The plot pieces the Diagnostics view is made of: a heat map (an image on a plot, with a colour bar) and a
themed plot. Matrices arrive as the core helpers make them (rows × samples); values are drawn on a log scale
by the caller (it knows what the floor of a share or a norm is)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.theme import PlotColors

COLOR_MAP = "viridis"  # perceptually even and readable on dark and light backgrounds alike
MAX_ROW_LABELS = 32


def themed_plot(parent: QWidget, colors: PlotColors, left: str, bottom: str = "step",
                log_x: bool = False, log_y: bool = False) -> pg.PlotWidget:
    widget = pg.PlotWidget(parent)
    item = widget.getPlotItem()
    item.setLogMode(x=log_x, y=log_y)
    item.setLabel("left", left)
    item.setLabel("bottom", bottom)
    for axis in ("left", "bottom"):
        item.getAxis(axis).enableAutoSIPrefix(False)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.getViewBox().setMouseMode(pg.ViewBox.RectMode)  # drag a box to zoom; right-click resets
    apply_theme(widget, colors)
    return widget


def apply_theme(widget: pg.PlotWidget, colors: PlotColors) -> None:
    widget.setBackground(colors.background)
    item = widget.getPlotItem()
    for axis in ("left", "bottom", "right"):
        ax = item.getAxis(axis)
        ax.setPen(pg.mkPen(colors.muted))
        ax.setTextPen(pg.mkPen(colors.text))
    if item.legend is not None:
        item.legend.setBrush(pg.mkBrush(colors.background + "d0"))
        item.legend.setPen(pg.mkPen(colors.border))
        item.legend.setLabelTextColor(colors.text)


def column_rect(steps: np.ndarray) -> tuple[float, float]:
    """The x extent of an image whose columns are samples at the evenly spaced ``steps``: each column centred
    on its step."""
    spacing = float(steps[1] - steps[0]) if len(steps) > 1 else 1.0
    return float(steps[0]) - spacing / 2, spacing * len(steps)


class Heatmap:
    """An image of a matrix on a plot, with a colour bar on its right. ``rows`` of the matrix go down the y
    axis (the first row on top when ``top_down``), columns along x."""

    def __init__(self, parent: QWidget, colors: PlotColors, left: str, bar_label: str,
                 top_down: bool = False) -> None:
        self.widget = themed_plot(parent, colors, left)
        item = self.widget.getPlotItem()
        item.showGrid(x=False, y=False)  # grid lines over the cells would read as data
        item.getViewBox().invertY(top_down)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.bar = pg.ColorBarItem(colorMap=pg.colormap.get(COLOR_MAP), interactive=False, width=14,
                                   label=bar_label)
        self.bar.setImageItem(self.image, insert_in=item)
        self._colors = colors
        self.set_theme(colors)

    def set_theme(self, colors: PlotColors) -> None:
        self._colors = colors
        apply_theme(self.widget, colors)
        for axis in ("right", "left"):
            ax = self.bar.getAxis(axis) if hasattr(self.bar, "getAxis") else None
            if ax is not None:
                ax.setPen(pg.mkPen(colors.muted))
                ax.setTextPen(pg.mkPen(colors.text))

    def set_matrix(self, values: np.ndarray, x0: float, width: float, y0: float, height: float,
                   levels: tuple[float, float] | None = None) -> None:
        """Draw ``values`` (rows × columns; NaN: nothing there) over x0…x0+width and y0…y0+height."""
        finite = values[np.isfinite(values)]
        if levels is None:
            levels = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            if levels[1] <= levels[0]:
                levels = (levels[0] - 0.5, levels[1] + 0.5)
        self.image.setImage(values.astype(np.float32), autoLevels=False)
        self.image.setRect(QRectF(x0, y0, width, height))
        self.bar.setLevels(levels)
        item = self.widget.getPlotItem()
        item.getViewBox().setLimits(xMin=x0, xMax=x0 + width, yMin=y0, yMax=y0 + height)
        item.getViewBox().setRange(xRange=(x0, x0 + width), yRange=(y0, y0 + height), padding=0)

    def set_row_names(self, names: Sequence[str]) -> None:
        """Label row ``i`` (drawn from y=i to i+1) with ``names[i]``; past ``MAX_ROW_LABELS`` rows every k-th
        row is named (the others keep a tick), so a deep model's names do not print over each other."""
        every = max(1, -(-len(names) // MAX_ROW_LABELS))
        major = [(i + 0.5, n) for i, n in enumerate(names) if i % every == 0]
        minor = [(i + 0.5, "") for i in range(len(names)) if i % every]
        self.widget.getPlotItem().getAxis("left").setTicks([major, minor])

    def levels(self) -> tuple[float, float]:
        low, high = self.bar.levels()
        return float(low), float(high)
