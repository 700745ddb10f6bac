"""Invertible edits of a graph. ``edit.apply(graph)`` performs the edit and returns its inverse, so an undo
stack is a list of inverses. Each edit names the nodes whose shapes may change (``affected``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.ir.graph import Edge, Graph, GraphError, Node, Tie, lr_mult_problem

_MISSING: Any = object()


class Edit:
    """Base of all edits. Subclasses are small frozen dataclasses."""

    label = "Edit"

    def apply(self, graph: Graph) -> Edit:
        raise TypeError(f"{type(self).__name__} must implement apply")  # only reachable through a subclass bug

    def affected(self, graph: Graph) -> set[str]:
        """Ids whose shapes may change. The document asks the edit before applying it and the inverse after,
        and recomputes the union of those that exist."""
        return set()

    @property
    def structural(self) -> bool:
        """True when nodes or edges change (not only params, positions or text)."""
        return True


@dataclass(frozen=True)
class AddNode(Edit):
    """Insert a node (with its body, if a block) and, optionally, edges and ties that involve it."""

    node: Node
    edges: tuple[Edge, ...] = ()
    ties: tuple[Tie, ...] = ()
    label: str = "Add node"
    index: int | None = None  # position in the node order (keeps files and generated code stable on undo)

    def apply(self, graph: Graph) -> Edit:
        graph.insert_node(copy.deepcopy(self.node), self.index)
        try:
            for e in self.edges:
                graph.connect(e.src, e.src_port, e.dst, e.dst_port)
            for t in self.ties:
                graph.tie(t.node, t.param, t.source, t.source_param)
        except GraphError:
            for e in graph.outgoing(self.node.id):  # undo the partial insert before reporting
                graph.disconnect(e.dst, e.dst_port)
            graph.remove_node(self.node.id)
            raise
        return RemoveNode(self.node.id, label=f"Remove {self.node.id}")

    def affected(self, graph: Graph) -> set[str]:
        return {self.node.id} | {e.dst for e in self.edges}


@dataclass(frozen=True)
class RemoveNode(Edit):
    """Remove a node together with all its edges and ties (the inverse restores all of them)."""

    node_id: str
    label: str = "Remove node"

    def apply(self, graph: Graph) -> Edit:
        node = graph.node(self.node_id)
        edges = tuple(graph.incoming(self.node_id).values()) + tuple(graph.outgoing(self.node_id))
        ties = tuple(t for t in graph.ties if self.node_id in (t.node, t.source))
        for e in graph.outgoing(self.node_id):
            graph.disconnect(e.dst, e.dst_port)
        saved = copy.deepcopy(node)
        index = list(graph.nodes).index(self.node_id)
        graph.remove_node(self.node_id)
        return AddNode(saved, edges, ties, label=f"Add {self.node_id}", index=index)

    def affected(self, graph: Graph) -> set[str]:
        return set(graph.consumers(self.node_id)) if self.node_id in graph else set()


@dataclass(frozen=True)
class Connect(Edit):
    src: str
    src_port: str
    dst: str
    dst_port: str
    label: str = "Connect"

    def apply(self, graph: Graph) -> Edit:
        graph.connect(self.src, self.src_port, self.dst, self.dst_port)
        return Disconnect(self.dst, self.dst_port, label="Disconnect")

    def affected(self, graph: Graph) -> set[str]:
        return {self.dst}


@dataclass(frozen=True)
class Disconnect(Edit):
    dst: str
    dst_port: str
    label: str = "Disconnect"

    def apply(self, graph: Graph) -> Edit:
        edge = graph.disconnect(self.dst, self.dst_port)
        return Connect(edge.src, edge.src_port, edge.dst, edge.dst_port, label="Connect")

    def affected(self, graph: Graph) -> set[str]:
        return {self.dst}


@dataclass(frozen=True)
class SetParam(Edit):
    """Set (or, with the missing marker, remove) one parameter."""

    node_id: str
    name: str
    value: Any = _MISSING
    label: str = "Set parameter"

    def apply(self, graph: Graph) -> Edit:
        node = graph.node(self.node_id)
        old = node.params.get(self.name, _MISSING)
        if self.value is _MISSING:
            node.params.pop(self.name, None)
            graph.set_param(self.node_id, self.name, None)
            node.params.pop(self.name, None)
        else:
            graph.set_param(self.node_id, self.name, copy.deepcopy(self.value))
        return SetParam(self.node_id, self.name, old, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.node_id}

    @property
    def structural(self) -> bool:
        # Port counts (num_inputs, repeat …) can change with params; callers treat that as structure.
        return self.name in {"num_inputs", "num_outputs"}


@dataclass(frozen=True)
class MoveNodes(Edit):
    """Set canvas positions; consecutive moves of the same nodes merge into one undo step."""

    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    label: str = "Move"

    def apply(self, graph: Graph) -> Edit:
        old = {nid: graph.node(nid).position for nid in self.positions}
        for nid, pos in self.positions.items():
            graph.node(nid).position = (float(pos[0]), float(pos[1]))
        graph.revision += 1
        return MoveNodes(old, label=self.label)

    @property
    def structural(self) -> bool:
        return False


@dataclass(frozen=True)
class SetNodeText(Edit):
    """Set a node's ``notes`` or ``label``."""

    node_id: str
    field_name: str  # "notes" | "label"
    value: str
    label: str = "Edit text"

    def apply(self, graph: Graph) -> Edit:
        if self.field_name not in {"notes", "label"}:
            raise GraphError(f"cannot set {self.field_name!r} of a node as text")
        node = graph.node(self.node_id)
        old = getattr(node, self.field_name)
        setattr(node, self.field_name, self.value)
        graph.revision += 1
        return SetNodeText(self.node_id, self.field_name, old, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.node_id}  # shapes do not change, but views must know which node to redraw

    @property
    def structural(self) -> bool:
        return False


