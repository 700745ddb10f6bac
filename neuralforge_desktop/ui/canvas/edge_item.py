"""Wires: a cubic curve from an output port to an input port, with the tensor shape at its middle.

The curve itself is a plain ``QGraphicsPathItem`` painted by Qt in C++ (no Python per frame, which matters
with a thousand edges on screen); only the small shape label is drawn in Python, from a pixmap cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from neuralforge_desktop.core.analysis.level import ERROR, MISSING, OK, WARNING, EdgeLook, Level
from neuralforge_desktop.core.ir.graph import Edge
from neuralforge_desktop.ui.canvas.style import Style

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.node_item import NodeItem

LOD_LABEL = 0.5  # shape labels are unreadable below half size; skip them
LOD_FAR = 0.35  # below this zoom wires are hairlines
LOD_WIRES = 0.03  # below this a 220 px column is under 7 screen pixels: wires are noise, and cost a third of a frame


LONG = 480.0  # a level wire longer than ~two columns would run behind the nodes between its ends
BEND = 50.0
LANE_ABOVE = 25.0  # a wire that turns back runs this far above the node it enters: in the gap over it
LANE_NEAR = 12.0  # a wire running forward to a lower row runs nearer that row, so the two kinds never overlap
LOWER_ROW = 70.0  # a node whose top is this far below another's bottom is in a lower row (wrapped layouts leave
#                   80 between rows; the nodes stacked in one column of a horizontal layout are 50-64 apart)
ACROSS = 160.0  # a wire to a lower row spanning more than a column gap would cut across the nodes between
CORNER = 14.0


def wire_path(p0: QPointF, p1: QPointF) -> QPainterPath:
    """The S-curve every wire uses: leaves an output to the right, enters an input from the left."""
    span = p1.x() - p0.x()
    if span > LONG and abs(p1.y() - p0.y()) < 60.0:
        # A skip connection: dip below the row, run along it, come back up; it stays visible.
        y = max(p0.y(), p1.y()) + min(90.0, 45.0 + span * 0.01)
        path = QPainterPath(p0)
        path.cubicTo(QPointF(p0.x() + BEND, p0.y()), QPointF(p0.x() + BEND, y), QPointF(p0.x() + 2 * BEND, y))
        path.lineTo(QPointF(p1.x() - 2 * BEND, y))
        path.cubicTo(QPointF(p1.x() - BEND, y), QPointF(p1.x() - BEND, p1.y()), p1)
        return path
    dx = max(40.0, abs(span) * 0.5)
    if p1.x() < p0.x():  # a wire going backwards loops out wider so it does not hide under its nodes
        dx = max(dx, 80.0 + abs(p1.y() - p0.y()) * 0.25)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
    return path


def needs_lane(p0: QPointF, p1: QPointF, dst_top: float) -> bool:
    """Whether a wire turns back to a node further down (the next row of a top-down or wrapped layout): an
    S-curve would then cut across the nodes between, so it runs through the gap above that node instead."""
    return p1.x() < p0.x() + 20.0 and dst_top - LANE_ABOVE > p0.y() + 2 * CORNER


def drops_to_lower_row(p0: QPointF, p1: QPointF, src_bottom: float, dst_top: float) -> bool:
    """Whether a wire runs forward to a node in a lower row, past more than the gap beside its source (a skip
    connection of a wrapped layout): an S-curve would cross the rows between diagonally, over their nodes, so
    it runs down beside its source and along the gap above the node it enters instead."""
    return p1.x() - p0.x() > ACROSS and dst_top - src_bottom >= LOWER_ROW


def lane_path(p0: QPointF, p1: QPointF, lane: float) -> tuple[QPainterPath, QPointF]:
    """Right out of the output, down beside its node, back along ``lane``, down into the input from its
    left: square turns with rounded corners. Returns the path and the middle of its run along the lane
    (where the shape label goes)."""
    # Wires that drop further turn further out, so a skip wire does not run on top of the chain's wires.
    out_x = p0.x() + BEND / 2.0 + min(30.0, (lane - p0.y()) * 0.05)
    in_x = p1.x() - BEND / 2.0
    toward = -1.0 if in_x < out_x else 1.0
    r = min(CORNER, (lane - p0.y()) / 2.0, (p1.y() - lane) / 2.0, abs(in_x - out_x) / 2.0)
    path = QPainterPath(p0)
    path.lineTo(out_x - r, p0.y())
    path.quadTo(out_x, p0.y(), out_x, p0.y() + r)
    path.lineTo(out_x, lane - r)
    path.quadTo(out_x, lane, out_x + toward * r, lane)
    path.lineTo(in_x - toward * r, lane)
    path.quadTo(in_x, lane, in_x, lane + r)
    path.lineTo(in_x, p1.y() - r)
    path.quadTo(in_x, p1.y(), in_x + r, p1.y())
    path.lineTo(p1)
    return path, QPointF((out_x + in_x) / 2.0, lane)


class EdgeLabel(QGraphicsRectItem):
    """The shape text in a small pill at the middle of its wire."""

    def __init__(self, edge: EdgeItem) -> None:
        super().__init__(edge)
        self.edge_item = edge
        self.text = ""
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_text(self, text: str) -> None:
        width = self.edge_item.style.theme.width("label", text) + 10.0  # keep in step with EdgeItem._texts
        self.text = text
        if width != self.rect().width():
            # setRect tells the scene the geometry changes; that costs ~1 ms per item in the scene's index,
            # so a label whose pill keeps its width (most shape edits) only repaints.
            self.setRect(QRectF(-width / 2.0, -8.0, width, 16.0))
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        style = self.edge_item.style
        if not self.text or (option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_LABEL
                             and not style.exporting):
            return
        theme = style.theme
        state = self.edge_item.look.state if self.edge_item.look else OK
        broken = state in (ERROR, MISSING)
        color = theme.edge_error if broken else theme.edge_warning if state == WARNING else theme.text_dim
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(theme.label_fill)
        painter.setPen(theme.pens["label_error" if broken else "label_warning" if state == WARNING else "label_ok"])
        rect = self.rect().adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(rect, 7.5, 7.5)
        painter.setFont(theme.fonts["label"])
        painter.setPen(color)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.text)


class EdgeItem(QGraphicsPathItem):
    """One edge of a :class:`Level`, attached to its two node items (which re-route it when they move)."""

    def __init__(self, style: Style, level: Level, edge: Edge, src: NodeItem, dst: NodeItem,
                 parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.style = style
        self.level = level
        self.edge = edge
        self.src = src
        self.dst = dst
        self.look: EdgeLook | None = None
        self.hovered = False
        self.marked = False  # picked for deletion; edges are not Qt-selectable so Qt paints them in C++
        self._hit = QPainterPath()
        self._texts: list[tuple[str, float]] = []
        self._ends: tuple[QPointF, QPointF] | None = None
        self.laned = False  # routed along the gap above its destination's row (see lane_path)
        self.label = EdgeLabel(self)
        self.setZValue(-1.0)
        self.setAcceptHoverEvents(level.editable)
        if not level.editable:
            self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        src.edges.add(self)
        dst.edges.add(self)
        self.refresh()
        self.update_path()

    @property
    def key(self) -> tuple[str, str]:
        return self.edge.dst, self.edge.dst_port

    def detach(self) -> None:
        self.src.edges.discard(self)
        self.dst.edges.discard(self)

    def refresh(self, force: bool = False) -> bool:
        look = self.level.edge_look(self.edge)
        if force:
            self.label.update()  # the theme may have changed: drop the label's cached pixmap
        if look == self.look and not force:
            return False
        self.look = look
        self.setToolTip(look.tooltip)
        self.label.setToolTip(look.tooltip)
        theme = self.style.theme
        compact = look.text[2:] if look.text.startswith("N×") else look.text
        # Longest first: the full shape, the shape without the batch "N×", nothing (the tooltip keeps it).
        self._texts = [(t, theme.width("label", t) + 10.0) for t in dict.fromkeys((look.text, compact))]
        self._apply_pen()
        self._fit_label()
        return True

    def _fit_label(self) -> None:
        """Pick the longest label text that fits between the two nodes; level wires have little room."""
        if self._ends is None or not self._texts:
            return
        start, end = self._ends
        room = abs(end.x() - start.x()) - 4.0 if abs(end.y() - start.y()) < 24.0 else 1e9
        text = next((t for t, width in self._texts if width <= room), "")
        if text != self.label.text:
            self.label.set_text(text)

    def _apply_pen(self) -> None:
        state = self.look.state if self.look else OK
        if self.marked:
            name = "edge_selected"
        elif state == ERROR:
            name = "edge_error"
        elif state == MISSING:
            name = "edge_missing"
        elif state == WARNING:
            name = "edge_warning"
        else:
            name = "edge_hover" if self.hovered else "edge"
        if self.style.far and self.parentItem() is None:
            name += "_far"
        self.setPen(self.style.theme.pens[name])
        self._stack()

    def _stack(self) -> None:
        state = self.look.state if self.look else OK
        # A wire behind a selected or broken node should still read clearly: raise the loud ones. A wire that
        # runs along a lane crosses the gaps between columns where other wires carry their shape labels: it
        # goes under them, so it passes behind a label instead of striking through it.
        z = (-0.5 if (self.marked or state != OK) else -1.0) - (0.2 if self.laned else 0.0)
        if self.parentItem() is not None:
            z += 1.0  # inside a block frame: above the frame, below its nodes
        self.setZValue(z)

    def set_marked(self, marked: bool) -> None:
        if marked != self.marked:
            self.marked = marked
            self._apply_pen()

    def update_path(self) -> None:
        p0 = self.src.port_scene_pos(self.edge.src_port, True)
        p1 = self.dst.port_scene_pos(self.edge.dst_port, False)
        parent = self.parentItem()
        if parent is not None:
            p0, p1 = parent.mapFromScene(p0), parent.mapFromScene(p1)
        dst_top = self.dst.y()  # wire and nodes share a parent (the scene, or an opened block's frame)
        src_bottom = self.src.y() + (self.src.look.height if self.src.look is not None else 0.0)
        laned = True
        if needs_lane(p0, p1, dst_top):
            path, middle = lane_path(p0, p1, dst_top - LANE_ABOVE)
        elif drops_to_lower_row(p0, p1, src_bottom, dst_top):
            path, middle = lane_path(p0, p1, dst_top - LANE_NEAR)
        else:
            laned = False
            path = wire_path(p0, p1)
            middle = path.pointAtPercent(0.5)
        if laned != self.laned:
            self.laned = laned
            self._stack()
        self._ends = (p0, p1)
        self.setPath(path)
        stroker = QPainterPathStroker()
        stroker.setWidth(12.0)  # easy to hover and click, whatever the pen width
        self._hit = stroker.createStroke(path)
        self.label.setPos(middle)
        self._fit_label()

    def shape(self) -> QPainterPath:  # Qt names this
        return self._hit

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # Qt names this
        self.hovered = True
        self._apply_pen()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # Qt names this
        self.hovered = False
        self._apply_pen()
        super().hoverLeaveEvent(event)


class WireItem(QGraphicsPathItem):
    """The wire that follows the cursor while a connection is being dragged."""

    def __init__(self, style: Style, anchor: QPointF, from_output: bool) -> None:
        super().__init__()
        self.style = style
        self.anchor = anchor
        self.from_output = from_output
        self.setPen(style.theme.pens["wire"])
        self.setZValue(10.0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.follow(anchor)

    def follow(self, point: QPointF) -> None:
        if self.from_output:
            self.setPath(wire_path(self.anchor, point))
        else:
            self.setPath(wire_path(point, self.anchor))

    def refuse(self) -> None:
        """Turn red: the drop was refused (the view removes the wire a moment later)."""
        self.setPen(self.style.theme.pens["wire_refused"])
