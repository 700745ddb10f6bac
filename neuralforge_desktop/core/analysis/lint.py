"""Lint: warnings for graphs that are legal but probably not what the designer meant.

Every warning is a :class:`Diagnostic` with ``Severity.warning``, the node's path (``block/inner`` inside
blocks; ``""`` for the whole graph), a message that says what is wrong, why, and what to do, and a stable
``code``. ``no-output`` — a graph (or block body) without an Output node — is checked here; the warnings about
one node and its neighbours come from the node rules in :mod:`.rules` (listed there), the same rules that
give the inspector its advice, so the two cannot disagree.
"""

from __future__ import annotations

from neuralforge_desktop.core.analysis.rules import human_count, node_advice
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.diagnostics import Diagnostic, Severity
from neuralforge_desktop.core.ir.graph import BLOCK, Graph

__all__ = ["human_count", "lint"]


def lint(graph: Graph, shapes: ShapeInference | None = None, cat: Catalog | None = None) -> list[Diagnostic]:
    """Warnings for ``graph`` (blocks' bodies included). ``shapes`` supplies validated params and sizes."""
    found: list[Diagnostic] = []
    _lint_level(graph, shapes, cat or (shapes.catalog if shapes is not None else catalog()), "", found)
    return found


def _lint_level(graph: Graph, shapes: ShapeInference | None, cat: Catalog, prefix: str,
                found: list[Diagnostic]) -> None:
    if not graph.output_nodes and len(graph):  # an empty canvas is a start, not a problem
        if not prefix:
            found.append(Diagnostic(Severity.warning, "", f"graph '{graph.name}' has no Output node, so the model "
                                    "returns nothing; add an Output after the layer whose result you want (a loss "
                                    "alone only serves training)", code="no-output"))
        else:
            block = prefix.rstrip("/")
            found.append(Diagnostic(Severity.warning, block, f"Block '{block}' has no Output node in its body, so "
                                    "the block produces nothing; add an Output inside it", code="no-output"))
    for nid in graph.topo_order():
        node = graph.nodes[nid]
        path = prefix + nid
        result = shapes.results.get(nid) if shapes is not None else None
        found += [d for d in node_advice(graph, node, cat, result, path) if d.severity is Severity.warning]
        if node.type == BLOCK and node.body is not None:
            _lint_level(node.body, result.body if result is not None else None, cat, path + "/", found)
