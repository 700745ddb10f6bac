"""Code → canvas: the smallest set of graph edits that makes a graph what edited code now describes.

The code is imported as any code is (:mod:`.import_torch`); the imported graph is then matched against the
current one, node by node: first by id (generated code names each module and variable after its node), then,
for what is left, by type and by being fed from the same matched nodes (a renamed variable is the same node).
Matched nodes keep their ids and positions; only changed params become edits, removed and added nodes and
rewired edges are the rest. Nodes outside the model's forward (a loss, a target input) are not in the code and
stay as they are. The whole change is one :class:`Macro`: one undo step.
"""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.codegen.plan import model_side
from neuralforge_desktop.core.edit.edits import AddNode, Connect, Disconnect, Edit, Macro, RemoveNode, SetParam
from neuralforge_desktop.core.ir.graph import Edge, Graph, Node


@dataclass
class SyncPlan:
    edit: Macro
    lines: list[str]  # what changes, one line each, for the CLI and the status bar

    @property
    def empty(self) -> bool:
        return not self.edit.edits


def import_text(source: str, name: str = "build_model", cat: Catalog | None = None, check: bool = False) -> Graph:
    """Import model code given as text (what the code view holds): the same import as ``neuralforge import``,
    without the output comparison unless asked (only the graph is used; no weights are written)."""
    from neuralforge_desktop.core.importers.import_torch import import_torch

    with tempfile.TemporaryDirectory(prefix="nf-sync-") as folder:
        path = Path(folder) / "edited_model.py"
        path.write_text(source, encoding="utf-8")
        return import_torch(f"{path}:{name}", cat=cat, check=check).graph


INIT_ONLY = frozenset({"init_std"})  # how weights were first drawn: not in the code's structure


def structure_key(graph: Graph, cat: Catalog, symbols: dict[str, int] | None = None) -> str:
    """What a graph computes, ids aside: each node's type and meaningful params (7 and [7, 7] alike), input
    shapes with named sizes at their values, blocks by their own structure, and the wiring between them."""
    from collections import Counter

    symbols = {**(symbols or {}), **graph.symbols}

    def signature(node: Node) -> str:
        if node.type == "Input":
            shape = [symbols.get(d, d) if isinstance(d, str) else d for d in node.params.get("shape", [])]
            return json.dumps(["Input", shape, node.params.get("dtype", "float32"), node.params.get("role", "data")])
        if node.body is not None:
            return json.dumps(["Block", node.repeat, structure_key(node.body, cat, symbols)])
        layer = cat.find(node.type)
        meaning = _validated(layer, node.params) or node.params
        defaults = _validated(layer, layer.default_params()) if layer is not None else {}
        kept = {k: repr(v) for k, v in meaning.items() if v != defaults.get(k) and k not in INIT_ONLY}
        return json.dumps([node.type, sorted(kept.items())])

    sig = {node.id: signature(node) for node in graph}
    edges = Counter(json.dumps([sig[e.src], e.src_port if graph.node(e.src).body is None else "",
                                sig[e.dst], e.dst_port if graph.node(e.dst).body is None else ""])
                    for e in graph.edges)
    return json.dumps([sorted(Counter(sig.values()).items()), sorted(edges.items())])


