"""Comments on the canvas: a badge with the count of open comments on each commented node's card, the
Comments dock beside the canvas with the thread of one node (or of the whole graph), and "Comment on Node…" in
the canvas's context menu.

The badges are child items of the node cards, so they move with them and need nothing from the cards
themselves. Cards are built lazily as the view shows them, so the badges are synced after the scene changes
(debounced: at most once per event-loop pass). A graph is named by the id in its meta (see
:mod:`neuralforge_desktop.core.team.comments`); one never commented on gets it, as an undoable edit that marks
the document changed, when its first comment is written.
"""

from __future__ import annotations

import uuid
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QDockWidget,
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneMouseEvent,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from neuralforge_desktop.ui.comments.thread_panel import CommentThreadPanel

BADGE_FILL = QColor("#f9a825")
BADGE_H = 17.0


class CommentBadge(QGraphicsObject):
    """A small speech bubble with a count, over the top-right corner of a node's card."""

    clicked = Signal(str)  # the node id

    def __init__(self, node_id: str, count: int, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.node_id = node_id
        self.count = 0
        self.setZValue(10)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.set_count(count)

    def set_count(self, count: int) -> None:
        if count != self.count:
            self.prepareGeometryChange()
            self.count = count
            self.setToolTip(f"{count} open comment{'s' if count != 1 else ''}: click to read")
            self.update()

    @property
    def text(self) -> str:
        return str(self.count) if self.count < 100 else "99+"

    def width(self) -> float:
        return 22.0 + 7.0 * len(self.text)

    def boundingRect(self) -> QRectF:  # Qt names this
        return QRectF(-1.0, -1.0, self.width() + 2.0, BADGE_H + 6.0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w = self.width()
        bubble = QPainterPath()
        bubble.addRoundedRect(QRectF(0.0, 0.0, w, BADGE_H), BADGE_H / 2, BADGE_H / 2)
        tail = QPainterPath()  # the speech bubble's tail, pointing down at the card
        tail.moveTo(6.0, BADGE_H - 3.0)
        tail.lineTo(4.0, BADGE_H + 4.0)
        tail.lineTo(12.0, BADGE_H - 1.0)
        tail.closeSubpath()
        painter.setPen(QPen(QColor("#ffffff"), 1.2))
        painter.setBrush(BADGE_FILL)
        painter.drawPath(bubble.united(tail))
        painter.setPen(QPen(QColor("#3e2723"), 1.3))
        # three dots: "someone said something", then the count
        for i in range(3):
            painter.setBrush(QColor("#3e2723"))
            painter.drawEllipse(QPointF(6.0 + i * 3.6, BADGE_H / 2), 0.9, 0.9)
        font = QFont()
        font.setPixelSize(11)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#3e2723"))
        painter.drawText(QRectF(15.0, 0.0, w - 18.0, BADGE_H), Qt.AlignmentFlag.AlignCenter, self.text)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # Qt names this
        event.accept()
        self.clicked.emit(self.node_id)


class GraphThreadPanel(CommentThreadPanel):
    """The thread panel of the canvas's graph: gives the graph its id when its first comment is written."""

    def __init__(self, comments: CanvasComments, parent: QWidget | None = None) -> None:
        super().__init__(comments.store_path, parent)
        self.canvas_comments = comments

    def ensure_target_id(self) -> str | None:
        return self.canvas_comments.ensure_graph_id()


class CanvasComments(QObject):
    """Comment badges, the Comments dock and the context menu of ``window``'s canvas."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.view = window.view
        self.scene = self.view.graph_scene
        self.bridge = window.bridge
        self.store_path = window.store_path
        self.counts: dict[str, int] = {}
        self.badges: dict[str, CommentBadge] = {}
        self.dock: QDockWidget | None = None
        self.panel: GraphThreadPanel | None = None
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(0)
        self._sync_timer.timeout.connect(self.sync_badges)
        # Renamed nodes take their comments along at once; until the graph is saved the moves are remembered,
        # and undone if the edits are thrown away (another graph opened, the window closed without saving).
        self.unsaved_moves: dict[str, str] = {}  # node id in the saved file → node id now
        self._moves_graph_id: str | None = None
        self.bridge.changed.connect(self._on_changed)
        self.bridge.replaced.connect(self._on_replaced)
        self.bridge.saved.connect(self._on_saved)
        self.scene.changed.connect(lambda _rects: self._sync_timer.start())
        self.scene.rebuilt.connect(self._forget_badges)
        window.selection.changed.connect(self._selection_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.reload()

    # -- counts and badges -----------------------------------------------------------------------------------
    @property
    def graph(self) -> Any:
        return self.bridge.document.graph

    def graph_id(self) -> str | None:
        from neuralforge_desktop.core.team.comments import existing_graph_id

        return existing_graph_id(self.graph)

    def reload(self) -> None:
        """Read the open comment counts of the graph's nodes again and update the badges."""
        from neuralforge_desktop.core.store.sqlite_store import Store
        from neuralforge_desktop.core.team.comments import comment_counts

        graph_id = self.graph_id()
        if graph_id is None:
            self.counts = {}
        else:
            with Store(self.store_path) as store:
                self.counts = comment_counts(store, "graph", graph_id)
        self.sync_badges()

    def _on_changed(self, change: Any) -> None:
        from neuralforge_desktop.core.edit.edits import RenameNode
        from neuralforge_desktop.ui.canvas.scene import leaf_edits

        moves: dict[str, str] = {}
        for edit in leaf_edits(change.edit):
            if isinstance(edit, RenameNode):
                moves = compose_moves(moves, {edit.old: edit.new})
        graph_id = self.graph_id()
        if not moves or graph_id is None:
            return
        self._move_anchors(graph_id, moves)
        self.unsaved_moves = compose_moves(self.unsaved_moves, moves)
        self._moves_graph_id = graph_id
        self.reload()

    def _move_anchors(self, graph_id: str, moves: dict[str, str]) -> None:
        from neuralforge_desktop.core.store.sqlite_store import Store
        from neuralforge_desktop.core.team.comments import move_anchors

        with Store(self.store_path) as store:
            move_anchors(store, "graph", graph_id, moves)

    def _on_saved(self) -> None:
        self.unsaved_moves, self._moves_graph_id = {}, None  # the file now names the nodes as the comments do
        self.reload()

    def revert_unsaved_moves(self) -> None:
        """The renames were thrown away: their comments go back to the nodes as the saved file names them."""
        if self.unsaved_moves and self._moves_graph_id is not None:
            back = {new: old for old, new in self.unsaved_moves.items()}
            self._move_anchors(self._moves_graph_id, back)
        self.unsaved_moves, self._moves_graph_id = {}, None

    def _on_replaced(self) -> None:
        """Another graph: its badges, and the dock (when it was opened) on its comments."""
        self.revert_unsaved_moves()
        self.reload()
        if self.panel is not None and shiboken6.isValid(self.panel) and self.panel.graph is not self.graph:
            self.panel.show_target("graph", self.graph_id(), title=f"{self.graph.name}: all comments",
                                   graph=self.graph)

    def _forget_badges(self) -> None:
        self.badges = {}  # the scene's clear() deleted them with their cards
        self._sync_timer.start()

    def sync_badges(self) -> None:
        built = self.scene.nodes.built
        for node_id in list(self.badges):
            badge = self.badges[node_id]
            item = built.get(node_id)
            if (not shiboken6.isValid(badge) or item is None or badge.parentItem() is not item
                    or self.counts.get(node_id, 0) <= 0):
                if shiboken6.isValid(badge) and badge.scene() is not None:
                    badge.scene().removeItem(badge)
                del self.badges[node_id]
        for node_id, count in self.counts.items():
            item = built.get(node_id)
            if item is None or count <= 0 or item.look is None:
                continue
            badge = self.badges.get(node_id) or self._new_badge(node_id, count, item)
            badge.set_count(count)
            spot = QPointF(item.look.width - badge.width() + 8.0, -BADGE_H + 4.0)
            if badge.pos() != spot:
                badge.setPos(spot)

    def _new_badge(self, node_id: str, count: int, item: QGraphicsItem) -> CommentBadge:
        badge = CommentBadge(node_id, count, item)
        badge.clicked.connect(self.open_thread)
        self.badges[node_id] = badge
        return badge

    # -- the dock --------------------------------------------------------------------------------------------
    def ensure_dock(self) -> QDockWidget:
        if self.dock is None or not shiboken6.isValid(self.dock):
            self.panel = GraphThreadPanel(self)
            self.panel.changed.connect(lambda _kind, _id: self.reload())
            dock = QDockWidget("Comments", self.window)
            dock.setObjectName("dock.comments")
            dock.setWidget(self.panel)
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            # In the right column, as a tab beside the Summary (the column's taller slot): threads need height.
            summary = getattr(getattr(self.window, "docks", None), "summary", None)
            if summary is not None:
                self.window.tabifyDockWidget(summary, dock)
            self.dock = dock
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def open_thread(self, node_id: str | None) -> GraphThreadPanel:
        """Show the thread of ``node_id`` (None: every comment on the graph) in the Comments dock."""
        self.ensure_dock()
        assert self.panel is not None
        graph = self.graph
        if node_id is not None and node_id in graph.nodes:
            node = graph.node(node_id)
            title = f"{node.display_name} · {node.type}"
        else:
            node_id, title = None, f"{graph.name}: all comments"
        self.panel.show_target("graph", self.graph_id(), anchor=node_id, title=title, graph=graph)
        return self.panel

    def ensure_graph_id(self) -> str:
        """The graph's id, given to it now (an undoable edit: the document is then changed) if it has none."""
        from neuralforge_desktop.core.edit.edits import SetMeta
        from neuralforge_desktop.core.team.comments import GRAPH_ID_KEY, existing_graph_id

        current = existing_graph_id(self.graph)
        if current is not None:
            return current
        fresh = uuid.uuid4().hex
        self.view.push(SetMeta(GRAPH_ID_KEY, fresh, label="Give the graph a comment id"))
        return fresh

    def _selection_changed(self, ids: list[str]) -> None:
        """While the dock is open, it follows the selected node."""
        if (self.dock is None or not shiboken6.isValid(self.dock) or not self.dock.isVisible()
                or len(ids) != 1 or self.panel is None or self.panel.anchor == ids[0]):
            return
        self.open_thread(ids[0])

    # -- context menu ----------------------------------------------------------------------------------------
    def node_at(self, pos: QPoint) -> str | None:
        from neuralforge_desktop.ui.canvas.node_item import NodeItem

        for item in self.view.items(pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem) and item.node_id in self.graph.nodes:
                return str(item.node_id)
        return None

    def context_menu(self, pos: QPoint) -> QMenu:
        menu = QMenu(self.view)
        node_id = self.node_at(pos)
        if node_id is not None:
            count = self.counts.get(node_id, 0)
            text = f"Comments on Node ({count})…" if count else "Comment on Node…"
            action = menu.addAction(text, lambda: self.open_thread(node_id))
            action.setObjectName("comments.node")
        menu.addAction("Graph Comments…", lambda: self.open_thread(None)).setObjectName("comments.graph")
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        self.context_menu(pos).exec(self.view.viewport().mapToGlobal(pos))


def compose_moves(first: dict[str, str], then: dict[str, str]) -> dict[str, str]:
    """The renames ``first`` (name at the start → name now) followed by ``then`` (name now → new name, all at
    once, so a swap of two names is a swap); names back at their start drop out: a rename and its undo cancel."""
    result = {start: then.get(now, now) for start, now in first.items()}
    for now, new in then.items():
        if now not in first.values():
            result.setdefault(now, new)
    return {start: now for start, now in result.items() if start != now}


def install_canvas_comments(window: Any) -> CanvasComments:
    """Comment badges, the Comments dock and the context menu on ``window``'s canvas."""
    comments = CanvasComments(window)
    window.canvas_comments = comments
    return comments
