"""Group a selection into a block, and expand a block back into its parent (exact inverses)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.edit.edits import Edit
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Edge, Graph, GraphError, Node
from neuralforge_desktop.core.ir.naming import unique_id

IOShapes = dict[tuple[str, str], tuple[list[Any], str]]  # (src, port) → (shape without batch, dtype)


@dataclass(frozen=True)
class GroupIntoBlock(Edit):
    """Move ``node_ids`` into a new block node ``block_id``. Edges that cross the selection become the
    block's inputs (one per distinct source) and outputs (one per distinct producer port)."""

    node_ids: tuple[str, ...]
    block_id: str
    io_shapes: IOShapes = field(default_factory=dict)
    position: tuple[float, float] | None = None
    label: str = "Group into block"

    def apply(self, graph: Graph) -> Edit:
        chosen = [nid for nid in graph.nodes if nid in set(self.node_ids)]  # keep the file's node order
        if not chosen:
            raise GraphError("nothing selected to group")
        for nid in chosen:
            if graph.node(nid).type in (INPUT, OUTPUT):
                raise GraphError(f"'{nid}' is a graph {graph.node(nid).type.lower()}; group the layers between them")
        if self.block_id in graph.nodes:
            raise GraphError(f"a node with id {self.block_id!r} already exists")
        inside = set(chosen)
        for tie in graph.ties:
            if (tie.node in inside) != (tie.source in inside):
                raise GraphError(f"'{tie.node}.{tie.param}' is tied to '{tie.source}' across the selection; "
                                 "select both or neither")
        incoming = [e for nid in chosen for e in graph.incoming(nid).values() if e.src not in inside]
        outgoing = [e for nid in chosen for e in graph.outgoing(nid) if e.dst not in inside]
        internal = [e for nid in chosen for e in graph.outgoing(nid) if e.dst in inside]
        body = Graph(self.block_id)
        in_ids: dict[tuple[str, str], str] = {}
        taken = set(inside)
        for e in incoming:
            key = (e.src, e.src_port)
            if key not in in_ids:
                in_ids[key] = unique_id(f"in_{e.src}" + ("" if e.src_port == "y" else f"_{e.src_port}"), taken)
                taken.add(in_ids[key])
        out_ids: dict[tuple[str, str], str] = {}
        for e in outgoing:
            key = (e.src, e.src_port)
            if key not in out_ids:
                out_ids[key] = unique_id(f"out_{e.src}" + ("" if e.src_port == "y" else f"_{e.src_port}"), taken)
                taken.add(out_ids[key])
        xs = [graph.node(n).position[0] for n in chosen]
        ys = [graph.node(n).position[1] for n in chosen]
        # Body positions are relative to the block's own position, so expanding puts nodes back in place.
        origin = self.position or (sum(xs) / len(xs), sum(ys) / len(ys))
        for (src, port), in_id in in_ids.items():
            shape, dtype = self.io_shapes.get((src, port), ([], "float32"))
            body.add_node(INPUT, in_id, {"shape": list(shape), "dtype": dtype},
                          position=(-220.0, 110.0 * len(body.input_nodes)))
        for nid in chosen:
            node = copy.deepcopy(graph.node(nid))
            node.position = (node.position[0] - origin[0], node.position[1] - origin[1])
            body.insert_node(node)
        right = max(xs) - origin[0] + 220.0
        for out_id in out_ids.values():
            body.add_node(OUTPUT, out_id, position=(right, 110.0 * len(body.output_nodes)))
        for e in internal:
            body.connect(e.src, e.src_port, e.dst, e.dst_port)
        for e in incoming:
            body.connect(in_ids[(e.src, e.src_port)], "y", e.dst, e.dst_port)
        for (src, port), out_id in out_ids.items():
            body.connect(src, port, out_id, "x")
        for tie in [t for t in graph.ties if t.node in inside]:
            body.tie(tie.node, tie.param, tie.source, tie.source_param)
        for e in outgoing + internal + incoming:
            if graph.edge_into(e.dst, e.dst_port) is not None:
                graph.disconnect(e.dst, e.dst_port)
        index = list(graph.nodes).index(chosen[0])
        for nid in chosen:
            graph.remove_node(nid)
        graph.insert_node(Node(self.block_id, BLOCK, {"repeat": 1}, position=origin, body=body), index)
        for (src, port), in_id in in_ids.items():
            graph.connect(src, port, self.block_id, in_id)
        for e in outgoing:
            graph.connect(self.block_id, out_ids[(e.src, e.src_port)], e.dst, e.dst_port)
        return UngroupBlock(self.block_id, label="Expand block")

    def affected(self, graph: Graph) -> set[str]:
        return {self.block_id}


