"""Layered layout (longest-path layering) in three orientations, used for new graphs, Auto Layout and diagrams.

Nodes are put in layers by their longest path from a source; a source that only feeds later layers (a loss's
target, a mask) sits just before its first consumer instead of beside the model's input. The layers then run

- ``horizontal``: left to right, one column per layer (the members of a layer stacked downwards);
- ``vertical``: top to bottom, one row per layer (members side by side, each row centred), as Netron draws;
- ``wrapped``: left to right in bands that wrap like lines of text, as many columns per band as lets the
  whole graph fit ``area`` (or, when nothing fits, come closest to it: the largest it can be drawn there).

Bands read left to right rather than snaking back, because ports sit on the left and right of a node: a band
running right to left would point every wire in it backwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph

Orientation = Literal["horizontal", "vertical", "wrapped"]
ORIENTATIONS: tuple[Orientation, ...] = ("horizontal", "vertical", "wrapped")
Size = tuple[float, float]
Point = tuple[float, float]

COLUMN_GAP = 90.0  # room between columns for a shape label such as "N×512×7×7"
ROW_GAP = 50.0  # between nodes stacked in one column
LAYER_GAP = 60.0  # between rows of a vertical layout: a wire turns there, with its shape label
BAND_GAP = 80.0  # between the bands of a wrapped layout: the wire back to the next band runs there
MIN_ROW = 60.0  # a short node still takes this much height, so rows of small nodes stay apart
DEFAULT_SIZE: Size = (150.0, 60.0)
DEFAULT_AREA: Size = (1600.0, 1000.0)
EDITOR_AREA: Size = (1175.0, 920.0)  # what the editor's canvas shows of a graph at 80 % in its default window


@dataclass(frozen=True)
class Spacing:
    """The gaps a layout leaves; a diagram with wide shape labels asks for wider columns."""

    column: float = COLUMN_GAP
    row: float = ROW_GAP
    layer: float = LAYER_GAP
    band: float = BAND_GAP


class LayoutError(UserError, ValueError):
    """An orientation the layout does not know."""

    status = 2


def layers(graph: Graph, node_ids: Iterable[str] | None = None) -> list[list[str]]:
    """The chosen nodes by layer, each layer ordered to keep wires from crossing: a node follows the mean
    slot of its producers in earlier layers, so a chain stays on one line and branches fan out beside it."""
    chosen = set(node_ids) if node_ids is not None else set(graph.nodes)
    order = [nid for nid in graph.topo_order() if nid in chosen]
    layer: dict[str, int] = {}
    for nid in order:
        layer[nid] = max((layer[p] + 1 for p in graph.producers(nid) if p in layer), default=0)
    pulled: set[str] = set()
    for nid in order:
        if any(p in chosen for p in graph.producers(nid)):
            continue
        first_use = min((layer[c] for c in graph.consumers(nid) if c in layer), default=0)
        if first_use - 1 > layer[nid]:
            layer[nid] = first_use - 1
            pulled.add(nid)
    rank = {nid: i for i, nid in enumerate(order)}
    by_layer: dict[int, list[str]] = {}
    for nid in order:
        by_layer.setdefault(layer[nid], []).append(nid)
    slot: dict[str, float] = {}
    result: list[list[str]] = []
    for index in sorted(by_layer):
        members = by_layer[index]

        def key(nid: str) -> tuple[float, int]:
            if nid in pulled:  # it joins the flow here: beside the main line, not on it
                return (math.inf, rank[nid])
            slots = [slot[p] for p in graph.producers(nid) if p in slot]
            return (sum(slots) / len(slots) if slots else float(rank[nid]), rank[nid])

        members.sort(key=key)
        for i, nid in enumerate(members):
            slot[nid] = float(i)
        result.append(members)
    return result


def layout_positions(graph: Graph, node_ids: Iterable[str] | None = None, sizes: Mapping[str, Size] | None = None,
                     *, orientation: Orientation = "horizontal", origin: Point = (0.0, 0.0),
                     area: Size = DEFAULT_AREA, spacing: Spacing = Spacing()) -> dict[str, Point]:
    """Top-left positions for the chosen nodes (all by default), the graph untouched.

    ``sizes`` are the nodes' sizes as drawn (:data:`DEFAULT_SIZE` for any missing); ``origin`` is the top-left
    of the result; ``area`` (scene units) is what a ``wrapped`` layout should fit."""
    if orientation not in ORIENTATIONS:
        raise LayoutError(f"unknown layout orientation {orientation!r}: use one of {', '.join(ORIENTATIONS)}")
    known = sizes or {}
    ordered = layers(graph, node_ids)
    size = {nid: known.get(nid, DEFAULT_SIZE) for members in ordered for nid in members}
    if orientation == "vertical":
        return _vertical(ordered, size, origin, spacing)
    columns = [_column(members, size, spacing) for members in ordered]
    if orientation == "horizontal":
        return _place_bands([columns], origin, spacing)
    return _place_bands(_wrap(columns, area, spacing), origin, spacing)


def layout_extent(positions: Mapping[str, Point], sizes: Mapping[str, Size] | None = None) -> Size:
    """Width and height of the box around laid-out nodes."""
    if not positions:
        return (0.0, 0.0)
    known = sizes or {}
    boxes = [(x, y, *known.get(nid, DEFAULT_SIZE)) for nid, (x, y) in positions.items()]
    return (max(x + w for x, _, w, _ in boxes) - min(x for x, _, _, _ in boxes),
            max(y + h for _, y, _, h in boxes) - min(y for _, y, _, _ in boxes))


# -- the three shapes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Column:
    """One layer of a horizontal flow: its nodes stacked downwards, with offsets from the column's top."""

    members: tuple[tuple[str, float], ...]
    width: float
    height: float


