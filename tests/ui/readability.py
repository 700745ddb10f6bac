"""What a canvas actually draws at its current zoom, read back as text: the view is rendered the way it paints
the screen (same transform, same level of detail), into an SVG whose text elements are what a person could
read."""

from __future__ import annotations

import html

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from neuralforge_desktop.ui.canvas import GraphView


def drawn_text(view: GraphView) -> str:
    """Every text the view draws right now (node names, shape labels …), as SVG source."""
    scene = view.graph_scene
    # Cached items would reach the SVG as pixmaps; drawing them directly keeps their text as text. What they
    # draw, and whether they draw it at this zoom, is the same either way.
    cached = [(item, item.cacheMode()) for item in scene.items()
              if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for item, _ in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(view.viewport().size())
    painter = QPainter(generator)
    try:
        view.render(painter, QRectF(view.viewport().rect()), view.viewport().rect())
    finally:
        painter.end()
        for item, mode in cached:
            item.setCacheMode(mode)
    return html.unescape(bytes(data.data()).decode("utf-8"))


def visible_scene_rect(view: GraphView) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()
