"""Read-only access to one graph level (the top graph or a block's body) for the canvas items that draw it.

Items never read the document directly: a :class:`Level` answers what a node or an edge should show, from
the graph, its shape inference and the lint warnings, so the same items draw a block's body too. Free of Qt:
the canvas only paints the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference, node_ports
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, PortSpec
from neuralforge_desktop.core.diagnostics import Diagnostic
from neuralforge_desktop.core.ir.graph import Edge, Graph, Node
from neuralforge_desktop.core.ir.types import format_shape

OK, WARNING, ERROR, MISSING = "ok", "warning", "error", "missing"


@dataclass(frozen=True)
class EdgeLook:
    text: str  # the tensor shape, "N×32×14×14"; "?" when unknown
    state: str  # OK | WARNING | ERROR | MISSING (an error: no shape reaches this edge)
    tooltip: str


class Level:
    """One graph level. ``warnings`` maps node paths to lint messages and is shared with the scene, which
    refills it in place, so every level sees the latest lint without being rebuilt."""

    def __init__(self, graph: Graph, shapes: ShapeInference | None, prefix: str, editable: bool,
                 warnings: Mapping[str, list[str]]) -> None:
        self.graph = graph
        self.shapes = shapes
        self.prefix = prefix
        self.editable = editable
        self.warnings_by_path = warnings
        self.catalog = catalog()

    def node(self, node_id: str) -> Node:
        return self.graph.nodes[node_id]

    def path(self, node_id: str) -> str:
        return self.prefix + node_id

    def layer(self, node: Node) -> LayerDef | None:
        return self.catalog.find(node.type)

    def result(self, node_id: str) -> NodeShapes | None:
        return None if self.shapes is None else self.shapes.results.get(node_id)

    def params(self, node: Node) -> Mapping[str, Any] | None:
        result = self.result(node.id)
        if result is not None and result.params is not None:
            return result.params
        layer = self.layer(node)
        return None if layer is None else layer.validate_params(node.params)[0]

    def ports(self, node: Node) -> tuple[list[PortSpec], list[PortSpec]]:
        layer = self.layer(node)
        params = self.params(node) or {}
        try:
            return node_ports(node, layer, params)
        except (TypeError, ValueError):  # a half-typed num_inputs must not break drawing
            return [], []

    def errors(self, node_id: str) -> list[Diagnostic]:
        """This node's own errors (a block's body errors are reported by the nodes inside it)."""
        result = self.result(node_id)
        if result is None:
            return []
        path = self.path(node_id)
        return [d for d in result.diagnostics if d.is_error and d.node == path]

    def inner_errors(self, node_id: str) -> list[Diagnostic]:
        """Errors inside a block's body, which make the block itself fail."""
        result = self.result(node_id)
        if result is None:
            return []
        path = self.path(node_id) + "/"
        inner = [d for d in result.diagnostics if d.is_error and d.node.startswith(path)]
        # A repeated block prefixes its copies "block[0]/…"; keep those too.
        inner += [d for d in result.diagnostics if d.is_error and d.node.startswith(self.path(node_id) + "[")]
        return inner

    def warnings(self, node_id: str) -> list[str]:
        return list(self.warnings_by_path.get(self.path(node_id), ()))

    def body_level(self, node_id: str) -> Level | None:
        node = self.graph.nodes.get(node_id)
        if node is None or node.body is None:
            return None
        result = self.result(node_id)
        body_shapes = result.body if result is not None else None
        return Level(node.body, body_shapes, self.path(node_id) + "/", False, self.warnings_by_path)

    def edge_look(self, edge: Edge) -> EdgeLook:
        spec = None if self.shapes is None else self.shapes.spec(edge.src, edge.src_port)
        consumer = [d for d in self.errors(edge.dst) if d.port == edge.dst_port]
        if spec is None:
            return EdgeLook("?", MISSING, self._missing_reason(edge))
        text = format_shape(spec.shape)
        dtype = "" if spec.dtype.value == "float32" else f" {spec.dtype.value}"
        if consumer:
            return EdgeLook(text + dtype, ERROR, "\n".join(d.message for d in consumer))
        warned = self.warnings(edge.dst)
        if warned:
            return EdgeLook(text + dtype, WARNING, "\n".join(warned))
        return EdgeLook(text + dtype, OK, f"{edge.src}.{edge.src_port} → {edge.dst}.{edge.dst_port}: "
                        f"{text} {spec.dtype.value}")

    def _missing_reason(self, edge: Edge) -> str:
        own = self.errors(edge.src) or self.inner_errors(edge.src)
        if own:
            return f"no shape: '{edge.src}' has an error:\n{own[0].message}"
        result = self.result(edge.src)
        if result is not None and result.ok and edge.src_port not in result.outputs:
            return f"'{edge.src}' has no output '{edge.src_port}'"
        return f"no shape: an input of '{edge.src}' has no shape yet (fix the first red edge upstream)"
