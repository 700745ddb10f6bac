"""The graph keeps its own links consistent."""

import pytest

from neuralforge_desktop.core.ir.graph import Graph, GraphError


def chain() -> Graph:
    g = Graph("chain")
    g.add_node("Input", "x", {"shape": [8]})
    g.add_node("Linear", "fc1", {"out_features": 4})
    g.add_node("ReLU", "act")
    g.add_node("Output", "out")
    g.connect("x", "y", "fc1", "x")
    g.connect("fc1", "y", "act", "x")
    g.connect("act", "y", "out", "x")
    return g


def test_connect_updates_both_ends():
    g = chain()
    assert g.consumers("fc1") == ["act"]
    assert g.producers("act") == ["fc1"]
    assert g.edge_into("act", "x").src == "fc1"


def test_input_port_takes_one_edge_and_cycles_are_refused():
    g = chain()
    with pytest.raises(GraphError, match="already fed by fc1.y"):
        g.connect("x", "y", "act", "x")
    with pytest.raises(GraphError, match="cycle"):
        g.connect("act", "y", "fc1", "x2")
    with pytest.raises(GraphError, match="itself"):
        g.connect("act", "y", "act", "x")


def test_removing_a_node_that_feeds_others_is_refused_or_rewired():
    g = chain()
    with pytest.raises(GraphError, match="still feeds act"):
        g.remove_node("fc1")
    g.remove_node("act", rewire=True)
    assert g.edge_into("out", "x").src == "fc1"
    assert "act" not in g
    assert g.topo_order() == ["x", "fc1", "out"]


def test_ids_are_stable_unique_identifiers():
    g = chain()
    assert g.add_node("Linear").id == "linear"
    assert g.add_node("Linear").id == "linear_1"
    with pytest.raises(GraphError, match="already exists"):
        g.add_node("ReLU", "fc1")
    with pytest.raises(GraphError, match="identifier"):
        g.add_node("ReLU", "my node")


def test_rename_keeps_edges_and_ties():
    g = chain()
    g.add_node("Linear", "head", {"out_features": 8})
    g.tie("head", "weight", "fc1", "weight")
    g.rename_node("fc1", "encoder")
    assert g.edge_into("act", "x").src == "encoder"
    assert g.ties[0].source == "encoder"
    assert g.topo_order()[1] == "encoder"


def test_param_edit_does_not_change_structure_revision():
    g = chain()
    before = g.structure_revision
    g.set_param("fc1", "out_features", 16)
    assert g.structure_revision == before
    g.disconnect("out", "x")
    assert g.structure_revision == before + 1


def test_walk_visits_block_bodies_with_paths():
    g = chain()
    body = chain()
    g.add_node("Block", "blk", {"repeat": 2}, body=body)
    assert ("blk/fc1" in [p for p, _ in g.walk()])
