"""The canvas widget: navigation, gestures and the commands the main window calls.

The view never changes the graph itself: every gesture becomes an edit pushed onto the shared
:class:`EditStack`, and the scene redraws from the document's change notification. Refused edits are
explained through :attr:`GraphView.status_message`.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPixmapCache,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from neuralforge_desktop.core.edit import canvas_edits, placement
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import AddNode, Edit, Macro, MoveNodes, SetMeta
from neuralforge_desktop.core.ir.graph import GraphError, Node
from neuralforge_desktop.core.ir.layout import COLUMN_GAP, DEFAULT_AREA, ORIENTATIONS, Orientation, layout_positions
from neuralforge_desktop.ui.bridge import COMPONENT_MIME, LAYER_MIME, DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas.commands import CommandsMixin
from neuralforge_desktop.ui.canvas.component_insert import ComponentInsertMixin
from neuralforge_desktop.ui.canvas.edge_item import LOD_FAR, LOD_LABEL, LOD_WIRES
from neuralforge_desktop.ui.canvas.export import Diagram, ExportOptions, export_graph
from neuralforge_desktop.ui.canvas.gestures import GestureMixin
from neuralforge_desktop.ui.canvas.minimap import Minimap
from neuralforge_desktop.ui.canvas.node_item import CONCEPT_WIDTH, PORT_Y, WIDTH, NodeItem
from neuralforge_desktop.ui.canvas.quick_add import QuickAddPopup
from neuralforge_desktop.ui.canvas.scene import BACKDROPS, GraphScene
from neuralforge_desktop.ui.canvas.style import GRID
from neuralforge_desktop.ui.theme import canvas_theme
from neuralforge_desktop.ui.undo import EditStack

MIN_ZOOM, MAX_ZOOM = 0.002, 4.0
STEP = 1.25
READABLE_ZOOM = 0.6  # node names and wire shapes still read; fitting never goes below it
LAYOUT_ZOOM = 0.8  # Auto Layout wraps a graph to fit the canvas at this zoom, where it can
FIT_MARGIN = 24


class GraphView(CommandsMixin, ComponentInsertMixin, GestureMixin, QGraphicsView):
    """The node-graph canvas over ``bridge``'s document."""

    status_message = Signal(str)

    def __init__(self, bridge: DocumentBridge, selection: SelectionModel, edits: EditStack,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.edits = edits
        self.graph_scene = GraphScene(bridge, self, lazy=True)
        self.setScene(self.graph_scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        # Minimal updates + cached background + per-item pixmap caches keep panning cheap on big graphs.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        # No scrollbars: the canvas is endless; wheel, middle-drag, space-drag and the minimap move it.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 96 * 1024))  # room for every visible node
        self._selection_guard = False
        self._paste = ("", 0)
        self._content = QRectF()
        self._popup: QuickAddPopup | None = None
        self._shown_once = False
        self.layout_direction: Orientation = "wrapped"  # how Auto Layout and new templates are arranged
        self.init_gestures()
        self.minimap = Minimap(self)
        self.graph_scene.selectionChanged.connect(self._scene_selection_changed)
        self.graph_scene.content_changed.connect(self._content_changed)
        # Bound methods, not lambdas: Qt drops a bound slot's connection when this view is destroyed.
        self.graph_scene.rebuilt.connect(self._on_rebuilt)
        self.graph_scene.retitle_requested.connect(self._on_retitle)
        self.selection.changed.connect(self._model_selection_changed)
        self.bridge.changed.connect(self._on_document_changed)
        self.horizontalScrollBar().valueChanged.connect(self.minimap.update_visible_rect)
        self.verticalScrollBar().valueChanged.connect(self.minimap.update_visible_rect)
        self._content_changed()

    def _on_rebuilt(self) -> None:
        QTimer.singleShot(0, self, self.fit_all)  # once the new items have their sizes and the view its own

    def _on_retitle(self, records: list) -> None:
        self.push(SetMeta(BACKDROPS, records, label="Rename backdrop"))

    def _on_document_changed(self, change: object) -> None:
        self.minimap.schedule_refit()
        graph = self.graph_scene.graph
        if any(nid not in graph.nodes for nid in self.selection.ids):
            # A renamed node keeps its (selected) item; tell the other panels its new id.
            self._scene_selection_changed()

    # -- helpers -------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def push(self, edit: Edit) -> bool:
        """Push ``edit``; a refusal becomes a status message. True when it was applied."""
        try:
            self.edits.push_edit(edit)
        except GraphError as exc:
            self.status_message.emit(str(exc))
            return False
        return True

    def selected_ids(self) -> list[str]:
        """Selected top-level node ids, in the shared selection's order."""
        chosen = {item.node_id for item in self.graph_scene.selectedItems()
                  if isinstance(item, NodeItem) and item.level.editable}
        ordered = [nid for nid in self.selection.ids if nid in chosen]
        rest = chosen - set(ordered)
        return ordered + [nid for nid in self.graph_scene.graph.nodes if nid in rest]  # newly picked: file order

    def _select(self, ids: list[str]) -> None:
        self.selection.set([nid for nid in ids if nid in self.graph_scene.nodes])

    # -- selection both ways -------------------------------------------------------------------------
    def _scene_selection_changed(self) -> None:
        if self._selection_guard:
            return
        self._selection_guard = True
        try:
            self.selection.set(self.selected_ids())
        finally:
            self._selection_guard = False

    def _model_selection_changed(self, ids: list[str]) -> None:
        if self._selection_guard:
            return
        self._selection_guard = True
        try:
            wanted = set(ids)
            for item in self.graph_scene.selectedItems():
                if isinstance(item, NodeItem) and item.node_id not in wanted:
                    item.setSelected(False)
            for nid in ids:
                item = self.graph_scene.nodes.get(nid)
                if item is not None and not item.isSelected():
                    item.setSelected(True)
        finally:
            self._selection_guard = False
        current = self.graph_scene.nodes.get(ids[-1]) if ids else None
        if current is not None and self.isVisible():  # picked in another panel: bring it into view
            seen = self.mapToScene(self.viewport().rect()).boundingRect()
            if not seen.contains(current.sceneBoundingRect()):  # already in sight: the view stays still
                self.ensureVisible(current.sceneBoundingRect(), 60, 60)

    # -- extent --------------------------------------------------------------------------------------
    def _content_changed(self) -> None:
        self._content = self.graph_scene.content_rect()
        self._update_scene_rect()
        self.minimap.schedule_refit()

    def content_rect(self) -> QRectF:
        """The area the graph covers (cached; refreshed when nodes come, go or move)."""
        return QRectF(self._content)

    def _update_scene_rect(self) -> None:
        """Let the user pan a screen beyond the graph in every direction, at any zoom."""
        zoom = max(self.zoom, MIN_ZOOM)
        mx = self.viewport().width() / zoom
        my = self.viewport().height() / zoom
        content = self._content if not self._content.isEmpty() else QRectF(0, 0, 1, 1)
        rect = content.adjusted(-mx, -my, mx, my)
        if rect != self.sceneRect():
            center = self.mapToScene(self.viewport().rect().center())
            self.setSceneRect(rect)
            self.centerOn(center)

    # -- zoom and pan --------------------------------------------------------------------------------
    def _zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        factor = target / self.zoom
        if abs(factor - 1.0) < 1e-9:
            return
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        self.scale(factor, factor)
        self._update_scene_rect()
        after = self.mapToScene(anchor)
        shift = (before - after) * self.zoom
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(shift.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(shift.y()))
        self._zoom_changed()

    def _build_shown(self) -> None:
        """Give the scene's nodes and wires in sight (and half a screen around) their items."""
        seen = self.mapToScene(self.viewport().rect()).boundingRect()
        margin_x, margin_y = seen.width() / 2.0, seen.height() / 2.0
        self.graph_scene.build_around(seen.adjusted(-margin_x, -margin_y, margin_x, margin_y))

    def _zoom_changed(self) -> None:
        self._build_shown()
        far = self.zoom < LOD_FAR
        self.graph_scene.set_detail(labels=self.zoom >= LOD_LABEL, far=far, wires=self.zoom >= LOD_WIRES)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, not far)  # hairlines need no smoothing
        self.minimap.update_visible_rect()

    def set_zoom(self, zoom: float) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %) around the middle of the view."""
        self._zoom_by(zoom / self.zoom)

    def zoom_in(self) -> None:
        self._zoom_by(STEP)

    def zoom_out(self) -> None:
        self._zoom_by(1.0 / STEP)

    def _fit(self, rect: QRectF, most: float, least: float = MIN_ZOOM, start: QRectF | None = None) -> None:
        """Zoom to show ``rect`` (at most ``most``). Where that needs less than ``least``, zoom to ``least``
        instead and show the part of ``rect`` nearest ``start``, beginning at its top-left."""
        if rect.isEmpty():
            self.resetTransform()
            self._update_scene_rect()
            self.centerOn(rect.center())
            self._zoom_changed()
            return
        self.resetTransform()
        self._update_scene_rect()
        view = self.viewport().rect().adjusted(FIT_MARGIN, FIT_MARGIN, -FIT_MARGIN, -FIT_MARGIN)
        zoom = max(min(view.width() / rect.width(), view.height() / rect.height(), most), least, MIN_ZOOM)
        self.scale(zoom, zoom)
        self._update_scene_rect()
        center = rect.center()
        if start is not None:
            seen_w, seen_h = view.width() / zoom, view.height() / zoom
            if rect.width() > seen_w:
                left = min(max(start.left(), rect.left()), rect.right() - seen_w)
                center.setX(left + seen_w / 2.0)
            if rect.height() > seen_h:
                top = min(max(start.top(), rect.top()), rect.bottom() - seen_h)
                center.setY(top + seen_h / 2.0)
        self.centerOn(center)
        self._zoom_changed()

    def fit_all(self) -> None:
        """Show the whole graph (up to 100 %), but never below :data:`READABLE_ZOOM`: a graph too big for
        that is shown readable from its start (its inputs), and the rest is a scroll away."""
        self._content = self.graph_scene.content_rect()
        start = self.graph_scene.start_rect()
        if start.width() > self.viewport().width() / READABLE_ZOOM:  # many inputs side by side: the first
            start = QRectF(start.topLeft(), start.topLeft())
        self._fit(self.graph_scene.drawn_rect(), 1.0, READABLE_ZOOM, start)

    def fit_whole(self) -> None:
        """Show the whole graph however small it gets (an overview of a big model)."""
        self._content = self.graph_scene.content_rect()
        self._fit(self.graph_scene.drawn_rect(), 1.0)

    def zoom_to_selection(self) -> None:
        rect = QRectF()
        for item in self.graph_scene.selectedItems():
            rect = rect.united(item.sceneBoundingRect())
        if rect.isEmpty():
            self.status_message.emit("select some nodes to zoom to")
            return
        self._fit(rect.adjusted(-40, -40, 40, 40), 1.5)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt names this
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self._zoom_by(1.0015 ** delta, event.position().toPoint())
        event.accept()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # Qt names this
        super().scrollContentsBy(dx, dy)
        self._build_shown()
        if self._popup is not None and self._popup.isVisible():
            self._popup.close()

    def showEvent(self, event: QShowEvent) -> None:  # Qt names this
        super().showEvent(event)
        if not self._shown_once:  # a graph given before the window opened: show all of it
            self._shown_once = True
            if self.graph_scene.nodes:
                self.fit_all()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt names this
        super().resizeEvent(event)
        self._update_scene_rect()
        self._build_shown()
        self.minimap.place()
        self.minimap.update_visible_rect()

    # -- background grid -----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # Qt names this
        style = self.graph_scene.style
        painter.fillRect(rect, style.theme.background)
        zoom = self.zoom
        unbuilt = self.graph_scene.unbuilt_rects(rect)
        if unbuilt:  # a zoomed-out view of a huge graph: nodes still being built show as flat cards
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.theme.edge)
            painter.drawRects(unbuilt)
        for step, pen, min_px in ((GRID, style.theme.pens["grid_minor"], 9.0),
                                  (GRID * 5, style.theme.pens["grid_major"], 14.0)):
            if step * zoom < min_px:  # lines closer than this are noise, and cost a frame
                continue
            painter.setPen(pen)
            left = int(rect.left() // step) * step
            top = int(rect.top() // step) * step
            x = left
            lines = []
            while x <= rect.right():
                lines.append(QPointF(x, rect.top()))
                lines.append(QPointF(x, rect.bottom()))
                x += step
            y = top
            while y <= rect.bottom():
                lines.append(QPointF(rect.left(), y))
                lines.append(QPointF(rect.right(), y))
                y += step
            painter.drawLines(lines)

    # -- keyboard ------------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:  # Qt names this
        # Tab would move focus to the next widget; on the canvas it opens the quick-add search.
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab \
                and self.graph_scene.focusItem() is None:
            self.quick_add()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt names this
        if self.graph_scene.focusItem() is not None:  # a backdrop title being edited takes the keys
            super().keyPressEvent(event)
            return
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_pressed(True)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selection()
        elif key == Qt.Key.Key_Escape:
            self.cancel_wire()
        elif event.matches(QKeySequence.StandardKey.Copy):
            QApplication.clipboard().setText(self.copy_selection())
        elif event.matches(QKeySequence.StandardKey.Cut):
            QApplication.clipboard().setText(self.copy_selection())
            self.delete_selection()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste(QApplication.clipboard().text())
        elif ctrl and key == Qt.Key.Key_D:
            self.duplicate_selection()
        elif ctrl and key == Qt.Key.Key_G:
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.expand_selected_block()
            else:
                self.group_selection()
        elif key == Qt.Key.Key_F and not ctrl:
            self.zoom_to_selection() if self.selected_ids() else self.fit_all()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # Qt names this
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_pressed(False)
        super().keyReleaseEvent(event)

    # -- drops from the palette ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt names this
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(COMPONENT_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # Qt names this
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(COMPONENT_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # Qt names this
        if event.mimeData().hasFormat(COMPONENT_MIME):
            name = bytes(event.mimeData().data(COMPONENT_MIME).data()).decode("utf-8").strip()
            self.insert_component(name, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            return
        if not event.mimeData().hasFormat(LAYER_MIME):
            event.ignore()
            return
        type_name = bytes(event.mimeData().data(LAYER_MIME).data()).decode("utf-8").strip()
        self.add_layer(type_name, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

    # -- commands ------------------------------------------------------------------------------------
    def _place(self, pos: QPointF | None) -> tuple[float, float]:
        """Top-left for a new node: centred under ``pos``; else right of the current node or mid-view;
        moved down until it overlaps nothing."""
        if pos is not None:
            x, y = pos.x() - WIDTH / 2.0, pos.y() - PORT_Y
        else:
            current = self.graph_scene.nodes.get(self.selection.current or "")
            if current is not None and current.look is not None:
                x, y = current.x() + current.look.width + COLUMN_GAP, current.y()
            else:
                center = self.mapToScene(self.viewport().rect().center())
                x, y = center.x() - WIDTH / 2.0, center.y() - PORT_Y
            for _ in range(50):
                probe = QRectF(x, y, WIDTH, 60.0).adjusted(-10, -10, 10, 10)
                if not any(isinstance(i, NodeItem) for i in self.graph_scene.items(probe)):
                    break
                y += 110.0
        if self.graph_scene.style.snap:
            x, y = round(x / GRID) * GRID, round(y / GRID) * GRID
        return float(x), float(y)

    def add_layer(self, type_name: str, pos: QPointF | None = None) -> str:
        """Add a ``type_name`` node (centred at scene ``pos`` if given) and select it; returns its id, or ""
        when refused (the reason goes to ``status_message``)."""
        try:
            node = canvas_edits.new_node(self.graph_scene.graph, type_name, self._place(pos))
        except GraphError as exc:
            self.status_message.emit(str(exc))
            return ""
        if not self.push(AddNode(node, label=f"Add {type_name}")):
            return ""
        self._select([node.id])
        return node.id

    def quick_add(self, pos: QPointF | None = None) -> QuickAddPopup:
        """Open the layer search. With a node selected and no ``pos`` (Tab), the chosen layer goes
        downstream of that node, clear of the others; with ``pos`` (a double-click) it goes there; else at
        the cursor or mid-view. It is wired from the selected node's first free output when that is legal."""
        source = self.selection.current if self.selection.current in self.graph_scene.nodes else None
        downstream = pos is None and source is not None
        if pos is None:
            local = self.viewport().mapFromGlobal(self.cursor().pos())
            inside = self.viewport().rect().contains(local)
            pos = self.mapToScene(local if inside else self.viewport().rect().center())
        where = QPointF(pos)
        if downstream:
            x, y = self._downstream_of(source or "").position
            where = QPointF(x + WIDTH / 2.0, y + PORT_Y)
            self.ensureVisible(QRectF(x, y, WIDTH, 60.0), 40, 40)

        def chosen(type_name: str) -> None:
            self._add_connected(type_name, None if downstream else where, source)

        if self._popup is None:  # one popup, reused: opening it is then instant
            self._popup = QuickAddPopup(self)
        self._popup.open_at(self.viewport().mapToGlobal(self.mapFromScene(where)), chosen)
        return self._popup

    def _downstream_of(self, source: str) -> placement.Placement:
        """Where a node added after ``source`` goes, and what moves out of its way (sizes as drawn; an
        opened block counts as the card it replaces, since the view already makes room around it); below it
        when the graph is laid out top to bottom."""
        style = self.graph_scene.style
        sizes = self.graph_scene.node_sizes()
        # A node with a summary row or several named ports is taller than a bare card: leave it that room.
        new_size = (CONCEPT_WIDTH if style.concept else WIDTH, 80.0 if not style.concept else 140.0)
        return placement.place_downstream(self.graph_scene.graph, sizes, source, new_size,
                                          "down" if self.layout_direction == "vertical" else "right",
                                          grid=GRID if style.snap else None)

    def _add_connected(self, type_name: str, pos: QPointF | None, source: str | None) -> str:
        """Add ``type_name`` at ``pos`` (None: downstream of ``source``, shifting what is in the way), wired
        from ``source`` when legal: one undo step."""
        graph = self.graph_scene.graph
        spot = self._downstream_of(source) if pos is None and source in graph.nodes else None
        try:
            node = canvas_edits.new_node(graph, type_name, spot.position if spot else self._place(pos))
        except GraphError as exc:
            self.status_message.emit(str(exc))
            return ""
        return self._push_placed(node, source, spot, f"Add {type_name}")

    def _push_placed(self, node: Node, source: str | None, spot: placement.Placement | None, label: str) -> str:
        """Add ``node`` wired from ``source`` when legal, moving what ``spot`` says is in the way: one undo step;
        selects it and returns its id ("" when refused)."""
        graph = self.graph_scene.graph
        edge, reason = (canvas_edits.auto_connect_edge(graph, self.bridge.document.shapes, source, node)
                        if source else (None, ""))
        add = AddNode(node, (edge,) if edge else (), label=label)
        edit: Edit = Macro((MoveNodes(spot.moves, label="Make room"), add), label=add.label) \
            if spot and spot.moves else add
        if not self.push(edit):
            return ""
        if reason:
            self.status_message.emit(reason)
        self._select([node.id])
        return node.id

    def set_concept_mode(self, on: bool) -> None:
        self.graph_scene.style.concept = bool(on)
        self.graph_scene.restyle(geometry=True)
        self._content_changed()

    # -- layout ------------------------------------------------------------------------------------
    def set_layout_direction(self, orientation: str) -> None:
        """How Auto Layout and new templates arrange the graph: "horizontal", "vertical" or "wrapped"."""
        if orientation not in ORIENTATIONS:
            raise ValueError(f"unknown layout direction {orientation!r}")
        self.layout_direction = cast(Orientation, orientation)

    def layout_area(self) -> tuple[float, float]:
        """The scene area a wrapped layout should fill: this canvas at :data:`LAYOUT_ZOOM`."""
        width = self.viewport().width() - 2 * FIT_MARGIN
        height = self.viewport().height() - 2 * FIT_MARGIN
        if width < 200 or height < 150:  # not laid out on screen yet
            return DEFAULT_AREA
        return (width / LAYOUT_ZOOM, height / LAYOUT_ZOOM)

    def arrange(self, document: Document) -> None:
        """Lay out a document nobody has seen yet (a new template) in this canvas's layout direction, sized to
        the canvas. It sets the positions directly: the document opens this way, there is nothing to undo."""
        graph = document.graph
        positions = layout_positions(graph, sizes=self.graph_scene.measure(document),
                                     orientation=self.layout_direction, area=self.layout_area())
        for nid, position in positions.items():
            graph.nodes[nid].position = position

    def set_theme(self, name: str) -> None:
        self.graph_scene.style.theme = canvas_theme(name)
        self.graph_scene.restyle(geometry=False)
        self.resetCachedContent()
        self.viewport().update()
        self.minimap.refit()

    def set_snap_to_grid(self, on: bool) -> None:
        self.graph_scene.style.snap = bool(on)

    def set_minimap_enabled(self, on: bool | None) -> None:
        """Switch the minimap on or off; None: on only where the canvas has room to spare (see minimap.ROOMY)."""
        self.minimap.choice = None if on is None else bool(on)
        self.minimap.update_visible_rect()

    def export_image(self, path: str, options: ExportOptions | None = None) -> Diagram:
        """Write a diagram of the graph to ``path`` (.png, .svg or .pdf), drawn from a copy: full detail at
        any zoom, and a new layout (``options.layout``) never moves the nodes on the canvas."""
        try:
            diagram = export_graph(self.graph_scene.graph, path, options or ExportOptions(), canvas=self.graph_scene)
        except (ValueError, OSError) as exc:
            self.status_message.emit(str(exc))
            raise
        self.status_message.emit(f"exported {diagram.path.name}")
        return diagram
