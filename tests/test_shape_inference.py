"""Shape inference: errors name node, port, expected and received; all errors are collected; incremental
updates agree with a full run; random graphs never crash it."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph


def mnist() -> Graph:
    c = Composer("mnist")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv1", out_channels=32, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu1")
    x = c.layer("MaxPool2d", x, "pool1", kernel_size=2)
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc", out_features=10)
    c.output(x, "logits")
    return c.done()


def test_every_edge_gets_a_spec():
    shapes = infer_shapes(mnist())
    assert shapes.ok
    assert str(shapes.spec("conv1")) == "N×32×28×28"
    assert str(shapes.spec("pool1")) == "N×32×14×14"
    assert str(shapes.spec("flat")) == "N×6272"
    assert str(shapes.graph_outputs()["logits"]) == "N×10"


def test_rank_error_names_node_port_and_both_shapes():
    g = mnist()
    g.remove_node("flat", rewire=True)
    g.disconnect("conv1", "x")
    g.add_node("Flatten", "early_flat")
    g.connect("image", "y", "early_flat", "x")
    g.connect("early_flat", "y", "conv1", "x")
    errors = infer_shapes(g).errors
    assert len(errors) == 1
    msg = errors[0].message
    assert "Conv2d 'conv1' input 'x'" in msg
    assert "expected rank 4 (N, C, H, W)" in msg and "received (N, 784)" in msg


def test_all_errors_are_collected_not_just_the_first():
    g = Graph("two-errors")
    g.add_node("Input", "a", {"shape": [16]})
    g.add_node("Conv2d", "conv", {})
    g.add_node("Linear", "fc", {"out_features": -3})
    g.add_node("Input", "b", {"shape": [8]})
    g.connect("a", "y", "conv", "x")
    g.connect("b", "y", "fc", "x")
    errors = infer_shapes(g).errors
    assert {e.node for e in errors} == {"conv", "fc"}
    assert any(e.field == "out_features" and "must be ≥ 1" in e.message for e in errors)


def test_unconnected_input_and_unknown_type_are_reported_and_kept():
    g = Graph("odd")
    g.add_node("Linear", "fc", {"out_features": 3})
    g.add_node("FancyPluginLayer", "fancy", {"alpha": 1})
    shapes = infer_shapes(g)
    messages = " | ".join(d.message for d in shapes.errors)
    assert "Linear 'fc' input 'x' is not connected" in messages
    assert "unknown layer type 'FancyPluginLayer'" in messages
    assert g.nodes["fancy"].params == {"alpha": 1}


def test_symbolic_sequence_dims_flow_through():
    c = Composer("seq")
    x = c.input("tokens", ["T"], dtype="int64")
    x = c.layer("Embedding", x, "emb", num_embeddings=100, embedding_dim=16)
    x = c.layer("Linear", x, "proj", out_features=8)
    c.output(x, "out")
    shapes = infer_shapes(c.done())
    assert shapes.ok, shapes.errors
    assert str(shapes.spec("proj")) == "N×T×8"


def test_incremental_update_recomputes_only_downstream_nodes_that_change():
    g = mnist()
    engine = ShapeInference(g).run()
    g.set_param("fc", "out_features", 5)
    assert engine.update(["fc"]) == ["fc", "logits"]
    g.set_param("conv1", "out_channels", 8)
    recomputed = engine.update(["conv1"])
    assert recomputed == ["conv1", "relu1", "pool1", "flat", "fc"]
    assert str(engine.spec("fc")) == "N×5"


SIZES = st.sampled_from([1, 2, 3, 8, 16])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), edits=st.integers(1, 8))
def test_incremental_agrees_with_full_after_random_edits(seed, edits):
    rng = random.Random(seed)
    c = Composer("rand")
    refs = [c.input("x", [rng.choice([4, 8, 12])])]
    for i in range(rng.randint(2, 12)):
        kind = rng.choice(["Linear", "ReLU", "Add", "Identity"])
        if kind == "Add" and len(refs) >= 2:
            refs.append(c.layer("Add", rng.sample(refs, 2), f"n{i}"))
        elif kind == "Linear":
            refs.append(c.layer("Linear", rng.choice(refs), f"n{i}", out_features=rng.choice([4, 8, 12])))
        else:
            refs.append(c.layer("ReLU" if kind == "ReLU" else "Identity", rng.choice(refs), f"n{i}"))
    g = c.done(layout=False)
    engine = ShapeInference(g).run()
    linears = [n.id for n in g if n.type == "Linear"]
    for _ in range(edits):
        if not linears:
            break
        nid = rng.choice(linears)
        g.set_param(nid, "out_features", rng.choice([4, 8, 12, 0]))
        engine.update([nid])
    full = ShapeInference(g).run()
    assert {k: v.outputs for k, v in engine.results.items()} == {k: v.outputs for k, v in full.results.items()}
    assert sorted(d.message for d in engine.diagnostics) == sorted(d.message for d in full.diagnostics)


LAYER_TYPES = ["Linear", "Conv2d", "ReLU", "Flatten", "MaxPool2d", "BatchNorm2d", "LSTM", "Add", "Concat",
               "Embedding", "Softmax", "Reshape", "LayerNorm", "Dropout", "GlobalAvgPool2d", "NoSuchLayer"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_graphs_give_specs_or_diagnostics_never_exceptions(data):
    g = Graph("fuzz")
    g.add_node("Input", "x", {"shape": data.draw(st.lists(SIZES, min_size=0, max_size=4)),
                              "dtype": data.draw(st.sampled_from(["float32", "int64"]))})
    ids = ["x"]
    for i in range(data.draw(st.integers(1, 8))):
        t = data.draw(st.sampled_from(LAYER_TYPES))
        params = data.draw(st.dictionaries(st.sampled_from(["out_features", "out_channels", "kernel_size", "dim",
                                                             "num_inputs", "shape", "p", "hidden_size"]),
                                           st.one_of(st.integers(-2, 9), st.floats(-1, 2), st.text(max_size=3),
                                                     st.lists(st.integers(-1, 8), max_size=3)), max_size=3))
        node = g.add_node(t, f"n{i}", params)
        src = data.draw(st.sampled_from(ids))
        port = data.draw(st.sampled_from(["x", "x0", "x1", "input"]))
        g.connect(src, data.draw(st.sampled_from(["y", "h", "y0"])), node.id, port)
        ids.append(node.id)
    shapes = infer_shapes(g)
    for nid in g.nodes:
        result = shapes.results[nid]
        for d in result.diagnostics:
            assert d.node == nid and d.message
    assert not any("cannot infer" in d.message for d in shapes.diagnostics), \
        [d.message for d in shapes.diagnostics if "cannot infer" in d.message]
