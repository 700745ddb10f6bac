"""Edits are invertible data: applying an edit and then its inverse restores the graph exactly."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.edit.document import Document, find_recoveries, write_recovery
from neuralforge_desktop.core.edit.edits import (
    AddNode,
    Connect,
    Disconnect,
    Edit,
    Macro,
    MoveNodes,
    RemoveNode,
    RenameNode,
    SetMeta,
    SetNodeText,
    SetParam,
    remove_nodes,
)
from neuralforge_desktop.core.edit.grouping import GroupIntoBlock, UngroupBlock, io_shapes_from
from neuralforge_desktop.core.ir.graph import Edge, GraphError, GraphInvariantError, Node, Tie
from neuralforge_desktop.core.ir.serialize import graph_to_dict, load_graph
from neuralforge_desktop.core.zoo import build


def snapshot(graph):
    return graph_to_dict(graph)


def _edit_classes(base=Edit):
    for cls in base.__subclasses__():
        yield cls
        yield from _edit_classes(cls)


@pytest.fixture(autouse=True)
def invariants_checked_after_every_edit(monkeypatch):
    """Every edit these tests apply, and every inverse, leaves the graph's bookkeeping consistent."""
    checked = []

    def checking(apply):
        def apply_then_check(self, graph):
            inverse = apply(self, graph)
            graph.check_invariants()
            checked.append(type(self).__name__)
            return inverse
        return apply_then_check

    for cls in set(_edit_classes()):
        if "apply" in vars(cls):
            monkeypatch.setattr(cls, "apply", checking(vars(cls)["apply"]))
    return checked


def test_each_edit_and_its_inverse_restore_the_graph():
    g = build("mnist-cnn")
    original = snapshot(g)
    edits = [
        SetParam("conv1", "out_channels", 8),
        SetParam("conv1", "kernel_size", 5),
        MoveNodes({"conv1": (10.0, 20.0), "relu1": (300.0, 40.0)}),
        SetNodeText("conv1", "notes", "first feature extractor"),
        SetNodeText("fc1", "label", "hidden"),
        Disconnect("relu1", "x"),
        RemoveNode("dropout"),
        RenameNode("fc2", "classifier"),
        SetMeta("backdrops", [{"id": "b1", "title": "features", "color": "#335", "rect": [0, 0, 400, 200]}]),
        AddNode(Node("extra", "ReLU", position=(5.0, 5.0))),
        remove_nodes(g, ["conv2", "relu2", "pool2"]),
    ]
    for edit in edits:
        inverse = edit.apply(g)
        assert snapshot(g) != original or isinstance(edit, Disconnect)
        inverse.apply(g)
        assert snapshot(g) == original, edit


def test_every_edit_type_is_checked(invariants_checked_after_every_edit):
    g = build("mnist-cnn")
    SetParam("fc1", "out_features", 8).apply(g).apply(g)
    assert invariants_checked_after_every_edit == ["SetParam", "SetParam"]


@pytest.mark.parametrize("corrupt, complaint", [
    (lambda g: g._edges.pop(), "_in disagrees with _edges"),
    (lambda g: g._in["relu1"].clear(), "_in disagrees with _edges"),
    (lambda g: g._out["conv1"].append(Edge("conv1", "y", "fc2", "x")), "_out disagrees with _edges"),
    (lambda g: g.nodes.__setitem__("ghost", g.nodes["relu1"]), "filed under 'ghost' has id 'relu1'"),
    (lambda g: g.ties.append(Tie("fc2", "weight", "gone", "weight")), "names a missing node 'gone'"),
    (lambda g: g._link(Edge("conv1", "z", "fc2", "bias")), "'conv1' has no output 'z'"),
    (lambda g: g._link(Edge("relu1", "y", "conv1", "extra")), "cycle"),
    (lambda g: g._link(Edge("relu1", "y", "conv1", "x")), "missing ['image.y → conv1.x']"),
    (lambda g: g.nodes.__setitem__("relu1", Node("relu1", "ReLU", body=g.copy())), "not a Block, but has a body"),
])
def test_invariant_check_names_what_is_inconsistent(corrupt, complaint):
    g = build("mnist-cnn")
    g.check_invariants()
    g.topo_order()
    corrupt(g)
    with pytest.raises(GraphInvariantError, match="inconsistent") as raised:
        g.check_invariants()
    assert complaint in str(raised.value)


def test_invariant_check_recurses_into_block_bodies():
    g = build("resnet18")
    g.check_invariants()
    body = g.nodes["layer1"].body
    assert body is not None
    inner = next(n for n in body if n.body is not None)
    inner.body._edges.pop()
    with pytest.raises(GraphInvariantError, match=f"layer1/{inner.id}/_in disagrees"):
        g.check_invariants()


