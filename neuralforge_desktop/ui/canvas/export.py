"""Render the whole graph to PNG (2× for crisp slides), SVG or PDF, with a margin and no editing chrome."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from neuralforge_desktop.ui.canvas.scene import GraphScene

MARGIN = 40.0
RASTER = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def export_scene(scene: GraphScene, path: str | Path, *, scale: float = 2.0, white: bool = False) -> Path:
    """Write ``scene`` to ``path``; the suffix picks the format. Raises ValueError for an unknown suffix."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in RASTER | {".svg", ".pdf"}:
        raise ValueError(f"cannot export to {target.name!r}: use .png, .svg or .pdf")
    scene.flush_refresh()  # a file shows every node as it is now, on screen or not
    content = scene.content_rect()
    if content.isEmpty():
        content = QRectF(0.0, 0.0, 200.0, 120.0)
    source = content.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    background = QColor("#ffffff") if white else scene.style.theme.background
    # Vector output must get real strokes and text, not the cached pixmaps items use on screen; and a
    # file shows the graph, not the current selection or zoom level's simplifications.
    cached = [(item, item.cacheMode()) for item in scene.items()
              if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    scene.style.exporting = True
    try:
        if suffix in RASTER:
            _raster(scene, source, target, scale, background)
        elif suffix == ".svg":
            _svg(scene, source, target, background)
        else:
            _pdf(scene, source, target, background)
    finally:
        scene.style.exporting = False
        for item, mode in cached:
            item.setCacheMode(mode)
    return target


def _paint(painter: QPainter, scene: GraphScene, target: QRectF, source: QRectF, background: QColor) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.fillRect(target, background)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)


def _raster(scene: GraphScene, source: QRectF, target: Path, scale: float, background: QColor) -> None:
    size = QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(background)
    painter = QPainter(image)
    try:
        _paint(painter, scene, QRectF(0.0, 0.0, size.width(), size.height()), source, background)
    finally:
        painter.end()
    if not image.save(str(target)):
        raise OSError(f"could not write {target}")


def _svg(scene: GraphScene, source: QRectF, target: Path, background: QColor) -> None:
    generator = QSvgGenerator()
    generator.setFileName(str(target))
    size = QSize(round(source.width()), round(source.height()))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(scene.graph.name)
    generator.setDescription("NeuralForge graph")
    painter = QPainter(generator)
    try:
        _paint(painter, scene, QRectF(0.0, 0.0, size.width(), size.height()), source, background)
    finally:
        painter.end()


def _pdf(scene: GraphScene, source: QRectF, target: Path, background: QColor) -> None:
    writer = QPdfWriter(str(target))
    writer.setTitle(scene.graph.name)
    writer.setCreator("NeuralForge")
    writer.setResolution(72)  # one scene pixel per PDF point: the page is exactly the graph's size
    writer.setPageLayout(QPageLayout(QPageSize(QSizeF(source.width(), source.height()), QPageSize.Unit.Point),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter(writer)
    try:
        page = QRectF(painter.viewport())
        _paint(painter, scene, page, source, background)
    finally:
        painter.end()