def _match(old: Graph, new: Graph, keep: set[str]) -> dict[str, str]:
    """new id → old id, for nodes that are the same node."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for node in new:
        if node.id in keep and old.node(node.id).type == node.type:
            mapping[node.id] = node.id
            used.add(node.id)

    def feeds(graph: Graph, nid: str, rename: dict[str, str] | None) -> list[tuple[str, str | None, str]]:
        # a block's output port is named after its body's Output node, which code does not carry
        found = []
        for port, e in graph.incoming(nid).items():
            src_port = "" if graph.node(e.src).body is not None else e.src_port
            found.append((port, rename.get(e.src) if rename is not None else e.src, src_port))
        return sorted(found, key=str)

    for nid in new.topo_order():
        if nid in mapping:
            continue
        node = new.node(nid)
        mine = feeds(new, nid, mapping)
        for candidate in old.topo_order():
            if candidate in used or candidate not in keep or old.node(candidate).type != node.type:
                continue
            same_input = node.type == "Input" and old.node(candidate).params == node.params
            if same_input or feeds(old, candidate, None) == mine:
                mapping[nid] = candidate
                used.add(candidate)
                break
    return mapping


def _renamed(new: Graph, mapping: dict[str, str], old: Graph) -> Graph:
    """``new`` with matched nodes under their old ids and new ones under ids free in both graphs."""
    graph = copy.deepcopy(new)
    taken = set(old.nodes) | set(new.nodes)
    final: dict[str, str] = {}
    for nid in list(new.nodes):
        target = mapping.get(nid)
        if target is None:
            target = nid if nid not in old.nodes else _fresh(nid, taken)
            taken.add(target)
        final[nid] = target
    temporary = {nid: f"_nf_sync_{i}" for i, nid in enumerate(new.nodes)}
    for nid, tmp in temporary.items():  # two steps: a new id may be another node's old one
        graph.rename_node(nid, tmp)
    for nid, tmp in temporary.items():
        graph.rename_node(tmp, final[nid])
    return graph


def _body_changed(before: Node, after: Node, cat: Catalog, symbols: dict[str, int]) -> bool:
    if before.body is None or after.body is None:
        return False
    return structure_key(before.body, cat, symbols) != structure_key(after.body, cat, symbols)


def _align_ports(old: Graph, new: Graph) -> None:
    """A block's ports are its body's Input and Output ids, which code does not carry (``y`` may come back as
    ``output``): matched blocks take their old port names, in order, so their wires compare equal."""
    for nid in list(new.nodes):
        if nid not in old.nodes or old.node(nid).body is None or new.node(nid).body is None:
            continue
        body, before = new.node(nid).body, old.node(nid).body
        assert body is not None and before is not None
        pairs = [*zip([n.id for n in body.input_nodes], [n.id for n in before.input_nodes], strict=False),
                 *zip([n.id for n in body.output_nodes], [n.id for n in before.output_nodes], strict=False)]
        if (len(body.input_nodes), len(body.output_nodes)) != (len(before.input_nodes), len(before.output_nodes)):
            continue
        port = dict(pairs)
        if all(a == b for a, b in pairs):
            continue
        touching = [e for e in new.edges if nid in (e.src, e.dst)]
        for e in touching:
            new.disconnect(e.dst, e.dst_port)
        for i, (mine, _) in enumerate(pairs):
            body.rename_node(mine, f"_nf_port_{i}")
        for i, (_, theirs) in enumerate(pairs):
            body.rename_node(f"_nf_port_{i}", theirs)
        for e in touching:
            new.connect(e.src, port.get(e.src_port, e.src_port) if e.src == nid else e.src_port,
                        e.dst, port.get(e.dst_port, e.dst_port) if e.dst == nid else e.dst_port)


def _fresh(base: str, taken: set[str]) -> str:
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def sync_plan(old: Graph, code_graph: Graph, cat: Catalog | None = None) -> SyncPlan:
    """The edits that turn ``old``'s forward into ``code_graph`` (an imported graph)."""
    cat = cat or catalog()
    forward = set(model_side(old, ShapeInference(old, cat).run(), cat))
    new = _renamed(code_graph, _match(old, code_graph, forward), old)
    _align_ports(old, new)
    lines: list[str] = []
    gone = [nid for nid in old.topo_order() if nid in forward and nid not in new.nodes]
    added = [nid for nid in new.topo_order() if nid not in old.nodes]
    replaced = [nid for nid in new.nodes if nid in old.nodes and _body_changed(old.node(nid), new.node(nid), cat,
                                                                              old.symbols)]

    def edge_set(graph: Graph, within: set[str]) -> set[Edge]:
        return {e for e in graph.edges if e.src in within and e.dst in within}

    old_edges = edge_set(old, forward)
    new_edges = edge_set(new, set(new.nodes))
    drop = [e for e in old.edges if (e in old_edges and e not in new_edges)
            or e.src in replaced or e.dst in replaced or e.src in gone or e.dst in gone]
    edits: list[Edit] = [Disconnect(e.dst, e.dst_port) for e in drop]
    edits += [RemoveNode(nid) for nid in reversed(gone)]
    lines += [f"removed {old.node(nid).type} '{nid}'" for nid in gone]
    edits += [RemoveNode(nid) for nid in replaced]
    for nid in new.nodes:
        if nid not in old.nodes or nid in replaced:
            continue
        before, after = old.node(nid).params, new.node(nid).params
        layer = cat.find(new.node(nid).type)
        defaults = layer.default_params() if layer is not None else {}
        same_meaning = _validated(layer, before), _validated(layer, after)
        for key in sorted(set(before) | set(after)):
            was, now = before.get(key, defaults.get(key)), after.get(key, defaults.get(key))
            if key in INIT_ONLY or (key == "shape" and _resolved(was, old.symbols) == _resolved(now, old.symbols)):
                continue  # code cannot show how weights were first drawn, nor that 200 is the graph's T
            if same_meaning[0].get(key, _norm(was)) != same_meaning[1].get(key, _norm(now)):
                edits.append(SetParam(nid, key, now))
                lines.append(f"{nid}.{key}: {was!r} → {now!r}")
    positions = _positions(old, new, added + replaced)
    for nid in replaced:
        node = copy.deepcopy(new.node(nid))
        node.position = old.node(nid).position
        node.label, node.notes = old.node(nid).label, old.node(nid).notes
        edits.append(AddNode(node, label=f"Replace {nid}"))
        lines.append(f"changed block '{nid}'")
    for nid in added:
        node = copy.deepcopy(new.node(nid))
        node.position = positions.get(nid, node.position)
        edits.append(AddNode(node, label=f"Add {nid}"))
        lines.append(f"added {node.type} '{nid}'")
    kept_out = [e for e in drop if (e.src in replaced or e.dst in replaced) and e.src not in gone
                and e.dst not in gone and (e in new_edges or e.src not in forward or e.dst not in forward)]
    connect = [e for e in new.edges if e not in old_edges or e.src in replaced or e.dst in replaced]
    for e in dict.fromkeys([*connect, *kept_out]):
        edits.append(Connect(e.src, e.src_port, e.dst, e.dst_port))
    rewired = {e for e in connect if e.src not in added and e.dst not in added and e.src not in replaced
               and e.dst not in replaced}
    lines += [f"connected {e}" for e in sorted(rewired, key=str)]
    return SyncPlan(Macro(tuple(edits), label="Apply code"), lines)


