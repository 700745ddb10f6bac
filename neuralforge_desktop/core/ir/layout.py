"""Layered left-to-right layout (longest-path layering), used for new graphs and auto-layout."""

from __future__ import annotations

from collections.abc import Iterable

from neuralforge_desktop.core.ir.graph import Graph

COLUMN_WIDTH = 260.0  # room between nodes for the shape label on each edge
ROW_HEIGHT = 110.0


def layered_layout(graph: Graph, node_ids: Iterable[str] | None = None, origin: tuple[float, float] = (0.0, 0.0),
                   recursive: bool = True) -> dict[str, tuple[float, float]]:
    """Place nodes in columns by longest path from a source; returns and applies the new positions."""
    chosen = set(node_ids) if node_ids is not None else set(graph.nodes)
    layer: dict[str, int] = {}
    for nid in graph.topo_order():
        if nid not in chosen:
            continue
        preds = [p for p in graph.producers(nid) if p in chosen]
        layer[nid] = max((layer[p] + 1 for p in preds), default=0)
    rows: dict[int, int] = {}
    positions: dict[str, tuple[float, float]] = {}
    for nid in graph.topo_order():
        if nid not in layer:
            continue
        column = layer[nid]
        row = rows.get(column, 0)
        rows[column] = row + 1
        positions[nid] = (origin[0] + column * COLUMN_WIDTH, origin[1] + row * ROW_HEIGHT)
    for nid, pos in positions.items():
        node = graph.nodes[nid]
        node.position = pos
        if recursive and node.body is not None:
            layered_layout(node.body)
    return positions
