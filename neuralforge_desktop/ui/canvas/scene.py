"""The scene: one item per node, edge and backdrop of the document's top-level graph, kept in step with it.

Node and wire items are built on demand (see ``lazy_items``): for the area a view shows and for whatever looks
one up by id, so a graph of ten thousand nodes opens at the cost of the few hundred on screen. ``nodes`` and
``edges`` are mappings over the whole graph; their ``built`` dicts hold the items that exist.

Items only observe. On a :class:`DocumentChange` only the nodes the change names (plus the nodes whose
shapes were recomputed) and their edges refresh; structural changes add and remove just the affected
items; a replaced document rebuilds everything. Lint warnings (whole-graph, a few milliseconds on a
thousand nodes) are recomputed once the event loop is idle, so a burst of edits lints once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSizeF, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from neuralforge_desktop.core.analysis.level import Level
from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.edit.document import Document, DocumentChange
from neuralforge_desktop.core.edit.edits import (
    AddNode,
    Connect,
    Disconnect,
    Edit,
    Macro,
    MoveNodes,
    RemoveNode,
    RenameNode,
    SetLrMult,
    SetMeta,
    SetNodeText,
    SetParam,
    SetTrainable,
)
from neuralforge_desktop.core.edit.grouping import GroupIntoBlock, UngroupBlock
from neuralforge_desktop.core.ir.graph import Edge, Graph
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.canvas.backdrop_item import BackdropItem
from neuralforge_desktop.ui.canvas.concept_room import Spread
from neuralforge_desktop.ui.canvas.edge_item import EdgeItem
from neuralforge_desktop.ui.canvas.lazy_items import EdgeItems, LazyBuildMixin, NodeItems, PlacementIndex
from neuralforge_desktop.ui.canvas.node_item import NodeItem, Shift
from neuralforge_desktop.ui.canvas.room import RoomMixin, folded_size
from neuralforge_desktop.ui.canvas.style import Style
from neuralforge_desktop.ui.theme import DEFAULT_THEME, canvas_theme

BACKDROPS = "backdrops"
LAZY_ABOVE = 150  # refreshing more nodes than this at once: those on screen now, the rest when idle
CHUNK = 100  # nodes per idle batch: ~10 ms, under a frame
INDEX_SLACK = 2000.0  # room around the graph in the item index's rectangle, so small moves keep it
_STRUCTURAL = (AddNode, RemoveNode, Connect, Disconnect, RenameNode, GroupIntoBlock, UngroupBlock)


def leaf_edits(edit: Edit | None) -> Iterator[Edit]:
    """The plain edits inside (nested) macros."""
    if isinstance(edit, Macro):
        for inner in edit.edits:
            yield from leaf_edits(inner)
    elif edit is not None:
        yield edit


class GraphScene(RoomMixin, LazyBuildMixin, QGraphicsScene):
    rebuilt = Signal()  # a new document: views refit
    content_changed = Signal()  # nodes were added, removed or moved: the scene's extent may differ
    retitle_requested = Signal(list)  # new backdrop records after an in-place title edit; the view pushes them

    def __init__(self, bridge: DocumentBridge, parent: QObject | None = None, lazy: bool = False) -> None:
        """``lazy``: build items only for what views show (the canvas); otherwise build every item (a diagram
        export, a thumbnail: scenes drawn whole)."""
        super().__init__(parent)
        self.bridge = bridge
        self.lazy = lazy
        self.style = Style(canvas_theme(DEFAULT_THEME))
        self.warnings: dict[str, list[str]] = {}
        self.nodes = NodeItems(self)
        self.edges = EdgeItems(self)
        self.placement = PlacementIndex()
        self._known: set[str] = set()  # the node ids at the last structural sync (to tell new nodes apart)
        self._unbuilt_area = QRectF()  # what the views show that still has unbuilt nodes (built when idle)
        self._build_timer = QTimer(self)
        self._build_timer.setSingleShot(True)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_more)
        self.backdrops: dict[str, BackdropItem] = {}
        self._shifts: list[Shift] = []
        self._rows: list[tuple[float, float]] = []  # the row each opened block sits in (see _compute_rows)
        self._spread: Spread | None = None  # Concept Mode's larger cards: columns and rows moved apart
        self.labels_visible = True
        self.wires_visible = True
        self.level = Level(self.graph, self.document.shapes, "", True, self.warnings)
        self._lint_timer = QTimer(self)
        self._lint_timer.setSingleShot(True)
        # Lint is whole-graph (≈10 ms at 1,000 nodes): run it once typing or dragging pauses, not per edit.
        self._lint_timer.setInterval(120)
        self._lint_timer.timeout.connect(self._lint_in_background)
        self._pending: set[str] = set()  # nodes whose refresh was deferred (see refresh_nodes)
        self._pending_timer = QTimer(self)
        self._pending_timer.setSingleShot(True)
        self._pending_timer.setInterval(0)
        self._pending_timer.timeout.connect(self._drain)
        self._index_rect = QRectF()
        self.content_changed.connect(self._fit_index_rect)
        bridge.changed.connect(self._on_changed)
        bridge.edited.connect(self._on_changed)  # shown now; its shapes follow as a change when inferred
        bridge.replaced.connect(self.rebuild)
        self.rebuild()

    @property
    def document(self) -> Document:
        return self.bridge.document

    @property
    def graph(self) -> Graph:
        return self.bridge.document.graph

    # -- whole rebuild -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self._pending.clear()
        self.clearSelection()
        self.clear()
        self.nodes.built, self.edges.built, self.backdrops = {}, {}, {}
        self.edges.index()
        self._known = set(self.graph.nodes)
        self.placement.stale = True
        self.style.expanded.clear()
        self._shifts, self._rows = [], []
        self._spread = None
        self.level = Level(self.graph, self.document.shapes, "", True, self.warnings)
        if self.lazy:
            self.warnings.clear()
            # Whole-graph (~100 ms at 10,000 nodes): after the first paint (posted paints come in the next pass).
            QTimer.singleShot(0, self._lint_timer, self._lint_timer.start)
        else:
            self.update_lint(refresh=False)
        if self.lazy:
            self.build_around(self.visible_area())
        else:
            self.build_all()
        self._sync_backdrops()
        self.rebuilt.emit()
        self.content_changed.emit()

    def _remove_node(self, node_id: str) -> None:
        item = self.nodes.built.pop(node_id)
        for edge in list(item.edges):
            self._remove_edge(edge.key)
        self.removeItem(item)
        self.style.expanded.difference_update({p for p in self.style.expanded
                                               if p == node_id or p.startswith(node_id + "/")})

    def _add_edge(self, edge: Edge) -> EdgeItem | None:
        src, dst = self.nodes.built.get(edge.src), self.nodes.built.get(edge.dst)
        if src is None or dst is None:
            return None
        item = EdgeItem(self.style, self.level, edge, src, dst)
        item.label.setVisible(self.labels_visible)
        item.setVisible(self.wires_visible)
        self.addItem(item)
        self.edges.built[(edge.dst, edge.dst_port)] = item
        return item

    def _remove_edge(self, key: tuple[str, str]) -> None:
        item = self.edges.built.pop(key, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def _fit_index_rect(self) -> None:
        """Give the scene a fixed rectangle around the graph, moved only when the graph outgrows it.

        Without one, Qt grows the scene's rectangle from item geometry while processing every repaint, and
        each change rebuilds the whole item index: that was half the time of repainting a re-labelled
        wire at a thousand nodes. Items outside the rectangle are still found, only less quickly."""
        content = self.content_rect()
        if content.isEmpty() or self._index_rect.contains(content):
            return
        self._index_rect = content.adjusted(-INDEX_SLACK, -INDEX_SLACK, INDEX_SLACK, INDEX_SLACK)
        self.setSceneRect(self._index_rect)

    # -- incremental updates -------------------------------------------------------------------------
    def _on_changed(self, change: DocumentChange) -> None:
        graph = self.graph
        self.level.graph = graph
        self.level.shapes = self.document.shapes_so_far  # never waits: an edit's shapes may still be on their way
        touched: set[str] = set(change.changed)
        moved: set[str] = set()
        backdrops = False
        structural = change.structural
        unknown = False
        for edit in leaf_edits(change.edit):
            if isinstance(edit, MoveNodes):
                moved.update(edit.positions)
            elif isinstance(edit, SetNodeText | SetTrainable | SetLrMult | SetParam):
                touched.add(edit.node_id)
            elif isinstance(edit, SetMeta):
                backdrops = backdrops or edit.key == BACKDROPS
            elif isinstance(edit, _STRUCTURAL):
                structural = True
            else:
                unknown = True  # an edit this canvas does not know (a plugin's): compare everything
        fresh: set[str] = set()
        if structural or unknown:
            renames = [e for e in leaf_edits(change.edit) if isinstance(e, RenameNode)]
            more, fresh = self._sync_structure(renames)
            touched |= more
        if unknown:
            touched |= set(self.nodes.built)
            moved |= set(self.nodes.built)
            backdrops = True
        self._sync_positions(moved - fresh)
        self.refresh_nodes(touched - fresh)  # items built just now already show the current state
        self._update_shifts()
        if backdrops:
            self._sync_backdrops()
        if structural or moved or unknown:
            self.placement.stale = True
            self.content_changed.emit()
        self._lint_timer.start()

    def _sync_positions(self, node_ids: set[str]) -> None:
        self.style.syncing = True
        try:
            for nid in node_ids:
                item = self.nodes.built.get(nid)
                if item is not None and nid in self.graph.nodes:
                    x, y = self.target_pos(nid)
                    if (item.x(), item.y()) != (x, y):
                        item.setPos(x, y)
        finally:
            self.style.syncing = False

    def refresh_nodes(self, node_ids: set[str], force: bool = False) -> None:
        """Refresh the named nodes and every edge touching them (labels, colours, routes).

        An edit near the input of a big graph changes every shape after it. Then the nodes on screen
        refresh now and the rest in small batches while the event loop is idle, so the edit never
        freezes the canvas (a thousand nodes take ~100 ms to refresh in one go). Nodes without items need
        nothing: an item shows the current state when it is built."""
        built = self.nodes.built
        node_ids = {n for n in node_ids if n in built}
        if len(node_ids) > LAZY_ABOVE and not force:
            visible = self.visible_area()
            now = {n for n in node_ids if built[n].sceneBoundingRect().intersects(visible)}
            self._pending |= node_ids - now
            self._pending_timer.start()
            node_ids = now
        self._refresh_now(node_ids, force)

    def flush_refresh(self) -> None:
        """Bring every item up to date now (before exporting, say)."""
        pending, self._pending = self._pending, set()
        self._refresh_now(pending, False)

    def _drain(self) -> None:
        batch = {self._pending.pop() for _ in range(min(CHUNK, len(self._pending)))}
        self._refresh_now(batch, False)
        if self._pending:
            self._pending_timer.start()
        elif self.style.concept:
            self._update_shifts()  # every card has its Concept Mode size now

    def visible_area(self) -> QRectF:
        area = QRectF()
        for view in self.views():
            area = area.united(view.mapToScene(view.viewport().rect()).boundingRect())
        return area

    def _refresh_now(self, node_ids: set[str], force: bool) -> None:
        edges: set[EdgeItem] = set()
        for nid in node_ids:
            item = self.nodes.built.get(nid)
            if item is None:
                continue
            item.refresh(force)
            edges.update(item.edges)
        for edge in edges:
            edge.refresh(force)

    def _sync_structure(self, rename: list[RenameNode]) -> tuple[set[str], set[str]]:
        """Add and remove the items whose nodes or edges came or went; returns the nodes to refresh and
        the nodes whose items were built just now."""
        graph = self.graph
        built = self.nodes.built
        touched: set[str] = set()
        fresh: set[str] = set()
        self.edges.index()
        self.placement.stale = True
        for edit in rename:  # keep the item (and its selection) when a node is only renamed
            for old, new in ((edit.old, edit.new), (edit.new, edit.old)):
                if old in built and old not in graph.nodes and new in graph.nodes and new not in built:
                    item = built.pop(old)
                    for edge in list(item.edges):
                        self._remove_edge(edge.key)
                    item.node_id = new
                    built[new] = item
                    touched.add(new)
        for nid in [n for n in built if n not in graph.nodes]:
            for edge in built[nid].edges:
                touched.update((edge.edge.src, edge.edge.dst))
            self._remove_node(nid)
        # A node new to the graph (added, pasted, undone back) gets its item now: it is usually on screen, and
        # the edit's caller may select it. Nodes that merely have no item yet keep waiting to be seen.
        for nid in graph.nodes:
            if nid not in self._known and nid not in built:
                self.build_node(nid)
                fresh.add(nid)
        self._known = set(graph.nodes)
        current = self.edges.by_key
        for key in [k for k, item in self.edges.built.items() if current.get(k) != item.edge]:
            stale = self.edges.built[key].edge
            touched.update((stale.src, stale.dst))
            self._remove_edge(key)
        for key, edge in current.items():
            if key not in self.edges.built and edge.src in built and edge.dst in built:
                self._add_edge(edge)
                touched.update((edge.src, edge.dst))
        return {n for n in touched if n in graph.nodes}, fresh

    # -- lint ----------------------------------------------------------------------------------------
    def _lint_in_background(self) -> None:
        if self.document.shapes_pending:
            return  # linting needs the shapes: the change that brings them starts the timer again
        self.bridge.background.request(self.document.lint_job(), self._lint_arrived)

    def _lint_arrived(self, lint: list[Any]) -> None:
        self.update_lint(lint=lint)

    def update_lint(self, refresh: bool = True, lint: list[Any] | None = None) -> None:
        """Recompute warnings (or take ``lint``, the current revision's) and refresh only the nodes (and edges
        into them) whose warnings changed."""
        found: dict[str, list[str]] = {}
        for diag in self.document.lint() if lint is None else lint:
            if diag.node:
                found.setdefault(diag.node, []).append(diag.message)
        if found == self.warnings:
            return
        changed = {p for p in set(found) | set(self.warnings) if found.get(p) != self.warnings.get(p)}
        self.warnings.clear()
        self.warnings.update(found)
        if refresh:
            built = self.nodes.built
            top = {p.split("/", 1)[0] for p in changed}
            self.refresh_nodes({p for p in top if p in built})
            inner = {p.split("/", 1)[0] for p in changed if "/" in p}
            self.refresh_nodes({p for p in inner if p in built and built[p].expanded}, force=True)

    # -- backdrops -----------------------------------------------------------------------------------
    def backdrop_records(self) -> list[dict[str, Any]]:
        raw = self.graph.meta.get(BACKDROPS)
        return [r for r in raw if isinstance(r, dict) and r.get("id")] if isinstance(raw, list) else []

    def _sync_backdrops(self) -> None:
        records = {str(r["id"]): r for r in self.backdrop_records()}
        for bid in [b for b in self.backdrops if b not in records]:
            self.removeItem(self.backdrops.pop(bid))
        for bid, record in records.items():
            item = self.backdrops.get(bid)
            if item is None:
                item = BackdropItem(self.style, record, self.nodes_inside, self._retitle)
                self.addItem(item)
                self.backdrops[bid] = item
            elif item.record() != record:
                item.apply(record)

    def nodes_inside(self, rect: QRectF) -> list[QGraphicsItem]:
        found: list[QGraphicsItem] = []
        self.build_around(rect)
        for nid in self.placement.inside(rect):
            item = self.nodes[nid]
            look = item.look
            if look is not None and rect.contains(QRectF(item.pos(), QPointF(item.x() + look.width,
                                                                              item.y() + look.height))):
                found.append(item)
        return found

    def _retitle(self, backdrop_id: str, title: str) -> None:
        records = [dict(r, title=title) if r.get("id") == backdrop_id else r for r in self.backdrop_records()]
        self.retitle_requested.emit(records)

    # -- for the view --------------------------------------------------------------------------------
    def geometry_edit(self) -> Edit | None:
        """The edit that records what the mouse just moved or resized (None when nothing changed)."""
        graph = self.graph
        moved: dict[str, tuple[float, float]] = {}
        for nid, item in self.nodes.built.items():  # a node without an item has not been dragged
            if nid in graph.nodes:
                ox, oy = self.shift(*graph.nodes[nid].position)
                where = (item.x() - ox, item.y() - oy)
                if where != tuple(graph.nodes[nid].position):
                    moved[nid] = where
        records = self.backdrop_records()
        new_records = [self.backdrops[str(r["id"])].record() if str(r["id"]) in self.backdrops else r
                       for r in records]
        edits: list[Edit] = []
        if new_records != records:
            edits.append(SetMeta(BACKDROPS, new_records, label="Move backdrop"))
        if moved:
            edits.append(MoveNodes(moved, label="Move"))
        if not edits:
            return None
        return edits[0] if len(edits) == 1 else Macro(tuple(edits), label="Move backdrop")

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        """Each top-level node's size as drawn, an opened block counted as its folded card (the canvas makes
        room around an opened block itself): what layouts place."""
        return {nid: folded for nid, item in self.nodes.items() if (folded := folded_size(item)) is not None}

    def measure(self, document: Document) -> dict[str, tuple[float, float]]:
        """The sizes this scene would draw ``document``'s nodes at (folded), without showing it: for laying out
        a graph before it opens."""
        style = replace(self.style, expanded=set())
        level = Level(document.graph, document.shapes, "", True, {})
        sizes: dict[str, tuple[float, float]] = {}
        for nid in document.graph.nodes:
            size = folded_size(NodeItem(style, level, nid))
            if size is not None:
                sizes[nid] = size
        return sizes

    def start_rect(self) -> QRectF:
        """Where the graph starts: its data inputs (else its top-left corner), for showing a big graph from
        the beginning."""
        rect = QRectF()
        for node in self.graph.input_nodes:
            item = self.nodes.get(node.id)
            if item is not None and item.look is not None and is_data_input(node):
                rect = rect.united(QRectF(item.pos(), QSizeF(item.look.width, item.look.height)))
        if rect.isEmpty():
            content = self.content_rect()
            return QRectF(content.topLeft(), QSizeF(1.0, 1.0))
        return rect

    def content_rect(self) -> QRectF:
        """The area covered by nodes and backdrops (scene coordinates)."""
        if self.placement.stale:
            self.placement.rebuild(self)
        rect = self.placement.extent()  # built nodes as drawn, the others as estimated
        for backdrop in self.backdrops.values():
            rect = rect.united(backdrop.scene_rect())
        return rect

    def drawn_rect(self) -> QRectF:
        """The area nodes, backdrops and wires cover: a wire turning back to the next row reaches past the
        nodes, and fitting the view must keep it in sight."""
        rect = self.content_rect()
        for edge in self.edges.built.values():
            rect = rect.united(edge.sceneBoundingRect())
        return rect

    def restyle(self, geometry: bool) -> None:
        """Theme or Concept Mode changed: repaint everything (re-measure nodes when ``geometry``)."""
        if geometry:
            self.refresh_nodes(set(self.nodes.built), force=True)
            self._update_shifts()
        else:
            for item in self.nodes.built.values():
                item.refresh(force=True)
            for edge in self.edges.built.values():
                edge.refresh(force=True)
        for backdrop in self.backdrops.values():
            backdrop.update()
        self.update()

    def set_detail(self, labels: bool, far: bool, wires: bool = True) -> None:
        """Zoom level changed. Hide every shape label when too small to read (a thousand invisible labels
        still cost the renderer, hidden ones cost nothing); draw hairline wires when far out, and none at
        all when nodes are specks a few pixels apart."""
        if wires != self.wires_visible:
            self.wires_visible = wires
            for edge in self.edges.built.values():
                edge.setVisible(wires)
        if labels != self.labels_visible:
            self.labels_visible = labels
            for edge in self.edges.built.values():
                edge.label.setVisible(labels)
        if far != self.style.far:
            self.style.far = far
            for edge in self.edges.built.values():
                edge.refresh(force=True)

    def toggle_expanded(self, path: str) -> bool:
        """Show or hide a block's body inline (view state only). Returns whether it is now expanded."""
        top = path.split("/", 1)[0]
        if top not in self.nodes:
            return False
        if path in self.style.expanded:
            self.style.expanded.difference_update({p for p in self.style.expanded
                                                   if p == path or p.startswith(path + "/")})
            expanded = False
        else:
            self.style.expanded.add(path)
            expanded = True
        self.nodes[top].refresh(force=True)
        self._update_shifts()
        self.placement.stale = True
        self.content_changed.emit()
        return expanded