@dataclass(frozen=True)
class UngroupBlock(Edit):
    """Inline a block's body into its parent (repeat must be 1) and remove the block node."""

    block_id: str
    label: str = "Expand block"

    def apply(self, graph: Graph) -> Edit:
        block = graph.node(self.block_id)
        if block.type != BLOCK or block.body is None:
            raise GraphError(f"'{self.block_id}' is not a block")
        if block.repeat != 1:
            raise GraphError(f"block '{self.block_id}' repeats {block.repeat}×; set repeat to 1 to expand it")
        body = block.body
        inner = [n for n in body.nodes if body.node(n).type not in (INPUT, OUTPUT)]
        renames = {}
        taken = set(graph.nodes) - {self.block_id}
        for nid in inner:
            new = nid if nid not in taken else unique_id(nid, taken)
            renames[nid] = new
            taken.add(new)
        feeds = {port: e for port, e in graph.incoming(self.block_id).items()}
        users = graph.outgoing(self.block_id)
        io_shapes: IOShapes = {}
        for in_node in body.input_nodes:
            edge = feeds.get(in_node.id)
            if edge is not None:
                params = node_params(in_node)
                io_shapes[(edge.src, edge.src_port)] = (list(params.shape), str(params.dtype))
        ox, oy = block.position
        new_edges: list[Edge] = []
        for e in body.edges:
            src_node, dst_node = body.node(e.src), body.node(e.dst)
            if dst_node.type == OUTPUT:
                continue
            if src_node.type == INPUT:
                feed = feeds.get(e.src)
                if feed is not None:
                    new_edges.append(Edge(feed.src, feed.src_port, renames[e.dst], e.dst_port))
                continue
            new_edges.append(Edge(renames[e.src], e.src_port, renames[e.dst], e.dst_port))
        for u in users:
            producer = body.edge_into(u.src_port, "x")
            if producer is None:
                continue
            src = body.node(producer.src)
            if src.type == INPUT:
                feed = feeds.get(src.id)
                if feed is not None:
                    new_edges.append(Edge(feed.src, feed.src_port, u.dst, u.dst_port))
            else:
                new_edges.append(Edge(renames[producer.src], producer.src_port, u.dst, u.dst_port))
        for u in users:
            graph.disconnect(u.dst, u.dst_port)
        index = list(graph.nodes).index(self.block_id)
        graph.remove_node(self.block_id)
        for offset, nid in enumerate(inner):
            node: Node = copy.deepcopy(body.node(nid))
            node.id = renames[nid]
            node.position = (node.position[0] + ox, node.position[1] + oy)
            graph.insert_node(node, index + offset)
        for e in new_edges:
            graph.connect(e.src, e.src_port, e.dst, e.dst_port)
        for tie in body.ties:
            graph.tie(renames.get(tie.node, tie.node), tie.param, renames.get(tie.source, tie.source),
                      tie.source_param)
        return GroupIntoBlock(tuple(renames[n] for n in inner), self.block_id, io_shapes, position=(ox, oy),
                              label="Group into block")

    def affected(self, graph: Graph) -> set[str]:
        return set(graph.consumers(self.block_id)) if self.block_id in graph else set()


def io_shapes_from(shapes: Any, graph: Graph, node_ids: list[str]) -> IOShapes:
    """Body Input shapes for grouping, from inferred specs (batch dimension dropped)."""
    found: IOShapes = {}
    inside = set(node_ids)
    for nid in node_ids:
        for e in graph.incoming(nid).values():
            if e.src in inside:
                continue
            spec = shapes.spec(e.src, e.src_port) if shapes is not None else None
            if spec is not None:
                dims = list(spec.shape[1:]) if spec.shape and spec.shape[0] == "N" else list(spec.shape)
                found[(e.src, e.src_port)] = (dims, spec.dtype.value)
    return found
