"""Where a node added after another one goes: downstream of it, clear of every other node.

Tab on a selected node adds the next layer of a chain. The new node goes one column downstream of the
selection (to its right; below it in a top-down layout), level with it, or below the selection's existing
consumers when it starts a branch; nodes in the way are shifted downstream, so nothing overlaps and a chain
typed with Tab after Tab reads left to right. Plain geometry on the graph's positions and the sizes the
canvas draws, so it is tested without a window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import COLUMN_GAP, ROW_GAP

Direction = Literal["right", "down"]
Size = tuple[float, float]
DEFAULT_SIZE: Size = (150.0, 60.0)
# Between a node and the next one downstream: room for the wire's shape label. Across: room to tell rows apart.
FLOW_GAP: dict[str, float] = {"right": COLUMN_GAP, "down": 60.0}
CROSS_GAP: dict[str, float] = {"right": ROW_GAP, "down": 40.0}


@dataclass(frozen=True)
class _Box:
    """A rectangle in flow coordinates: ``along`` runs downstream, ``across`` from row to row."""

    along: float
    across: float
    length: float
    breadth: float

    @property
    def end(self) -> float:
        return self.along + self.length

    @property
    def bottom(self) -> float:
        return self.across + self.breadth

    def hits(self, other: _Box, along_gap: float = 0.0, across_gap: float = 0.0) -> bool:
        """True when the two boxes are closer than the gaps (overlapping when the gaps are 0)."""
        return (self.along < other.end + along_gap and other.along < self.end + along_gap
                and self.across < other.bottom + across_gap and other.across < self.bottom + across_gap)

    def moved(self, distance: float) -> _Box:
        return _Box(self.along + distance, self.across, self.length, self.breadth)


@dataclass(frozen=True)
class Placement:
    """The new node's top-left and the nodes shifted out of its way (id → new top-left)."""

    position: tuple[float, float]
    moves: dict[str, tuple[float, float]] = field(default_factory=dict)


def place_downstream(graph: Graph, sizes: Mapping[str, Size], source: str, new_size: Size,
                     direction: Direction = "right", grid: float | None = None) -> Placement:
    """Where a node of ``new_size`` goes after ``source``: one gap downstream of it and level with it; below
    its consumers in that column when it already feeds some (a new branch). Nodes that would overlap it, or
    come closer than the gaps, are shifted downstream together with whatever they would then run into.
    ``grid``: positions and shifts snap to it (shifts round up, so a shift never falls short)."""
    flow_gap, cross_gap = FLOW_GAP[direction], CROSS_GAP[direction]
    boxes = {nid: _box(node.position, sizes.get(nid, DEFAULT_SIZE), direction) for nid, node in graph.nodes.items()}
    src = boxes[source]
    new = _box((0.0, 0.0), new_size, direction)
    along = _snap(src.end + flow_gap, grid, up=True)
    branches = [boxes[c] for c in graph.consumers(source)  # consumers in the new node's column
                if c in boxes and boxes[c].along < along + new.length and along < boxes[c].end]
    across = max((b.bottom + cross_gap for b in branches), default=src.across)
    new = _Box(along, _snap(across, grid, up=True), new.length, new.breadth)

    in_way = {nid for nid, box in boxes.items() if nid != source and box.hits(new, flow_gap / 2, cross_gap / 2)}
    if not in_way:
        return Placement(_position(new, direction))
    distance = max(new.end + flow_gap - boxes[nid].along for nid in in_way)
    distance = _snap(distance, grid, up=True)
    shifted = set(in_way)
    changed = True
    while changed:  # a shifted node pushes whatever it would now overlap (only nodes further downstream)
        changed = False
        for nid in list(shifted):
            moved = boxes[nid].moved(distance)
            for other, box in boxes.items():
                if other not in shifted and other != source and box.along >= boxes[nid].along and moved.hits(box):
                    shifted.add(other)
                    changed = True
    moves = {nid: _position(boxes[nid].moved(distance), direction) for nid in shifted}
    return Placement(_position(new, direction), moves)


def _box(position: tuple[float, float], size: Size, direction: Direction) -> _Box:
    x, y = position
    w, h = size
    return _Box(x, y, w, h) if direction == "right" else _Box(y, x, h, w)


def _position(box: _Box, direction: Direction) -> tuple[float, float]:
    return (box.along, box.across) if direction == "right" else (box.across, box.along)


def _snap(value: float, grid: float | None, up: bool = False) -> float:
    if not grid:
        return float(value)
    return float((math.ceil(value / grid - 1e-9) if up else round(value / grid)) * grid)
