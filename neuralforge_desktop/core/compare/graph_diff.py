"""The architecture diff of two graphs: nodes added, removed and changed (old → new per field), edges added and
removed.

Nodes are matched by id. A node renamed between the two (its id changed, nothing else about where it sits) is
matched by type and rank among the unmatched nodes of that type in topological order, but only when that is
unambiguous: the same number of unmatched nodes of the type on both sides. Anything subtler is reported as one
removal and one addition, which is what the user did as far as the file can tell.

Positions are left out on purpose: moving a node on the canvas does not change the architecture."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Edge, Graph, Node

GRAPH_FILE = "graph.nfg"


class RunGraphError(UserError):
    """A run whose graph is neither in its run folder nor among its artifacts."""


@dataclass(frozen=True)
class FieldChange:
    """One setting of a node that differs: ``field`` is ``params.<name>`` or a node field (label, trainable…)."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class NodeChange:
    """A node present in both graphs (``old_id`` in the first, ``new_id`` in the second) whose settings differ."""

    old_id: str
    new_id: str
    type: str
    fields: tuple[FieldChange, ...]

    @property
    def renamed(self) -> bool:
        return self.old_id != self.new_id


@dataclass(frozen=True)
class GraphDiff:
    """What turns the ``old`` graph into the ``new`` one. ``added``/``removed`` hold node ids of the new and the
    old graph; ``matched`` maps every old node id kept to its id in the new graph."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[NodeChange, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)
    matched: dict[str, str] = field(default_factory=dict)
    added_edges: tuple[Edge, ...] = ()
    removed_edges: tuple[Edge, ...] = ()
    added_types: dict[str, str] = field(default_factory=dict)  # node id (new graph) → layer type
    removed_types: dict[str, str] = field(default_factory=dict)  # node id (old graph) → layer type

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.added_edges or self.removed_edges)

    def lines(self) -> list[str]:
        """The changes, one per line, as the CLI and the Compare window list them."""
        out = [f"+ {nid} ({self.added_types[nid]})" for nid in self.added]
        out += [f"- {nid} ({self.removed_types[nid]})" for nid in self.removed]
        for change in self.changed:
            name = f"{change.old_id} → {change.new_id}" if change.renamed else change.old_id
            detail = "; ".join(str(f) for f in change.fields) or "renamed"
            out.append(f"~ {name} ({change.type}): {detail}")
        out += [f"+ edge {e}" for e in self.added_edges]
        out += [f"- edge {e}" for e in self.removed_edges]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"added": [{"id": n, "type": self.added_types[n]} for n in self.added],
                "removed": [{"id": n, "type": self.removed_types[n]} for n in self.removed],
                "changed": [{"old_id": c.old_id, "new_id": c.new_id, "type": c.type,
                             "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields]}
                            for c in self.changed],
                "added_edges": [str(e) for e in self.added_edges],
                "removed_edges": [str(e) for e in self.removed_edges]}


def _show(value: Any) -> str:
    return "not set" if value is None else repr(value) if isinstance(value, str) else str(value)


def _node_fields(node: Node) -> dict[str, Any]:
    """The settings of ``node`` that make up the architecture (everything saved except its position)."""
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    values: dict[str, Any] = {f"params.{k}": v for k, v in node.params.items()}
    values.update({"type": node.type, "label": node.label, "trainable": node.trainable, "lr_mult": node.lr_mult,
                   "notes": node.notes})
    if node.body is not None:  # a block: its body compared as a whole (its own diff is one double-click away)
        body = graph_to_dict(node.body)
        values["body"] = {k: body[k] for k in ("nodes", "edges", "ties")}
    return values


def _field_changes(old: Node, new: Node) -> tuple[FieldChange, ...]:
    a, b = _node_fields(old), _node_fields(new)
    changes = []
    for key in sorted(a.keys() | b.keys(), key=lambda k: (not k.startswith("params."), k)):
        if a.get(key) != b.get(key):
            if key == "body":
                changes.append(FieldChange("body", f"{len(a[key]['nodes'])} nodes", f"{len(b[key]['nodes'])} nodes"))
            else:
                changes.append(FieldChange(key, a.get(key), b.get(key)))
    return tuple(changes)


def _renames(old: Graph, new: Graph, unmatched_old: list[str], unmatched_new: list[str]) -> dict[str, str]:
    """Old id → new id for nodes that only changed id: same type, same rank among the unmatched nodes of that
    type in topological order, and as many unmatched of the type on both sides."""
    def by_type(graph: Graph, ids: list[str]) -> dict[str, list[str]]:
        wanted = set(ids)
        groups: dict[str, list[str]] = {}
        for nid in graph.topo_order():
            if nid in wanted:
                groups.setdefault(graph.node(nid).type, []).append(nid)
        return groups

    old_groups, new_groups = by_type(old, unmatched_old), by_type(new, unmatched_new)
    renames: dict[str, str] = {}
    for type_name, olds in old_groups.items():
        news = new_groups.get(type_name, [])
        if len(olds) == len(news):
            renames.update(zip(olds, news, strict=True))
    return renames


def diff_graphs(old: Graph, new: Graph) -> GraphDiff:
    """How ``new`` differs from ``old`` (see the module's docstring for how nodes are matched)."""
    unmatched_old = [nid for nid in old.nodes if nid not in new.nodes]
    unmatched_new = [nid for nid in new.nodes if nid not in old.nodes]
    renamed = _renames(old, new, unmatched_old, unmatched_new)
    matched = {nid: nid for nid in old.nodes if nid in new.nodes} | renamed
    changed = []
    for old_id in old.nodes:  # file order: the order the user reads the graph in
        new_id = matched.get(old_id)
        if new_id is None:
            continue
        fields = _field_changes(old.node(old_id), new.node(new_id))
        if fields or new_id != old_id:
            changed.append(NodeChange(old_id, new_id, old.node(old_id).type, fields))
    kept = set(matched.values())
    added = tuple(nid for nid in new.nodes if nid not in kept)
    removed = tuple(nid for nid in old.nodes if nid not in matched)
    # Edges compared in the new graph's ids, so a renamed node's wires are not reported as rewired.
    old_edges = {Edge(matched.get(e.src, "\0" + e.src), e.src_port, matched.get(e.dst, "\0" + e.dst), e.dst_port): e
                 for e in old.edges}
    new_edges = set(new.edges)
    return GraphDiff(added=added, removed=removed, changed=tuple(changed), renamed=renamed, matched=matched,
                     added_edges=tuple(e for e in new.edges if e not in old_edges),
                     removed_edges=tuple(e for key, e in old_edges.items() if key not in new_edges),
                     added_types={nid: new.node(nid).type for nid in added},
                     removed_types={nid: old.node(nid).type for nid in removed})


def run_graph(store: Any, run_id: str) -> Graph:
    """The graph run ``run_id`` trained: ``graph.nfg`` in its run folder, else its ``graph.nfg`` artifact (a run
    copied from another machine keeps the artifact but not the folder)."""
    from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph
    from neuralforge_desktop.core.training.runner import runs_root

    candidates = [runs_root(Path(store.path)) / run_id / GRAPH_FILE]
    with contextlib.suppress(UserError):  # no such artifact: the folder is the only place left
        candidates.append(store.artifact_path(run_id, GRAPH_FILE))
    problems = []
    for path in candidates:
        try:
            return load_graph(path)
        except FileNotFoundError:
            continue
        except (OSError, GraphFileError) as exc:
            problems.append(f"{path}: {exc}")
    detail = "; ".join(problems) if problems else "no graph.nfg in its run folder nor among its artifacts"
    raise RunGraphError(f"run {run_id}: cannot read the graph it trained ({detail})")
