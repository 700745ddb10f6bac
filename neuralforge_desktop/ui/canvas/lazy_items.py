"""Scene items built on demand, so a graph of any size opens at the cost of what is on screen.

Building a node's item (its look, ports, tooltip) costs about a third of a millisecond; ten thousand of
them took seconds before the first paint. The scene therefore builds items only for the area a view shows
(plus a margin) and for whatever asks for one by id. :class:`NodeItems` and :class:`EdgeItems` are mappings
over every node and wire of the graph: ``in``, ``len`` and iteration go by the graph, lookups build the item
when it does not exist yet, and ``built`` holds the items that do. Code that only needs what exists (a
repaint, a refresh) iterates ``built``; an edge item exists exactly when both its nodes' items do.

:class:`PlacementIndex` keeps every node's rectangle in arrays (built items' real sizes, an estimate for the
rest), so finding what a rectangle of the scene touches, or the extent of the whole graph, costs microseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRectF

from neuralforge_desktop.ui.canvas.card_text import WIDTH
from neuralforge_desktop.ui.canvas.node_item import NodeItem

if TYPE_CHECKING:
    from neuralforge_desktop.core.ir.graph import Edge
    from neuralforge_desktop.ui.canvas.edge_item import EdgeItem
    from neuralforge_desktop.ui.canvas.scene import GraphScene

EDGE_KEY = tuple[str, str]  # (destination node, destination port): one wire per input port
BUILD_CHUNK = 150  # node items built per pass (~50 ms); a zoomed-out view of a huge graph fills in when idle
ESTIMATED_HEIGHT = 60.0  # a one-line card with a shape row: what a node not built yet is assumed to cover


class NodeItems(Mapping[str, "NodeItem"]):
    """Every node's item by id; looking one up builds it (with the wires to its built neighbours)."""

    def __init__(self, scene: GraphScene) -> None:
        self._scene = scene
        self.built: dict[str, NodeItem] = {}

    def __getitem__(self, node_id: str) -> NodeItem:
        item = self.built.get(node_id)
        if item is None:
            if node_id not in self._scene.graph.nodes:
                raise KeyError(node_id)
            item = self._scene.build_node(node_id)
        return item

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.built or node_id in self._scene.graph.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._scene.graph.nodes)

    def __len__(self) -> int:
        return len(self._scene.graph.nodes)


class EdgeItems(Mapping[EDGE_KEY, "EdgeItem"]):
    """Every wire's item by (destination, port); looking one up builds it and both its nodes' items."""

    def __init__(self, scene: GraphScene) -> None:
        self._scene = scene
        self.built: dict[EDGE_KEY, EdgeItem] = {}
        self.by_key: dict[EDGE_KEY, Edge] = {}  # every wire of the graph
        self.touching: dict[str, list[EDGE_KEY]] = {}  # node id → the wires into and out of it

    def index(self) -> None:
        """Re-read the graph's wires (after a structural change)."""
        self.by_key = {(e.dst, e.dst_port): e for e in self._scene.graph.edges}
        touching: dict[str, list[EDGE_KEY]] = {}
        for key, edge in self.by_key.items():
            touching.setdefault(edge.src, []).append(key)
            if edge.dst != edge.src:
                touching.setdefault(edge.dst, []).append(key)
        self.touching = touching

    def __getitem__(self, key: EDGE_KEY) -> EdgeItem:
        item = self.built.get(key)
        if item is None:
            edge = self.by_key.get(key)
            if edge is None:
                raise KeyError(key)
            self._scene.nodes[edge.src]  # building both node items builds the wire between them
            self._scene.nodes[edge.dst]
            item = self.built.get(key)
            if item is None:  # both nodes had items already (a wire the scene has not drawn yet)
                item = self._scene._add_edge(edge)
            if item is None:
                raise KeyError(key)
        return item

    def __contains__(self, key: object) -> bool:
        return key in self.by_key

    def __iter__(self) -> Iterator[EDGE_KEY]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)


