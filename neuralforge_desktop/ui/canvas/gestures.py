"""Mouse gestures of the canvas: wiring ports, panning, picking wires, moving and double-clicking.

A mixin of :class:`GraphView` so the view file stays about commands; every gesture ends in one edit (or a
status message saying why not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

from neuralforge_desktop.core.edit import canvas_edits
from neuralforge_desktop.core.edit.canvas_edits import PortRef
from neuralforge_desktop.core.ir.graph import GraphError
from neuralforge_desktop.ui.canvas.backdrop_item import BackdropItem
from neuralforge_desktop.ui.canvas.edge_item import EdgeItem, WireItem
from neuralforge_desktop.ui.canvas.node_item import NodeItem
from neuralforge_desktop.ui.canvas.port_item import PortItem

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView

SNAP_RADIUS = 14  # view pixels around the cursor searched for a port to drop on
FLASH_MS = 450


class GestureMixin:
    def init_gestures(self: GraphView) -> None:
        self._wire: tuple[PortItem, WireItem] | None = None
        self._target: PortItem | None = None
        self._pan_from: QPoint | None = None
        self._space = False

    # -- lookup --------------------------------------------------------------------------------------
    def port_at(self: GraphView, pos: QPoint, exclude: PortItem | None = None,
                editable: bool = True) -> PortItem | None:
        """The port (editable ones only, by default) nearest to view position ``pos`` within a few pixels."""
        box = QRect(pos.x() - SNAP_RADIUS, pos.y() - SNAP_RADIUS, 2 * SNAP_RADIUS, 2 * SNAP_RADIUS)
        here = self.mapToScene(pos)
        best: tuple[float, PortItem] | None = None
        for item in self.items(box):
            if isinstance(item, PortItem) and item is not exclude and (item.editable or not editable):
                d = (item.scenePos() - here).manhattanLength()
                if best is None or d < best[0]:
                    best = (d, item)
        return best[1] if best else None

    def node_at(self: GraphView, pos: QPoint) -> NodeItem | None:
        """The innermost node under ``pos`` (a body node inside an opened block counts)."""
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    # -- wiring --------------------------------------------------------------------------------------
    def connect_ports(self: GraphView, a: PortRef, b: PortRef) -> bool:
        """Wire two ports (either order), as a port drag does. Refusals are explained and flashed red."""
        graph = self.graph_scene.graph
        try:
            edit = canvas_edits.connect_edit(graph, a, b)
        except GraphError as exc:
            self._refuse(a, b, str(exc))
            return False
        if edit is None:
            self.status_message.emit(f"{a} and {b} are already connected")
            return True
        try:
            self.edits.push_edit(edit)
        except GraphError as exc:
            self._refuse(a, b, str(exc))
            return False
        return True

    def _refuse(self: GraphView, a: PortRef, b: PortRef, reason: str) -> None:
        self.status_message.emit(reason)
        wire = self._wire[1] if self._wire is not None else None
        if wire is None:  # called without a drag: draw the refused wire for the flash
            nodes = self.graph_scene.nodes
            if a.node not in nodes or b.node not in nodes:
                return
            wire = WireItem(self.graph_scene.style, nodes[a.node].port_scene_pos(a.port, a.output), a.output)
            self.graph_scene.addItem(wire)
            wire.follow(nodes[b.node].port_scene_pos(b.port, b.output))
        else:
            self._wire = None
        wire.refuse()
        # Owned by the view: if the canvas is gone before the flash ends, the timer goes with it.
        QTimer.singleShot(FLASH_MS, self, lambda: _remove(wire))

    def _start_wire(self: GraphView, port: PortItem) -> None:
        wire = WireItem(self.graph_scene.style, port.scenePos(), port.output)
        self.graph_scene.addItem(wire)
        self._wire = (port, wire)
        port.node_item.set_highlight((port.name, port.output))

    def _drag_wire(self: GraphView, pos: QPoint) -> None:
        assert self._wire is not None
        start, wire = self._wire
        target = self.port_at(pos, exclude=start)
        if target is not None and target.output == start.output:
            target = None  # only ports of the other direction attract the wire
        if target is not self._target:
            if self._target is not None:
                self._target.node_item.set_highlight(None)
            if target is not None:
                target.node_item.set_highlight((target.name, target.output))
            self._target = target
        wire.follow(target.scenePos() if target is not None else self.mapToScene(pos))

    def _finish_wire(self: GraphView, pos: QPoint) -> None:
        assert self._wire is not None
        start, wire = self._wire
        start.node_item.set_highlight(None)
        if self._target is not None:
            self._target.node_item.set_highlight(None)
        self._target = None
        target = self.port_at(pos, exclude=start)
        if target is None:
            target = self._port_on_node(self.node_at(pos), start)
        if target is None:
            self.cancel_wire()
            self.status_message.emit("drop the wire on a port of another node (outputs on the right, inputs on the "
                                     "left)")
            return
        if self.connect_ports(start.ref, target.ref):
            self.cancel_wire()

    def _port_on_node(self: GraphView, node: NodeItem | None, start: PortItem) -> PortItem | None:
        """Dropped on a node's body: its first free input (or first output, wiring backwards)."""
        if node is None or not node.level.editable or node is start.node_item:
            return None
        ports = [p for p in node.ports.values() if p.output != start.output]
        if not start.output:
            return ports[0] if ports else None
        incoming = node.level.graph.incoming(node.node_id)
        free = [p for p in ports if p.name not in incoming]
        return (free or ports or [None])[0]

    def cancel_wire(self: GraphView) -> None:
        if self._wire is not None:
            start, wire = self._wire
            start.node_item.set_highlight(None)
            if wire.scene() is not None:
                wire.scene().removeItem(wire)
            self._wire = None
        if self._target is not None:
            self._target.node_item.set_highlight(None)
            self._target = None

    # -- panning -------------------------------------------------------------------------------------
    def space_pressed(self: GraphView, down: bool) -> None:
        self._space = down
        self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if down else Qt.CursorShape.ArrowCursor)

    # -- mouse ---------------------------------------------------------------------------------------
    def mousePressEvent(self: GraphView, event: QMouseEvent) -> None:  # Qt names this
        pos = event.position().toPoint()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = pos
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            port = self.port_at(pos)
            if port is not None:
                self._start_wire(port)
                event.accept()
                return
            if self.port_at(pos, editable=False) is not None:
                self.status_message.emit("an opened block's body is read-only here; expand the block to edit it")
            node = self.node_at(pos)
            edge = self._edge_at(pos) if node is None else None
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if not ctrl:
                for other in self.graph_scene.edges.built.values():
                    if other is not edge:
                        other.set_marked(False)
            if edge is not None:
                edge.set_marked(not edge.marked if ctrl else True)
                if not ctrl:
                    self.graph_scene.clearSelection()
                event.accept()
                return
        QGraphicsView.mousePressEvent(self, event)

    def _edge_at(self: GraphView, pos: QPoint) -> EdgeItem | None:
        for item in self.items(pos):
            if isinstance(item, EdgeItem) and item.level.editable:
                return item
            if isinstance(item, NodeItem | BackdropItem):
                return None
        return None

    def mouseMoveEvent(self: GraphView, event: QMouseEvent) -> None:  # Qt names this
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._wire is not None:
            self._drag_wire(pos)
            event.accept()
            return
        QGraphicsView.mouseMoveEvent(self, event)

    def mouseReleaseEvent(self: GraphView, event: QMouseEvent) -> None:  # Qt names this
        pos = event.position().toPoint()
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        if self._wire is not None:
            self._finish_wire(pos)
            event.accept()
            return
        QGraphicsView.mouseReleaseEvent(self, event)
        if event.button() == Qt.MouseButton.LeftButton:
            edit = self.graph_scene.geometry_edit()  # what the drag moved or resized, as one undo step
            if edit is not None:
                self.push(edit)

    def mouseDoubleClickEvent(self: GraphView, event: QMouseEvent) -> None:  # Qt names this
        pos = event.position().toPoint()
        if event.button() != Qt.MouseButton.LeftButton:
            return
        node = self.node_at(pos)
        if node is not None:
            if node.look is not None and node.look.block:
                self.toggle_block_collapsed(node.path)
            event.accept()
            return
        for item in self.items(pos):
            if isinstance(item, BackdropItem):
                local = item.mapFromScene(self.mapToScene(pos))
                if local.y() <= 30.0:
                    QGraphicsView.mouseDoubleClickEvent(self, event)  # the backdrop edits its title
                    return
                break
            if isinstance(item, EdgeItem):
                return
        self.quick_add(self.mapToScene(pos))
        event.accept()


def _remove(item: QGraphicsItem) -> None:
    if shiboken6.isValid(item) and item.scene() is not None:
        item.scene().removeItem(item)
