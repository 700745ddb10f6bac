"""A small fluent API for writing graphs in Python (the zoo and tests use it).

    c = Composer("mnist-cnn")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, out_channels=32, kernel_size=3, padding=1)
    x = c.layer("ReLU", x)
    c.output(c.layer("Linear", c.layer("Flatten", x), out_features=10), "logits")
    graph = c.done()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.layout import layered_layout


@dataclass(frozen=True)
class Ref:
    """One output port of a node."""

    node: str
    port: str = "y"

    def out(self, port: str) -> Ref:
        return Ref(self.node, port)


Source = Ref | Sequence[Ref] | Mapping[str, Ref] | None


class Composer:
    def __init__(self, name: str, **meta: Any) -> None:
        self.graph = Graph(name)
        self.graph.meta.update(meta)

    def input(self, node_id: str, shape: Sequence[int | str], dtype: str = "float32", role: str = "data",
              batch: bool = True) -> Ref:
        self.graph.add_node(INPUT, node_id, {"shape": list(shape), "dtype": dtype, "role": role, "batch": batch})
        return Ref(node_id)

    def output(self, x: Ref, node_id: str) -> None:
        self.graph.add_node(OUTPUT, node_id)
        self.graph.connect(x.node, x.port, node_id, "x")

    def layer(self, type_name: str, x: Source, node_id: str | None = None, *, label: str = "", notes: str = "",
              **params: Any) -> Ref:
        layer = catalog().get(type_name)
        node = self.graph.add_node(type_name, node_id or self._auto_id(type_name), params, label=label, notes=notes)
        ports = [p.name for p in layer.input_ports(layer.validate_params(params)[0])]
        self._wire(node.id, ports, x)
        outs = layer.output_ports(layer.validate_params(params)[0])
        return Ref(node.id, outs[0].name if outs else "y")

    def block(self, node_id: str, body: Graph | Composer, x: Source, repeat: int = 1, *, label: str = "",
              notes: str = "") -> Ref:
        body_graph = body.done(layout=True) if isinstance(body, Composer) else body
        self.graph.add_node(BLOCK, node_id, {"repeat": repeat}, body=body_graph, label=label, notes=notes)
        ports = [n.id for n in body_graph.input_nodes if is_data_input(n)]
        self._wire(node_id, ports, x)
        outs = body_graph.output_nodes
        return Ref(node_id, outs[0].id if outs else "y")

    def tie(self, node: str, param: str, source: str, source_param: str) -> None:
        self.graph.tie(node, param, source, source_param)

    def done(self, layout: bool = True) -> Graph:
        if layout:
            layered_layout(self.graph)
        return self.graph

    def _auto_id(self, type_name: str) -> str:
        return self.graph.new_id(type_name)

    def _wire(self, node_id: str, ports: list[str], x: Source) -> None:
        if x is None:
            return
        if isinstance(x, Ref):
            pairs = [(ports[0], x)]
        elif isinstance(x, Mapping):
            pairs = list(x.items())
        else:
            pairs = list(zip(ports, x, strict=False))
            if len(x) > len(ports):
                raise ValueError(f"{node_id}: {len(x)} sources for {len(ports)} inputs {ports}")
        for port, ref in pairs:
            self.graph.connect(ref.node, ref.port, node_id, port)