def test_unknown_layer_types_keep_their_ports():
    g = build("mnist-cnn")
    g.disconnect("relu1", "x")
    g.add_node("SomePluginLayer", "plugin")
    g.connect("conv1", "y", "plugin", "whatever")
    g.connect("plugin", "out7", "relu1", "x")
    g.check_invariants()


def test_failed_macro_leaves_the_graph_unchanged():
    g = build("mnist-cnn")
    original = snapshot(g)
    with pytest.raises(GraphError):
        Macro((SetParam("conv1", "out_channels", 4), Connect("image", "y", "relu1", "x"))).apply(g)
    assert snapshot(g) == original


def test_group_into_block_keeps_shapes_and_expand_restores_exactly():
    g = build("mnist-cnn")
    before = ShapeInference(g).run()
    original = snapshot(g)
    chosen = ["conv1", "relu1", "pool1"]
    edit = GroupIntoBlock(tuple(chosen), "features", io_shapes_from(before, g, chosen))
    inverse = edit.apply(g)
    after = ShapeInference(g).run()
    assert after.ok, [d.message for d in after.errors]
    assert g.nodes["features"].type == "Block"
    assert str(after.spec("features", "out_pool1")) == str(before.spec("pool1"))
    assert str(after.spec("fc2")) == str(before.spec("fc2"))
    assert isinstance(inverse, UngroupBlock)
    regroup = inverse.apply(g)
    assert snapshot(g) == original
    regroup.apply(g)
    assert ShapeInference(g).run().ok


def test_expand_refuses_repeated_blocks():
    g = build("resnet18")
    with pytest.raises(GraphError, match="repeats 2"):
        UngroupBlock("blocks").apply(g.nodes["layer1"].body)


def test_document_updates_shapes_dirty_flag_and_listeners(tmp_path):
    doc = Document(build("mnist-cnn"))
    seen = []
    doc.subscribe(seen.append)
    assert doc.dirty is False
    inverse = doc.apply(SetParam("fc1", "out_features", 64))
    assert str(doc.shapes.spec("fc1")) == "N×64"
    assert doc.dirty and seen[-1].changed >= {"fc1", "relu3"}
    doc.apply(inverse)
    assert str(doc.shapes.spec("fc1")) == "N×128"
    doc.save(tmp_path / "m.nfg")
    assert not doc.dirty and load_graph(tmp_path / "m.nfg").nodes["fc1"].params["out_features"] == 128
    assert doc.cost(batch_size=4).params == 421_642
    assert "class MnistCnn" in doc.code().source


def test_recovery_copy_is_written_atomically_and_found(tmp_path):
    doc = Document(build("mnist-cnn"), tmp_path / "model.nfg")
    doc.apply(SetParam("fc1", "out_features", 32))
    path = write_recovery(doc, tmp_path / "recovery")
    assert find_recoveries(tmp_path / "recovery") == [path]
    restored = load_graph(path)
    assert restored.nodes["fc1"].params["out_features"] == 32
    assert restored.meta["recovery_of"].endswith("model.nfg")
    assert "recovery_of" not in doc.graph.meta


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_random_edit_sequences_undo_to_the_original(seed):
    rng = random.Random(seed)
    doc = Document(build("mnist-cnn"))
    original = snapshot(doc.graph)
    undo = []
    for _ in range(rng.randint(1, 10)):
        g = doc.graph
        ids = [n for n in g.nodes if g.nodes[n].type not in ("Input", "Output")]
        choice = rng.randrange(5)
        nid = rng.choice(ids)
        if choice == 0 and g.nodes[nid].type in ("Linear", "Conv2d"):
            key = "out_features" if g.nodes[nid].type == "Linear" else "out_channels"
            edit = SetParam(nid, key, rng.choice([1, 7, 64]))
        elif choice == 1:
            edit = MoveNodes({nid: (rng.uniform(-500, 500), rng.uniform(-500, 500))})
        elif choice == 2:
            edit = RemoveNode(nid)
        elif choice == 3 and g.incoming(nid):
            edit = Disconnect(nid, next(iter(g.incoming(nid))))
        else:
            edit = SetNodeText(nid, "notes", str(rng.random()))
        try:
            undo.append(doc.apply(edit))
        except GraphError:
            continue
        full = ShapeInference(doc.graph).run()
        assert {k: v.outputs for k, v in doc.shapes.results.items()} == \
            {k: v.outputs for k, v in full.results.items()}
    for inverse in reversed(undo):
        doc.apply(inverse)
    assert snapshot(doc.graph) == original
