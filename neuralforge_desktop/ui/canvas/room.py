"""Room for opened blocks and for Concept Mode's larger cards: how far the canvas moves each node.

An opened block's frame is much larger than the node it replaces. Rather than cover its neighbours, the view
pushes nodes to its right further right, and nodes below it in its column further down; in a layout of
several rows (wrapped), rows above the block's stay put and rows below it move down whole. This is view state
only: items sit at (graph position + shift) and moves subtract it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuralforge_desktop.ui.canvas.concept_room import Spread, concept_spread
from neuralforge_desktop.ui.canvas.lazy_items import ESTIMATED_HEIGHT
from neuralforge_desktop.ui.canvas.node_item import WIDTH, NodeItem, Shift, room_shifts, shift_at

if TYPE_CHECKING:
    from neuralforge_desktop.core.ir.graph import Graph
    from neuralforge_desktop.ui.canvas.lazy_items import NodeItems
    from neuralforge_desktop.ui.canvas.style import Style

ROW_BREAK = 72.0  # a vertical gap at least this wide parts two rows of nodes (wrapped layouts leave 80)


def folded_size(item: NodeItem) -> tuple[float, float] | None:
    """A node's size as a card; an opened block counts as the card it folds to."""
    look = item.look
    if look is None:
        return None
    return look.card


class RoomMixin:
    """The scene's shifts (see the module docstring); the scene provides the attributes below."""

    graph: Graph
    nodes: NodeItems
    style: Style
    _shifts: list[Shift]
    _rows: list[tuple[float, float]]
    _spread: Spread | None

    def _compute_shifts(self) -> list[Shift]:
        opened = [(self.graph.nodes[p].position, self.nodes[p]) for p in sorted(self.style.expanded)
                  if p in self.nodes and p in self.graph.nodes]
        return room_shifts(opened)

    def _compute_rows(self, shifts: list[Shift]) -> list[tuple[float, float]]:
        """The top and bottom of the row of nodes each opened block sits in: nodes with no wide vertical
        gap between them (rows of a wrapped layout are :data:`ROW_BREAK` or more apart)."""
        if not shifts:
            return []
        built = self.nodes.built
        spans = sorted((node.position[1], node.position[1] + size[1]) for nid, node in self.graph.nodes.items()
                       if (size := folded_size(built[nid]) if nid in built else (WIDTH, ESTIMATED_HEIGHT)))
        rows: list[list[float]] = []
        for top, bottom in spans:
            if rows and top - rows[-1][1] < ROW_BREAK:
                rows[-1][1] = max(rows[-1][1], bottom)
            else:
                rows.append([top, bottom])
        found = []
        for shift in shifts:
            row = next((r for r in rows if r[0] <= shift[1] <= r[1]), [shift[1], shift[1]])
            found.append((row[0], row[1]))
        return found

    def _compute_spread(self) -> Spread | None:
        """Concept Mode: how far columns and rows move apart to fit the larger cards (an opened block counts as
        its card: the room for its body is made above)."""
        if not self.style.concept:
            return None
        boxes = []
        for nid, item in self.nodes.items():
            node, look = self.graph.nodes.get(nid), item.look
            if node is not None and look is not None:
                boxes.append((node.position[0], node.position[1], *look.card))
        return concept_spread(boxes, WIDTH, 46.0)

    def shift(self, x: float, y: float) -> tuple[float, float]:
        """How far the view moves a node at graph position (x, y) to make room for opened blocks and for
        Concept Mode's larger cards."""
        ox = oy = 0.0
        for shift, (top, bottom) in zip(self._shifts, self._rows, strict=True):
            if y > bottom:  # a later row: down, all of it
                oy += shift[4]
            elif y >= top:  # the block's own row
                dx, dy = shift_at([shift], x, y)
                ox, oy = ox + dx, oy + dy
        if self._spread is not None:
            sx, sy = self._spread.at(x, y)
            ox, oy = ox + sx, oy + sy
        return ox, oy

    def target_pos(self, node_id: str) -> tuple[float, float]:
        x, y = self.graph.nodes[node_id].position
        if not self._shifts and self._spread is None:
            return x, y
        ox, oy = self.shift(x, y)
        return x + ox, y + oy

    def _update_shifts(self) -> None:
        shifts, spread = self._compute_shifts(), self._compute_spread()
        rows = self._compute_rows(shifts)
        if shifts != self._shifts or rows != self._rows or spread != self._spread:
            self._shifts, self._rows, self._spread = shifts, rows, spread
            self._sync_positions(set(self.nodes.built))
            self.placement.stale = True
            self.content_changed.emit()