def _validated(layer: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What params mean (7 and [7, 7] are the same kernel); raw values where the layer is unknown or refuses."""
    if layer is None:
        return {}
    validated, errors = layer.validate_params(params)
    return {} if errors else dict(validated)


def _resolved(shape: Any, symbols: dict[str, int]) -> Any:
    if not isinstance(shape, list | tuple):
        return shape
    return [symbols.get(d, d) if isinstance(d, str) else d for d in shape]


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _positions(old: Graph, new: Graph, ids: list[str]) -> dict[str, tuple[float, float]]:
    """New nodes go beside what feeds them in the current layout (one column downstream)."""
    from neuralforge_desktop.core.ir.layout import COLUMN_GAP

    placed: dict[str, tuple[float, float]] = {}
    for nid in ids:
        producers = [e.src for e in new.incoming(nid).values()]
        found = [placed.get(p) or (old.node(p).position if p in old.nodes else None) for p in producers]
        anchors = [a for a in found if a is not None]
        if anchors:
            x = max(a[0] for a in anchors) + COLUMN_GAP + 150.0
            y = sum(a[1] for a in anchors) / len(anchors) + 40.0
            placed[nid] = (x, y)
    return placed


def apply_plan(graph: Graph, plan: SyncPlan) -> Edit:
    """Apply to ``graph`` in place; returns the inverse (one undo step)."""
    return plan.edit.apply(graph)

