"""The edits behind canvas gestures, without Qt: what a dragged wire does to the graph, and when it is refused."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.edit.canvas_edits import PortRef, connect_edit
from neuralforge_desktop.core.ir.graph import Graph, GraphError


def _graph() -> Graph:
    graph = Graph("g")
    graph.add_node("Input", "a", {"shape": [4]})
    graph.add_node("Input", "b", {"shape": [4]})
    graph.add_node("Linear", "lin", {"out_features": 2})
    return graph


def test_a_wire_connects_either_way_round_and_replaces_what_fed_the_input() -> None:
    graph = _graph()
    edit = connect_edit(graph, PortRef("lin", "x", False), PortRef("a", "y", True))  # dragged from the input
    assert edit is not None
    edit.apply(graph)
    assert graph.edge_into("lin", "x").src == "a"  # type: ignore[union-attr]
    assert connect_edit(graph, PortRef("a", "y", True), PortRef("lin", "x", False)) is None  # already wired
    replace = connect_edit(graph, PortRef("b", "y", True), PortRef("lin", "x", False))
    assert replace is not None and replace.label == "Replace connection"
    undo = replace.apply(graph)
    assert graph.edge_into("lin", "x").src == "b"  # type: ignore[union-attr]
    undo.apply(graph)
    assert graph.edge_into("lin", "x").src == "a"  # type: ignore[union-attr]


@pytest.mark.parametrize(("a", "b", "reason"), [
    (PortRef("a", "y", True), PortRef("b", "y", True), "cannot connect two outputs (a.y and b.y)"),
    (PortRef("lin", "y", True), PortRef("lin", "x", False), "cannot connect 'lin' to itself"),
])
def test_impossible_wires_are_refused_with_the_reason(a: PortRef, b: PortRef, reason: str) -> None:
    with pytest.raises(GraphError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        connect_edit(_graph(), a, b)