class PlacementIndex:
    """Every node's rectangle in the scene, as arrays, rebuilt only when positions or sizes change."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.rects = np.zeros((0, 4))  # left, top, right, bottom
        self.wire_keys: list[EDGE_KEY] = []
        self.wire_ends = np.zeros((0, 2), dtype=np.int64)  # rows of each wire's source and destination
        self.stale = True

    def rebuild(self, scene: GraphScene) -> None:
        built = scene.nodes.built
        ids = list(scene.graph.nodes)
        rects = np.empty((len(ids), 4))
        for row, nid in enumerate(ids):
            item = built.get(nid)
            look = item.look if item is not None else None
            if item is not None and look is not None:
                x, y, w, h = item.x(), item.y(), look.width, look.height
            else:
                x, y = scene.target_pos(nid)
                w, h = WIDTH, ESTIMATED_HEIGHT
            rects[row] = (x, y, x + w, y + h)
        position = {nid: i for i, nid in enumerate(ids)}
        edges = scene.edges.by_key
        keys = [k for k, e in edges.items() if e.src in position and e.dst in position]
        ends = np.array([(position[edges[k].src], position[edges[k].dst]) for k in keys], dtype=np.int64)
        self.wire_keys, self.wire_ends = keys, ends.reshape(-1, 2)
        self.ids, self.rects, self.stale = ids, rects, False

    def inside(self, rect: QRectF) -> list[str]:
        """The nodes whose rectangles meet ``rect``."""
        r = self.rects
        hit = ((r[:, 2] >= rect.left()) & (r[:, 0] <= rect.right())
               & (r[:, 3] >= rect.top()) & (r[:, 1] <= rect.bottom()))
        return [self.ids[i] for i in np.flatnonzero(hit)]

    def extent(self) -> QRectF:
        if not len(self.ids):
            return QRectF()
        left, top = self.rects[:, 0].min(), self.rects[:, 1].min()
        right, bottom = self.rects[:, 2].max(), self.rects[:, 3].max()
        return QRectF(float(left), float(top), float(right - left), float(bottom - top))

    def wires_across(self, rect: QRectF) -> list[EDGE_KEY]:
        """The wires whose ends' bounding box meets ``rect`` (a long wire can cross a view neither end is in)."""
        if not self.wire_keys:
            return []
        a, b = self.rects[self.wire_ends[:, 0]], self.rects[self.wire_ends[:, 1]]
        left, right = np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 2], b[:, 2])
        top, bottom = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 3], b[:, 3])
        hit = (right >= rect.left()) & (left <= rect.right()) & (bottom >= rect.top()) & (top <= rect.bottom())
        return [self.wire_keys[i] for i in np.flatnonzero(hit)]


class LazyBuildMixin:
    """The scene's building of items on demand (see the module docstring)."""

    def build_node(self, node_id: str) -> NodeItem:
        """Build a node's item, and the wires between it and the nodes whose items exist."""
        syncing, self.style.syncing = self.style.syncing, True
        try:
            item = NodeItem(self.style, self.level, node_id)
            item.setPos(*self.target_pos(node_id))
            self.addItem(item)
            self.nodes.built[node_id] = item
            built = self.nodes.built
            for key in self.edges.touching.get(node_id, ()):
                edge = self.edges.by_key[key]
                if key not in self.edges.built and edge.src in built and edge.dst in built:
                    self._add_edge(edge)
        finally:
            self.style.syncing = syncing
        return item

    def build_around(self, rect: QRectF) -> None:
        """Build the items of the nodes and wires in ``rect`` (a view's area); a huge area builds a chunk now
        and the rest while the event loop is idle (until then the view draws the missing nodes flat)."""
        if rect.isEmpty():
            return
        if self.placement.stale:
            self.placement.rebuild(self)
        built = self.nodes.built
        missing = [n for n in self.placement.inside(rect) if n not in built]
        if not self.lazy:
            return
        for nid in missing[:BUILD_CHUNK]:
            self.build_node(nid)
        if len(missing) > BUILD_CHUNK:
            self._unbuilt_area = rect
            self._build_timer.start()
            return
        for key in self.placement.wires_across(rect):
            if key not in self.edges.built:
                self.edges[key]  # the lookup builds it (and its nodes)
        self._unbuilt_area = QRectF()

    def build_all(self) -> None:
        """Build every node's and wire's item (for drawing the whole graph, or a graph opened eagerly)."""
        for nid in self.graph.nodes:
            if nid not in self.nodes.built:
                self.build_node(nid)
        self._unbuilt_area = QRectF()

    def _build_more(self) -> None:
        self._unbuilt_area = QRectF()  # the view may have moved on: build what it shows now
        self.build_around(self.visible_area())

    def unbuilt_rects(self, rect: QRectF) -> list[QRectF]:
        """Where nodes in ``rect`` without items yet lie (the view draws them flat until they are built)."""
        if self._unbuilt_area.isEmpty():
            return []
        if self.placement.stale:
            self.placement.rebuild(self)
        built = self.nodes.built
        rows = {nid: i for i, nid in enumerate(self.placement.ids)}
        found = []
        for nid in self.placement.inside(rect):
            if nid not in built:
                left, top, right, bottom = self.placement.rects[rows[nid]]
                found.append(QRectF(float(left), float(top), float(right - left), float(bottom - top)))
        return found

