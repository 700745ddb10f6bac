"""A lineage drawn left to right: one box per node, coloured by kind, placed in columns by how many steps it is
from where the walk started, and an arrow per edge labelled with its relation."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from neuralforge_desktop.core.lineage import Lineage, LineageNode

KIND_COLOURS = {
    "prediction": "#f2c94c", "version": "#9b8afb", "run": "#56a3f5", "graph": "#6fcf97", "dataset": "#f2994a",
    "code": "#bdbdbd",
}
BOX_WIDTH, BOX_HEIGHT = 190.0, 62.0
COLUMN_GAP, ROW_GAP = 105.0, 24.0
NODE_ID_ROLE = 0  # QGraphicsItem.data key holding the node id


def columns(lineage: Lineage) -> dict[str, int]:
    """Each node's column: its distance in edges from the root (breadth first); unreached nodes go last."""
    depth = {lineage.root: 0} if lineage.root else {}
    queue = [lineage.root] if lineage.root else []
    while queue:
        current = queue.pop(0)
        for edge in lineage.children(current):
            if edge.target not in depth:
                depth[edge.target] = depth[current] + 1
                queue.append(edge.target)
    last = max(depth.values(), default=-1) + 1
    return {node_id: depth.get(node_id, last) for node_id in lineage.nodes}


class NodeBox(QGraphicsRectItem):
    """A node's box: its kind in small capitals above its label."""

    def __init__(self, node: LineageNode, x: float, y: float) -> None:
        super().__init__(0, 0, BOX_WIDTH, BOX_HEIGHT)
        self.node = node
        self.setPos(x, y)
        colour = QColor(KIND_COLOURS.get(node.kind, "#dddddd"))
        self.setBrush(QBrush(colour.lighter(125)))
        self.setPen(QPen(colour.darker(150), 1.5))
        self.setData(NODE_ID_ROLE, node.id)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setToolTip(_tooltip(node))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        kind = QGraphicsSimpleTextItem(node.kind.upper(), self)
        small = QFont()
        small.setPointSizeF(7.5)
        small.setBold(True)
        kind.setFont(small)
        kind.setBrush(QBrush(colour.darker(220)))
        kind.setPos(8, 5)
        plain = QFont()
        plain.setPointSizeF(8.5)
        metrics = QFontMetricsF(plain)
        for line_number, line in enumerate(_label_lines(node.label)):
            text = QGraphicsSimpleTextItem(metrics.elidedText(line, Qt.TextElideMode.ElideRight, BOX_WIDTH - 16), self)
            text.setFont(plain)
            text.setBrush(QBrush(QColor("#1d1d1d")))
            text.setPos(8, 20 + line_number * (metrics.height() + 1))


def _label_lines(label: str) -> list[str]:
    """``id (name)`` on two lines: the id, then the name; other labels as they are."""
    head, _, rest = label.partition(" (")
    return [head, f"({rest}"] if rest else [label]


def _tooltip(node: LineageNode) -> str:
    lines = [f"{node.kind}: {node.label}"]
    for key, value in node.details.items():
        if value not in (None, "", {}, []) and not isinstance(value, dict):
            lines.append(f"{key}: {value}")
    return "\n".join(lines[:14])


def draw(scene: QGraphicsScene, lineage: Lineage) -> dict[str, NodeBox]:
    """Clear ``scene`` and draw ``lineage`` in it; returns the boxes by node id."""
    scene.clear()
    placed = columns(lineage)
    rows: dict[int, int] = {}
    boxes: dict[str, NodeBox] = {}
    for node_id, node in lineage.nodes.items():
        column = placed[node_id]
        row = rows.get(column, 0)
        rows[column] = row + 1
        box = NodeBox(node, column * (BOX_WIDTH + COLUMN_GAP), row * (BOX_HEIGHT + ROW_GAP))
        box.setZValue(1)
        scene.addItem(box)
        boxes[node_id] = box
    for edge in lineage.edges:
        if edge.source in boxes and edge.target in boxes:
            _arrow(scene, boxes[edge.source], boxes[edge.target], edge.relation)
    scene.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))
    return boxes


def _arrow(scene: QGraphicsScene, source: NodeBox, target: NodeBox, relation: str) -> None:
    start = source.sceneBoundingRect()
    end = target.sceneBoundingRect()
    forward = end.left() >= start.right()
    if forward:
        a, b = QPointF(start.right(), start.center().y()), QPointF(end.left(), end.center().y())
    elif end.top() >= start.bottom():  # the same column (a node reached twice): straight down or up
        a, b = QPointF(start.center().x(), start.bottom()), QPointF(end.center().x(), end.top())
    else:
        a, b = QPointF(start.center().x(), start.top()), QPointF(end.center().x(), end.bottom())
    path = QPainterPath(a)
    bend = (b.x() - a.x()) / 2 if forward else 0.0
    path.cubicTo(QPointF(a.x() + bend, a.y()), QPointF(b.x() - bend, b.y()), b)
    pen = QPen(QColor("#6b6b6b"), 1.4)
    line = QGraphicsPathItem(path)
    line.setPen(pen)
    scene.addItem(line)
    angle = math.atan2(b.y() - path.pointAtPercent(0.95).y(), b.x() - path.pointAtPercent(0.95).x())
    head = QPolygonF([b, b - QPointF(math.cos(angle - 0.4) * 9, math.sin(angle - 0.4) * 9),
                      b - QPointF(math.cos(angle + 0.4) * 9, math.sin(angle + 0.4) * 9)])
    tip = QGraphicsPolygonItem(head)
    tip.setBrush(QBrush(QColor("#6b6b6b")))
    tip.setPen(pen)
    scene.addItem(tip)
    text = QGraphicsSimpleTextItem(relation)
    font = QFont()
    font.setPointSizeF(8)
    text.setFont(font)
    text.setBrush(QBrush(QColor("#404040")))
    middle = path.pointAtPercent(0.5)
    width = text.boundingRect().width()
    if not forward:  # beside a vertical line rather than across it
        middle = QPointF(middle.x() + width / 2 + 6, middle.y() + 8)
    backdrop = QGraphicsRectItem(QRectF(middle.x() - width / 2 - 3, middle.y() - 17, width + 6, 15))
    backdrop.setBrush(QBrush(QColor(255, 255, 255, 220)))
    backdrop.setPen(QPen(Qt.PenStyle.NoPen))
    backdrop.setZValue(2)
    scene.addItem(backdrop)
    text.setPos(middle.x() - width / 2, middle.y() - 16)
    text.setZValue(3)
    scene.addItem(text)
