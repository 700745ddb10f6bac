"""The graph IR: nodes with stable ids, ports, edges, nested blocks and tied parameters.

IR spec, in short:

* A :class:`Node` has a stable ``id`` (a Python identifier, saved in files, used as the module attribute in
  generated code), a layer ``type`` from the catalog, ``params`` (plain JSON values), a canvas ``position``
  and user ``notes``. A node of type ``"Block"`` owns a ``body`` graph; its ``repeat`` param says how many
  times the body is applied in sequence (each copy has its own weights). The body's ``Input`` nodes are the
  block's input ports and its ``Output`` nodes its output ports, in order.
* An :class:`Edge` goes from ``(src, src_port)`` to ``(dst, dst_port)``. An input port takes at most one
  edge; an output port feeds any number. The graph keeps the use-def indices itself, refuses cycles, and
  refuses to remove a node that still feeds others unless asked to rewire around it.
* :class:`Tie` says that ``node.param`` *is* ``source.source_param`` (GPT-2's LM head shares the token
  embedding); the weight is counted and stored once.
* Saved data is all of the above plus ``symbols`` (values for named dimensions such as ``T``) and ``meta``.
  Derived data (shapes, costs, diagnostics) is never stored on the graph: analyses compute it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.identifiers import identifier_problem
from neuralforge_desktop.core.ir.naming import unique_id

if TYPE_CHECKING:
    from neuralforge_desktop.core.catalog.registry import Catalog

BLOCK = "Block"
INPUT = "Input"
OUTPUT = "Output"


class GraphError(UserError):
    """An edit that would make the graph inconsistent; the message says which node or port and why."""


class GraphInvariantError(AssertionError):
    """The graph's own bookkeeping disagrees with itself (a bug in an edit, never the user's doing)."""


def _check_name(value: object, what: str) -> None:
    problem = identifier_problem(value)
    if problem is not None:
        raise GraphError(f"{what}: {problem}")


def lr_mult_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a node's learning-rate multiplier, or None if it is one: a finite
    number, at least 0 (0 keeps the node's weights where they are)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"the learning-rate multiplier must be a number, got {value!r}"
    if not math.isfinite(value) or value < 0:
        return f"the learning-rate multiplier must be a finite number ≥ 0, got {value!r}"
    return None


@dataclass(eq=False)
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    notes: str = ""
    label: str = ""
    trainable: bool = True
    lr_mult: float = 1.0  # this node's learning rate is the run's times this (0: its weights stay as they are)
    body: Graph | None = None
    type_version: int = 1
    unknown: dict[str, Any] | None = None  # the saved record of a layer type no installed catalog knows

    @property
    def is_block(self) -> bool:
        return self.type == BLOCK

    @property
    def repeat(self) -> int:
        if not self.is_block:
            return 1
        value = self.params.get("repeat", 1)
        # An unvalidated file may hold anything here; validation reports it, readers get a safe 1.
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1

    @property
    def display_name(self) -> str:
        return self.label or self.id


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} → {self.dst}.{self.dst_port}"


@dataclass(frozen=True, slots=True)
class Tie:
    """``node.param`` shares storage with ``source.source_param``."""

    node: str
    param: str
    source: str
    source_param: str


class Graph:
    """A directed acyclic graph of layers that keeps its own links consistent."""

    def __init__(self, name: str = "model") -> None:
        self.name = name
        self.nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._in: dict[str, dict[str, Edge]] = {}  # dst node → {dst port → edge}
        self._out: dict[str, list[Edge]] = {}
        self.symbols: dict[str, int] = {}
        self.ties: list[Tie] = []
        self.meta: dict[str, Any] = {}
        self.revision = 0  # bumps on every edit
        self.structure_revision = 0  # bumps when nodes or edges change (not on param edits)
        self._topo: list[str] | None = None

    # -- reading -------------------------------------------------------------------------------------
    @property
    def edges(self) -> list[Edge]:
        """All edges in a canonical order (by consumer node order, then port), independent of edit history."""
        order = {nid: i for i, nid in enumerate(self.nodes)}
        return sorted(self._edges, key=lambda e: (order[e.dst], e.dst_port, order[e.src], e.src_port))

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r} in graph {self.name!r}") from None

    def incoming(self, node_id: str) -> dict[str, Edge]:
        """Edges into ``node_id`` keyed by its input port."""
        return dict(self._in.get(node_id, {}))

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        return self._in.get(node_id, {}).get(port)

    def outgoing(self, node_id: str) -> list[Edge]:
        return list(self._out.get(node_id, ()))

    def consumers(self, node_id: str) -> list[str]:
        seen: dict[str, None] = {}
        for e in self._out.get(node_id, ()):
            seen[e.dst] = None
        return list(seen)

    def producers(self, node_id: str) -> list[str]:
        seen: dict[str, None] = {}
        for e in self._in.get(node_id, {}).values():
            seen[e.src] = None
        return list(seen)

    def nodes_of_type(self, type_name: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == type_name]

    @property
    def input_nodes(self) -> list[Node]:
        return self.nodes_of_type(INPUT)

    @property
    def output_nodes(self) -> list[Node]:
        return self.nodes_of_type(OUTPUT)

    def topo_order(self) -> list[str]:
        """Node ids, producers before consumers; ties broken by insertion order (stable)."""
        if self._topo is None:
            indegree = {nid: 0 for nid in self.nodes}
            succ: dict[str, list[str]] = {nid: [] for nid in self.nodes}
            for e in self._edges:
                indegree[e.dst] += 1
                succ[e.src].append(e.dst)
            order_index = {nid: i for i, nid in enumerate(self.nodes)}
            import heapq

            ready = [(order_index[n], n) for n, d in indegree.items() if d == 0]
            heapq.heapify(ready)
            order: list[str] = []
            while ready:
                _, nid = heapq.heappop(ready)
                order.append(nid)
                for s in succ[nid]:
                    indegree[s] -= 1
                    if indegree[s] == 0:
                        heapq.heappush(ready, (order_index[s], s))
            if len(order) != len(self.nodes):  # only reachable through direct tampering
                raise GraphError(f"graph {self.name!r} has a cycle")
            self._topo = order
        return list(self._topo)

    def descendants(self, node_ids: Iterable[str]) -> set[str]:
        stack = list(node_ids)
        seen: set[str] = set()
        while stack:
            nid = stack.pop()
            for e in self._out.get(nid, ()):
                if e.dst not in seen:
                    seen.add(e.dst)
                    stack.append(e.dst)
        return seen

    # -- editing -------------------------------------------------------------------------------------
    def _touch(self, structure: bool = True) -> None:
        self.revision += 1
        if structure:
            self.structure_revision += 1
            self._topo = None

    def new_id(self, base: str) -> str:
        return unique_id(base, self.nodes)

    def add_node(
        self,
        type_name: str,
        node_id: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        position: tuple[float, float] = (0.0, 0.0),
        notes: str = "",
        label: str = "",
        body: Graph | None = None,
    ) -> Node:
        nid = node_id or self.new_id(type_name)
        _check_name(nid, "node id")
        if nid in self.nodes:
            raise GraphError(f"a node with id {nid!r} already exists")
        if type_name == BLOCK and body is None:
            raise GraphError(f"block {nid!r} needs a body graph")
        node = Node(nid, type_name, dict(params or {}), position=position, notes=notes, label=label, body=body)
        return self.insert_node(node)

    def insert_node(self, node: Node, index: int | None = None) -> Node:
        """Add a built node; ``index`` puts it back at a position in the node order (undo of a removal)."""
        if node.id in self.nodes:
            raise GraphError(f"a node with id {node.id!r} already exists")
        if index is None or index >= len(self.nodes):
            self.nodes[node.id] = node
        else:
            items = list(self.nodes.items())
            items.insert(max(index, 0), (node.id, node))
            self.nodes = dict(items)
        self._out.setdefault(node.id, [])
        self._in.setdefault(node.id, {})
        self._touch()
        return node

    def remove_node(self, node_id: str, *, rewire: bool = False) -> None:
        """Remove a node. Refused while it feeds others, unless ``rewire`` bypasses it.

        Rewiring connects the producer of the node's first connected input to every consumer.
        """
        node = self.node(node_id)
        users = self.outgoing(node_id)
        if users and not rewire:
            names = ", ".join(sorted({e.dst for e in users}))
            raise GraphError(f"node {node_id!r} still feeds {names}; disconnect them or remove with rewire")
        bypass: Edge | None = next(iter(self.incoming(node_id).values()), None)
        for edge in users:
            self._unlink(edge)
        for edge in list(self.incoming(node_id).values()):
            self._unlink(edge)
        if rewire and users:
            if bypass is None:
                raise GraphError(f"cannot rewire around {node_id!r}: it has no connected input")
            for edge in users:
                self._link(Edge(bypass.src, bypass.src_port, edge.dst, edge.dst_port))
        self.ties = [t for t in self.ties if node.id not in (t.node, t.source)]
        del self.nodes[node_id]
        self._out.pop(node_id, None)
        self._in.pop(node_id, None)
        self._touch()

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        self.node(src)
        self.node(dst)
        if src == dst:
            raise GraphError(f"cannot connect {src!r} to itself")
        existing = self.edge_into(dst, dst_port)
        if existing is not None:
            raise GraphError(f"input {dst}.{dst_port} is already fed by {existing.src}.{existing.src_port}")
        if src in self.descendants([dst]):
            raise GraphError(f"connecting {src}.{src_port} → {dst}.{dst_port} would make a cycle")
        edge = Edge(src, src_port, dst, dst_port)
        self._link(edge)
        self._touch()
        return edge

    def disconnect(self, dst: str, dst_port: str) -> Edge:
        edge = self.edge_into(dst, dst_port)
        if edge is None:
            raise GraphError(f"input {dst}.{dst_port} is not connected")
        self._unlink(edge)
        self._touch()
        return edge

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set one param; returns the previous value (``None`` when it was unset)."""
        node = self.node(node_id)
        old = node.params.get(name)
        node.params[name] = value
        self._touch(structure=False)
        return old

    def rename_node(self, old: str, new: str) -> None:
        if old == new:
            return
        _check_name(new, "node id")
        if new in self.nodes:
            raise GraphError(f"a node with id {new!r} already exists")
        node = self.node(old)
        edges = list(self._edges)
        for e in edges:
            self._unlink(e)
        node.id = new
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}
        self._out = {nid: [] for nid in self.nodes}
        self._in = {nid: {} for nid in self.nodes}
        for e in edges:
            self._link(Edge(new if e.src == old else e.src, e.src_port, new if e.dst == old else e.dst, e.dst_port))
        self.ties = [
            Tie(new if t.node == old else t.node, t.param, new if t.source == old else t.source, t.source_param)
            for t in self.ties
        ]
        self._touch()

    def tie(self, node: str, param: str, source: str, source_param: str) -> Tie:
        self.node(node)
        self.node(source)
        _check_name(param, "tie param")
        _check_name(source_param, "tie source_param")
        tie = Tie(node, param, source, source_param)
        if any(t.node == node and t.param == param for t in self.ties):
            raise GraphError(f"{node}.{param} is already tied")
        self.ties.append(tie)
        self._touch()
        return tie

    def set_symbol(self, name: str, value: int) -> None:
        """Give the dimension symbol ``name`` (``T``) a concrete value."""
        _check_name(name, "symbol")
        if not isinstance(value, int) or isinstance(value, bool):
            raise GraphError(f"symbol {name}: expected an integer, got {value!r}")
        self.symbols[name] = value
        self._touch(structure=False)

    def _link(self, edge: Edge) -> None:
        self._edges.append(edge)
        self._in.setdefault(edge.dst, {})[edge.dst_port] = edge
        self._out.setdefault(edge.src, []).append(edge)

    def _unlink(self, edge: Edge) -> None:
        self._edges.remove(edge)
        del self._in[edge.dst][edge.dst_port]
        self._out[edge.src].remove(edge)

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    # -- self-check ----------------------------------------------------------------------------------
    def check_invariants(self, cat: Catalog | None = None, *, ports: bool = True) -> None:
        """Raise :class:`GraphInvariantError` naming every inconsistency, block bodies included.

        After any sequence of edits: each node is filed under its own id; ``_edges``, ``_in`` and ``_out``
        hold exactly the same edges and only between existing nodes; each input port has at most one edge;
        there is no cycle; each tie names existing nodes. With ``ports``, every edge's ports exist on its
        nodes as the catalog expands them (types the catalog does not know are exempt: their ports are
        whatever the saved file said). torch.fx's ``Graph.lint()`` is the model.
        """
        problems = self._invariant_problems(cat, ports, "")
        if problems:
            raise GraphInvariantError(f"graph {self.name!r} is inconsistent:\n  " + "\n  ".join(problems))

    def _invariant_problems(self, cat: Catalog | None, ports: bool, prefix: str) -> list[str]:
        problems: list[str] = []
        where = prefix
        for key, node in self.nodes.items():
            if node.id != key:
                problems.append(f"node filed under {where}{key!r} has id {node.id!r}")
        edges = set(self._edges)
        if len(edges) != len(self._edges):
            problems.append(f"{where}_edges holds an edge twice")
        from_in = [e for port_edges in self._in.values() for e in port_edges.values()]
        from_out = [e for out_edges in self._out.values() for e in out_edges]
        for name, index in (("_in", from_in), ("_out", from_out)):
            if set(index) != edges or len(index) != len(edges):
                missing = sorted(map(str, edges - set(index)))
                extra = sorted(map(str, set(index) - edges))
                problems.append(f"{where}{name} disagrees with _edges (missing {missing}, extra {extra})")
        for dst, port_edges in self._in.items():
            for port, edge in port_edges.items():
                if (edge.dst, edge.dst_port) != (dst, port):
                    problems.append(f"{where}_in[{dst!r}][{port!r}] files edge {edge}")
        for src, out_edges in self._out.items():
            for edge in out_edges:
                if edge.src != src:
                    problems.append(f"{where}_out[{src!r}] files edge {edge}")
        for name, index_keys in (("_in", self._in), ("_out", self._out)):
            if set(index_keys) != set(self.nodes):
                problems.append(f"{where}{name} is keyed by {sorted(index_keys)} but the nodes are "
                                f"{sorted(self.nodes)}")
        for edge in self._edges:
            for end in (edge.src, edge.dst):
                if end not in self.nodes:
                    problems.append(f"{where}edge {edge} names a missing node {end!r}")
        for tie in self.ties:
            for end in (tie.node, tie.source):
                if end not in self.nodes:
                    problems.append(f"{where}tie {tie.node}.{tie.param} = {tie.source}.{tie.source_param} names "
                                    f"a missing node {end!r}")
        if not problems:
            cached, self._topo = self._topo, None
            try:
                fresh = self.topo_order()
            except GraphError as exc:
                problems.append(f"{where}{exc}")
            else:
                if cached is not None and cached != fresh:
                    problems.append(f"{where}the cached topological order is stale (an edit did not _touch)")
        if ports and not problems:
            problems.extend(self._port_problems(cat, where))
        for node in self.nodes.values():
            if node.is_block:
                if node.body is None:
                    problems.append(f"block {where}{node.id!r} has no body")
                else:
                    problems.extend(node.body._invariant_problems(cat, ports, f"{where}{node.id}/"))
            elif node.body is not None:
                problems.append(f"{where}{node.id!r} is a {node.type}, not a Block, but has a body")
        return problems

    def _port_problems(self, cat: Catalog | None, where: str) -> list[str]:
        if cat is None:
            from neuralforge_desktop.core.catalog.registry import catalog

            cat = catalog()
        from neuralforge_desktop.core.catalog.node_params import is_data_input

        known: dict[str, tuple[set[str], set[str]] | None] = {}
        for node in self.nodes.values():
            layer = None if node.unknown is not None else cat.find(node.type)
            if node.is_block and node.body is not None:
                known[node.id] = ({n.id for n in node.body.input_nodes if is_data_input(n)},
                                  {n.id for n in node.body.output_nodes})
            elif layer is not None:
                params, _ = layer.validate_params(node.params)
                known[node.id] = ({p.name for p in layer.input_ports(params)},
                                  {p.name for p in layer.output_ports(params)})
            else:
                known[node.id] = None  # a placeholder for a type no installed catalog knows
        problems: list[str] = []
        for edge in self._edges:
            src, dst = known[edge.src], known[edge.dst]
            if src is not None and edge.src_port not in src[1]:
                problems.append(f"{where}edge {edge}: {edge.src!r} has no output {edge.src_port!r}")
            if dst is not None and edge.dst_port not in dst[0]:
                problems.append(f"{where}edge {edge}: {edge.dst!r} has no input {edge.dst_port!r}")
        return problems

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """Every node, blocks' bodies included, with its ``/``-separated path."""
        for node in self.nodes.values():
            path = f"{prefix}{node.id}"
            yield path, node
            if node.body is not None:
                yield from node.body.walk(path + "/")

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes, {len(self._edges)} edges)"
