"""Inserting a component on the canvas: a mixin of :class:`GraphView`.

The component is built for the shape arriving from the selected node (its channels or embedding width), so
structure that depends on it (a residual projection, a squeeze-and-excitation gate's width) fits; it goes in
as one Block, wired from that node when legal, in one undo step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF

from neuralforge_desktop.core.components import library
from neuralforge_desktop.core.components.component import (
    ComponentError,
    block_node,
    instantiate,
    resolve_values,
    source_output,
)

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView


class ComponentInsertMixin:
    def insert_component(self: GraphView, name: str, pos: QPointF | None = None,
                         values: Mapping[str, Any] | None = None) -> str:
        """Insert component ``name`` with exposed ``values`` (others at their defaults) at scene ``pos`` (None:
        downstream of the selected node, wired from it); returns the new block's id, or "" when refused (the
        reason goes to ``status_message``)."""
        graph = self.graph_scene.graph
        shapes = self.bridge.document.shapes
        # A drop lands where the user put it, unwired (as a dropped layer does), built for its example
        # input; a double-click or Enter continues from the selected node and is built for its output.
        current = self.selection.current if pos is None and self.selection.current in graph.nodes else None
        source, shape = source_output(graph, shapes, current)
        try:
            component = library.find_component(name)
            arriving = [shape] if shape else None
            body = instantiate(component, values, arriving)
            chosen = resolve_values(component, values, arriving)
        except ComponentError as exc:
            self.status_message.emit(str(exc))
            return ""
        spot = self._downstream_of(current) if pos is None and current is not None else None
        node = block_node(graph, component, body, spot.position if spot else self._place(pos), chosen)
        return self._push_placed(node, source[0] if source else None, spot, f"Insert {component.title}")