def _column(members: list[str], size: Mapping[str, Size], spacing: Spacing) -> _Column:
    placed: list[tuple[str, float]] = []
    y = 0.0
    height = 0.0
    for nid in members:
        w, h = size[nid]
        placed.append((nid, y))
        height = y + h
        y += max(h, MIN_ROW) + spacing.row
    return _Column(tuple(placed), max((size[n][0] for n in members), default=0.0), height)


def _band_extent(band: list[_Column], spacing: Spacing) -> Size:
    width = sum(c.width for c in band) + spacing.column * max(0, len(band) - 1)
    return width, max((c.height for c in band), default=0.0)


def _extent(bands: list[list[_Column]], spacing: Spacing) -> Size:
    extents = [_band_extent(band, spacing) for band in bands]
    return (max((w for w, _ in extents), default=0.0),
            sum(h for _, h in extents) + spacing.band * max(0, len(bands) - 1))


def _wrap(columns: list[_Column], area: Size, spacing: Spacing) -> list[list[_Column]]:
    """Split the columns into bands of (nearly) equal length: the fewest bands that fit ``area``, else the
    split that can be drawn largest in it."""
    count = len(columns)
    if count <= 1:
        return [columns]
    best: list[list[_Column]] = [columns]
    best_scale = -1.0
    worse_in_a_row = 0
    seen: set[int] = set()
    for bands in range(1, count + 1):
        per_band = math.ceil(count / bands)
        if per_band in seen:
            continue
        seen.add(per_band)
        split = [columns[i:i + per_band] for i in range(0, count, per_band)]
        width, height = _extent(split, spacing)
        if width <= area[0] and height <= area[1]:
            return split  # the longest bands that fit: fewest wraps for the reader to follow
        scale = min(area[0] / max(width, 1.0), area[1] / max(height, 1.0))
        if scale > best_scale:
            best, best_scale, worse_in_a_row = split, scale, 0
        else:
            worse_in_a_row += 1
            if worse_in_a_row >= 3:  # narrower bands only make it taller from here on
                break
    return best


def _place_bands(bands: list[list[_Column]], origin: Point, spacing: Spacing) -> dict[str, Point]:
    positions: dict[str, Point] = {}
    y = origin[1]
    for band in bands:
        x = origin[0]
        for column in band:
            for nid, dy in column.members:
                positions[nid] = (x, y + dy)
            x += column.width + spacing.column
        y += _band_extent(band, spacing)[1] + spacing.band
    return positions


def _vertical(ordered: list[list[str]], size: Mapping[str, Size], origin: Point,
              spacing: Spacing) -> dict[str, Point]:
    def row_width(members: list[str]) -> float:
        return sum(size[n][0] for n in members) + spacing.column * max(0, len(members) - 1)

    axis = origin[0] + max((row_width(m) for m in ordered), default=0.0) / 2.0
    positions: dict[str, Point] = {}
    y = origin[1]
    for members in ordered:
        x = axis - row_width(members) / 2.0
        for nid in members:
            positions[nid] = (x, y)
            x += size[nid][0] + spacing.column
        y += max(max(size[n][1] for n in members), MIN_ROW) + spacing.layer
    return positions


def layered_layout(graph: Graph, node_ids: Iterable[str] | None = None, origin: Point = (0.0, 0.0),
                   recursive: bool = True) -> dict[str, Point]:
    """Lay out ``graph`` left to right with default node sizes and apply the positions (block bodies too);
    how a graph written in code (a template) gets its first positions. Returns the new positions."""
    positions = layout_positions(graph, node_ids, origin=origin)
    for nid, pos in positions.items():
        node = graph.nodes[nid]
        node.position = pos
        if recursive and node.body is not None:
            layered_layout(node.body)
    return positions