@dataclass(frozen=True)
class SetTrainable(Edit):
    node_id: str
    trainable: bool
    label: str = "Freeze / unfreeze"

    def apply(self, graph: Graph) -> Edit:
        node = graph.node(self.node_id)
        old = node.trainable
        node.trainable = self.trainable
        graph.revision += 1
        return SetTrainable(self.node_id, old, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.node_id}

    @property
    def structural(self) -> bool:
        return False


@dataclass(frozen=True)
class SetLrMult(Edit):
    """The node's learning-rate multiplier (its parameters train at the run's learning rate times it)."""

    node_id: str
    lr_mult: float
    label: str = "Set learning-rate multiplier"

    def apply(self, graph: Graph) -> Edit:
        node = graph.node(self.node_id)
        problem = lr_mult_problem(self.lr_mult)
        if problem is not None:
            raise GraphError(f"node {self.node_id!r}: {problem}")
        old = node.lr_mult
        node.lr_mult = float(self.lr_mult)
        graph.revision += 1
        return SetLrMult(self.node_id, old, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.node_id}

    @property
    def structural(self) -> bool:
        return False


@dataclass(frozen=True)
class RenameNode(Edit):
    old: str
    new: str
    label: str = "Rename"

    def apply(self, graph: Graph) -> Edit:
        graph.rename_node(self.old, self.new)
        return RenameNode(self.new, self.old, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.new}


@dataclass(frozen=True)
class SetMeta(Edit):
    """Set a graph-level annotation (backdrops, description …); ``_MISSING`` removes the key."""

    key: str
    value: Any = _MISSING
    label: str = "Edit annotation"

    def apply(self, graph: Graph) -> Edit:
        old = graph.meta.get(self.key, _MISSING)
        if self.value is _MISSING:
            graph.meta.pop(self.key, None)
        else:
            graph.meta[self.key] = copy.deepcopy(self.value)
        graph.revision += 1
        return SetMeta(self.key, old, label=self.label)

    @property
    def structural(self) -> bool:
        return False


@dataclass(frozen=True)
class Macro(Edit):
    """Several edits as one user gesture (one undo step). Applied in order, undone in reverse."""

    edits: tuple[Edit, ...]
    label: str = "Edit"

    def apply(self, graph: Graph) -> Edit:
        inverses: list[Edit] = []
        try:
            for edit in self.edits:
                inverses.append(edit.apply(graph))
        except Exception:
            for inverse in reversed(inverses):  # leave the graph as it was
                inverse.apply(graph)
            raise
        return Macro(tuple(reversed(inverses)), label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        found: set[str] = set()
        for edit in self.edits:
            found |= edit.affected(graph)
        return found

    @property
    def structural(self) -> bool:
        return any(e.structural for e in self.edits)


def remove_nodes(graph: Graph, node_ids: list[str], label: str = "Delete") -> Macro:
    """Delete several nodes: edges between them and to the rest go too (one undo step)."""
    order = [nid for nid in reversed(graph.topo_order()) if nid in set(node_ids)]
    return Macro(tuple(RemoveNode(nid) for nid in order), label=label)
