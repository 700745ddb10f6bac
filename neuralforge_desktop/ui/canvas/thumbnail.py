"""A graph drawn small, offscreen, the way the canvas draws it: previews for the template gallery.

The graph is shown whole. A network is a long chain of columns, much wider than a preview is, so the copy drawn
(never a document) is laid out in wrapped rows, as the canvas lays out templates, to about the preview's shape;
the wires from one row's end to the next row's start are left out (rows read like lines of text). The drawing
is the real canvas scene (cards in their category colours, ports, wires) rendered into a pixmap, so a preview
looks like what opens.
"""

from __future__ import annotations

from collections.abc import Mapping

import shiboken6
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import Size, layout_positions
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.canvas.scene import GraphScene
from neuralforge_desktop.ui.theme import canvas_theme

MARGIN = 30.0


def fold(graph: Graph, aspect: float, sizes: Mapping[str, Size] | None = None) -> None:
    """Lay ``graph`` out in wrapped rows (the core layout the canvas uses) so that it can be drawn as large as
    possible in a picture ``aspect`` (width / height) wide, its cards ``sizes`` large. Moves the nodes of
    ``graph``: give it a copy."""
    if not graph.nodes:
        return
    # An area far smaller than any graph: the layout then picks the row split that draws largest in its shape.
    area = (100.0 * aspect, 100.0)
    for nid, position in layout_positions(graph, sizes=sizes, orientation="wrapped", area=area).items():
        graph.nodes[nid].position = position


def render_graph(graph: Graph, size: QSize, theme: str, device_pixel_ratio: float = 1.0,
                 labels: bool = False) -> QPixmap:
    """``graph`` folded to the shape of ``size`` and drawn into a pixmap of that size (in ``theme``'s
    colours; shape labels on the wires when ``labels``). Takes a few milliseconds for a zoo template."""
    bridge = DocumentBridge(Document(graph))
    scene = GraphScene(bridge)
    scene.style.theme = canvas_theme(theme)
    scene.restyle(geometry=False)
    fold(graph, size.width() / max(1, size.height()), scene.node_sizes())  # cards as wide as their names
    scene.rebuild()  # the items at their new places
    scene.set_detail(labels=labels, far=False)
    scene.style.exporting = True  # full detail whatever the scale, no selection or hover
    for edge in scene.edges.values():
        # A wire from the end of one row to the start of the next would sweep across the picture; rows read
        # like lines of text without it.
        edge.setVisible(edge.dst.x() > edge.src.x())
    pixmap = QPixmap(round(size.width() * device_pixel_ratio), round(size.height() * device_pixel_ratio))
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    pixmap.fill(scene.style.theme.background)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    source = scene.content_rect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    scene.render(painter, QRectF(0.0, 0.0, size.width(), size.height()), source,
                 Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    # Freed now rather than whenever the garbage collector gets to them: previews are drawn one after another.
    shiboken6.delete(scene)
    shiboken6.delete(bridge)
    return pixmap
