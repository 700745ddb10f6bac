"""The lineage of a model as a small graph: nodes (a served prediction, a registered version, a run, a graph
file, a dataset, the code) and the relations between them, with a JSON form and an indented text tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NODE_KINDS = ("prediction", "version", "run", "graph", "dataset", "code")


@dataclass(frozen=True)
class LineageNode:
    """One thing in a lineage. ``id`` is unique within the lineage (``kind:key``); ``key`` is what names the thing
    outside it (the run id, ``NAME@V``, the graph's sha256, the dataset fingerprint …)."""

    kind: str
    key: str
    label: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "key": self.key, "label": self.label, "details": self.details}


@dataclass(frozen=True)
class LineageEdge:
    """``source`` came from (or was made with) ``target``: a prediction is *served by* a version, a version is
    *registered from* a run, a run is *quantised from* its parent, *trained on* a dataset …"""

    source: str
    target: str
    relation: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "target": self.target, "relation": self.relation}


@dataclass
class Lineage:
    """Nodes in the order they were found (the first is where the walk started) and the edges between them."""

    root: str = ""
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: list[LineageEdge] = field(default_factory=list)
    direction: str = "back"  # "back": from a result to what made it; "forward": from a dataset to what used it

    def add(self, node: LineageNode) -> str:
        """Add the node unless one with its id is there already (a run reached twice); returns its id."""
        self.nodes.setdefault(node.id, node)
        if not self.root:
            self.root = node.id
        return node.id

    def link(self, source: str, target: str, relation: str) -> None:
        edge = LineageEdge(source, target, relation)
        if edge not in self.edges:
            self.edges.append(edge)

    def of_kind(self, kind: str) -> list[LineageNode]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def children(self, node_id: str) -> list[LineageEdge]:
        return [e for e in self.edges if e.source == node_id]

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "direction": self.direction,
                "nodes": [n.to_json() for n in self.nodes.values()], "edges": [e.to_json() for e in self.edges]}

    def render_text(self) -> str:
        """An indented tree from the root; a node reached a second time is named, not expanded again."""
        lines: list[str] = []
        seen: set[str] = set()

        def visit(node_id: str, relation: str, depth: int) -> None:
            node = self.nodes[node_id]
            prefix = "  " * depth + (f"{relation} → " if relation else "")
            if node_id in seen:
                lines.append(f"{prefix}{node.kind} {node.label} (above)")
                return
            seen.add(node_id)
            lines.append(f"{prefix}{node.kind} {node.label}")
            for key, value in node.details.items():
                if value not in (None, "", {}, []):
                    lines.append("  " * (depth + 1) + f"· {key}: {_brief(value)}")
            for edge in self.children(node_id):
                visit(edge.target, edge.relation, depth + 1)

        if self.root:
            visit(self.root, "", 0)
        targets = {e.target for e in self.edges}
        for node_id in self.nodes:  # anything the root does not reach (should not happen) is still shown
            if node_id not in seen and node_id not in targets:
                visit(node_id, "", 0)
        return "\n".join(lines)


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_brief(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_brief(v) for v in value)
    return str(value)
