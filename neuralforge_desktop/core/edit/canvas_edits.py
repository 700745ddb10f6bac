"""The edits behind canvas gestures: connecting, adding, pasting, grouping, laying out.

Plain functions of the graph, so every gesture's edit can be reasoned about and tested alone; the canvas
only collects what the user pointed at (as :class:`PortRef` and node ids) and pushes the result onto the
undo stack.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from neuralforge_desktop.core.analysis.shapes import ShapeInference, node_ports
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.edits import AddNode, Connect, Disconnect, Edit, Macro, MoveNodes
from neuralforge_desktop.core.edit.grouping import GroupIntoBlock, io_shapes_from
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Edge, Graph, GraphError, Node, Tie
from neuralforge_desktop.core.ir.layout import DEFAULT_AREA, Orientation, layout_positions
from neuralforge_desktop.core.ir.naming import unique_id
from neuralforge_desktop.core.ir.serialize import GraphFileError, dumps, loads


@dataclass(frozen=True)
class PortRef:
    """One port of a top-level node: what a wire is dragged from or dropped on."""

    node: str
    port: str
    output: bool

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"


def connect_edit(graph: Graph, a: PortRef, b: PortRef) -> Edit | None:
    """The edit that wires ``a`` to ``b`` (either order). Raises :class:`GraphError` with the reason when
    the pair can never be connected; returns None when they already are. Dropping onto an input that is
    already fed replaces that connection in one step."""
    if a.output == b.output:
        kind = "outputs" if a.output else "inputs"
        raise GraphError(f"cannot connect two {kind} ({a} and {b}): drag from an output (right side) to an "
                         "input (left side)")
    src, dst = (a, b) if a.output else (b, a)
    if src.node == dst.node:
        raise GraphError(f"cannot connect '{src.node}' to itself")
    existing = graph.edge_into(dst.node, dst.port)
    if existing is not None and (existing.src, existing.src_port) == (src.node, src.port):
        return None
    connect = Connect(src.node, src.port, dst.node, dst.port)
    if existing is None:
        return connect
    return Macro((Disconnect(dst.node, dst.port), connect), label="Replace connection")


def new_node(graph: Graph, type_name: str, position: tuple[float, float]) -> Node:
    """A fresh node of ``type_name`` with a unique id ("conv2d", "conv2d_1" …); a Block gets a pass-through
    body (one Input wired to one Output) so it is valid and has a port on each side."""
    if catalog().find(type_name) is None:
        raise GraphError(f"unknown layer type {type_name!r}")
    node_id = graph.new_id(type_name)
    body = None
    params: dict[str, object] = {}
    if type_name == BLOCK:
        body = Graph(node_id)
        body.add_node(INPUT, "x", {"shape": []}, position=(0.0, 0.0))
        body.add_node(OUTPUT, "y", position=(220.0, 0.0))
        body.connect("x", "y", "y", "x")
        params = {"repeat": 1}
    return Node(node_id, type_name, params, position=position, body=body)


def auto_connect_edge(graph: Graph, shapes: ShapeInference | None, source: str | None,
                      node: Node) -> tuple[Edge | None, str]:
    """The edge from ``source``'s first free output (else its first output: outputs may feed several
    layers) into ``node``'s first input when that is legal, else None and the reason (empty when there was
    nothing to connect from)."""
    if source is None or source not in graph.nodes:
        return None, ""
    layer_src = catalog().find(graph.nodes[source].type)
    src_params = layer_src.validate_params(graph.nodes[source].params)[0] if layer_src else {}
    outs = node_ports(graph.nodes[source], layer_src, src_params)[1]
    layer = catalog().find(node.type)
    ins = node_ports(node, layer, layer.validate_params(node.params)[0] if layer else {})[0]
    if not outs or not ins:
        side = f"'{source}' has no output" if not outs else f"{node.type} has no input"
        return None, f"added {node.id} unconnected: {side}"
    used = {e.src_port for e in graph.outgoing(source)}
    out = next((p for p in outs if p.name not in used), outs[0])
    spec = shapes.spec(source, out.name) if shapes is not None else None
    problem = ins[0].check(spec) if spec is not None and (ins[0].ranks is not None or ins[0].dtype != "any") else None
    if problem is not None:
        return None, (f"added {node.id} unconnected: {node.type} input '{ins[0].name}' expects {problem}, "
                      f"'{source}' gives {spec}")
    return Edge(source, out.name, node.id, ins[0].name), ""


def group_edit(graph: Graph, shapes: ShapeInference | None, node_ids: Iterable[str]) -> GroupIntoBlock:
    chosen = [n for n in graph.nodes if n in set(node_ids)]
    if not chosen:
        raise GraphError("select the layers to group first")
    block_id = unique_id("block", graph.nodes)
    return GroupIntoBlock(tuple(chosen), block_id, io_shapes_from(shapes, graph, chosen), label="Group into block")


# -- clipboard ---------------------------------------------------------------------------------------------
def copy_text(graph: Graph, node_ids: Iterable[str]) -> str:
    """The selected nodes with the edges and ties among them, as an ``.nfg`` document (so a saved file's
    text pastes too)."""
    chosen = set(node_ids)
    sub = Graph("clipboard")
    for nid, node in graph.nodes.items():
        if nid in chosen:
            sub.insert_node(copy.deepcopy(node))
    for edge in graph.edges:
        if edge.src in chosen and edge.dst in chosen:
            sub.connect(edge.src, edge.src_port, edge.dst, edge.dst_port)
    for tie in graph.ties:
        if tie.node in chosen and tie.source in chosen:
            sub.tie(tie.node, tie.param, tie.source, tie.source_param)
    return dumps(sub)


def paste_edit(graph: Graph, text: str, offset: tuple[float, float]) -> tuple[Macro, list[str]]:
    """One edit adding the clipboard's nodes under fresh ids, shifted by ``offset``; and the new ids."""
    try:
        sub = loads(text)
    except GraphFileError as exc:
        raise GraphError(f"the clipboard does not hold NeuralForge layers ({exc.reason})") from None
    if not len(sub):
        raise GraphError("the clipboard holds no layers")
    taken = set(graph.nodes)
    ids: dict[str, str] = {}
    for nid in sub.nodes:
        # A copy of "conv2d_1" becomes "conv2d_2", not "conv2d_1_1".
        ids[nid] = unique_id(re.sub(r"_\d+$", "", nid) or nid, taken)
        taken.add(ids[nid])
    order = {nid: i for i, nid in enumerate(sub.nodes)}
    edges: dict[str, list[Edge]] = {nid: [] for nid in sub.nodes}
    for e in sub.edges:  # each edge travels with whichever end is added last
        owner = e.src if order[e.src] > order[e.dst] else e.dst
        edges[owner].append(Edge(ids[e.src], e.src_port, ids[e.dst], e.dst_port))
    ties: dict[str, list[Tie]] = {nid: [] for nid in sub.nodes}
    for t in sub.ties:
        owner = t.node if order[t.node] > order[t.source] else t.source
        ties[owner].append(Tie(ids[t.node], t.param, ids[t.source], t.source_param))
    adds: list[Edit] = []
    for nid, node in sub.nodes.items():
        fresh = copy.deepcopy(node)
        fresh.id = ids[nid]
        fresh.position = (node.position[0] + offset[0], node.position[1] + offset[1])
        adds.append(AddNode(fresh, tuple(edges[nid]), tuple(ties[nid]), label=f"Add {fresh.id}"))
    return Macro(tuple(adds), label="Paste"), list(ids.values())


# -- layout ------------------------------------------------------------------------------------------------
def layout_edit(graph: Graph, node_ids: Iterable[str] | None, sizes: Mapping[str, tuple[float, float]],
                orientation: Orientation = "horizontal", area: tuple[float, float] = DEFAULT_AREA) -> MoveNodes | None:
    """One undoable move laying out the chosen nodes (all by default) with :func:`layout_positions`, keeping
    the top-left corner they had; None when nothing would move."""
    chosen = list(node_ids) if node_ids is not None else list(graph.nodes)
    if not chosen:
        return None
    origin = (min(graph.nodes[n].position[0] for n in chosen), min(graph.nodes[n].position[1] for n in chosen))
    positions = layout_positions(graph, chosen, sizes, orientation=orientation, origin=origin, area=area)
    moved = {nid: pos for nid, pos in positions.items() if tuple(graph.nodes[nid].position) != pos}
    return MoveNodes(moved, label="Auto layout") if moved else None
