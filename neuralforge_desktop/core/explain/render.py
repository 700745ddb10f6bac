"""Explanations drawn as PNG files with matplotlib's object API (the Agg canvas: no pyplot, no GUI toolkit, no
process-wide state), written atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.atomic import write_bytes_atomic

DPI = 100


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    write_bytes_atomic(path, buffer.getvalue())
    return path


def displayable(image: Any) -> tuple[Any, str | None]:
    """A C×H×W model input as something imshow draws: grey H×W or RGB H×W×3, scaled to 0 … 1."""
    import numpy as np

    array = np.asarray(image, dtype=np.float64)
    low, high = float(array.min()), float(array.max())
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    if array.shape[0] == 3:
        return array.transpose(1, 2, 0), None
    return array.mean(axis=0), "gray"


def overlay(image: Any, heat: Any, *, signed: bool, title: str, caption: str, path: Path) -> Path:
    """The input beside the input with the attribution over it (signed: red raises the score, blue lowers it)."""
    import numpy as np

    shown, cmap = displayable(image)
    figure = _figure(6.4, 3.6)
    left, right = figure.subplots(1, 2)
    left.imshow(shown, cmap=cmap)
    left.set_title("input")
    right.imshow(shown, cmap=cmap)
    if signed:
        bound = float(np.abs(heat).max()) or 1.0
        drawn = right.imshow(heat, cmap="bwr", vmin=-bound, vmax=bound, alpha=0.6)
    else:
        drawn = right.imshow(heat, cmap="jet", vmin=0.0, vmax=float(heat.max()) or 1.0, alpha=0.5)
    right.set_title(title)
    figure.colorbar(drawn, ax=right, fraction=0.046, pad=0.04)
    for axis in (left, right):
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(caption, fontsize=10)
    return _save(figure, path)


def class_maps(maps: dict[str, Any], *, title: str, path: Path) -> Path:
    """Mean |attribution| maps, one panel per class."""
    count = max(1, len(maps))
    columns = min(5, count)
    rows = (count + columns - 1) // columns
    figure = _figure(2.0 * columns, 2.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, (name, heat) in zip(axes.flat, maps.items(), strict=False):
        axis.imshow(heat, cmap="inferno")
        axis.set_title(name, fontsize=9)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)


def bars(names: list[str], values: Any, *, title: str, path: Path, errors: Any = None,
         signed: bool = False) -> Path:
    """Horizontal bars, largest magnitude on top (signed: red pushes up, blue pushes down)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(np.abs(values))[-20:]  # the twenty that matter most
    figure = _figure(6.4, 0.3 * len(order) + 1.4)
    axis = figure.subplots()
    colours = ["#d62728" if v > 0 else "#1f77b4" for v in values[order]] if signed else "#4c72b0"
    axis.barh([names[i] for i in order], values[order], color=colours,
              xerr=None if errors is None else np.asarray(errors)[order])
    axis.axvline(0.0, color="black", linewidth=0.8)
    axis.set_title(title, fontsize=10)
    return _save(figure, path)


def attention(words: list[str], maps: Any, *, title: str, path: Path) -> Path:
    """One token × token heat map per layer (heads averaged): row = the token attending, column = attended."""
    layers = len(maps)
    size = max(3.0, 0.28 * len(words) + 1.5)
    figure = _figure(size * layers, size + 0.6)
    axes = figure.subplots(1, layers, squeeze=False)[0]
    for index, (axis, grid) in enumerate(zip(axes, maps, strict=True)):
        drawn = axis.imshow(grid, cmap="viridis", vmin=0.0)  # rows sum to 1; the scale shows their spread
        figure.colorbar(drawn, ax=axis, fraction=0.046, pad=0.04)
        axis.set_xticks(range(len(words)), words, rotation=90, fontsize=8)
        axis.set_yticks(range(len(words)), words, fontsize=8)
        axis.set_title(f"layer {index + 1}", fontsize=9)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)
