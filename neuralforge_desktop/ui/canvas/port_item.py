"""Ports: the hit targets a wire is dragged from and dropped on.

The node paints its ports itself (inside its cached pixmap), so a port item draws nothing; it only gives
the scene something to find under the cursor, with a crosshair cursor and a tooltip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from neuralforge_desktop.core.edit.canvas_edits import PortRef

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.node_item import NodeItem

PORT_RADIUS = 4.5
HIT_HALF = 9.0  # generous: a 9 px radius is easy to hit at 100 % zoom without crowding neighbours


class PortItem(QGraphicsRectItem):
    """An invisible square around a port; ``ref`` says which."""

    def __init__(self, parent: NodeItem, name: str, output: bool, center: QPointF, editable: bool) -> None:
        super().__init__(QRectF(-HIT_HALF, -HIT_HALF, 2 * HIT_HALF, 2 * HIT_HALF), parent)
        self.name = name
        self.output = output
        self.editable = editable
        self.setPos(center)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        if editable:
            self.setCursor(Qt.CursorShape.CrossCursor)

    @property
    def node_item(self) -> NodeItem:
        return self.parentItem()  # type: ignore[return-value]

    @property
    def ref(self) -> PortRef:
        return PortRef(self.node_item.node_id, self.name, self.output)


def draw_port(painter: QPainter, center: QPointF, color: QColor, fill: QColor, connected: bool,
              highlighted: bool = False) -> None:
    """A ring in the node's category colour, filled when something is connected."""
    radius = PORT_RADIUS + (1.5 if highlighted else 0.0)
    painter.setPen(QPen(color, 1.6))
    painter.setBrush(QBrush(color if connected else fill))
    painter.drawEllipse(center, radius, radius)
