"""A node that leaves a param out has its catalog default, everywhere: the palette creates nodes with no params
and files may omit them, and such a graph must validate, generate code and train exactly like one that spells
every default out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import graph_to_dict, save_graph

CHAIN = [("Input", "input"), ("Conv2d", "conv"), ("ReLU", "relu"), ("Flatten", "flat"), ("Linear", "fc"),
         ("Output", "logits")]


def palette_classifier(spelled_out: bool) -> Graph:
    """The chain a user drops from the palette: every node as created (no params) except the classifier's
    width; or the same graph with every default written into the node."""
    graph = Graph("palette-cnn")
    for type_name, node_id in CHAIN:
        graph.add_node(type_name, node_id, {"out_features": 10} if type_name == "Linear" else {})
    for (_, a), (_, b) in zip(CHAIN, CHAIN[1:], strict=False):
        graph.connect(a, "y", b, "x")
    if spelled_out:
        for node in graph:
            node.params = dict(node_params(node))
    return graph


def test_missing_params_are_their_defaults_in_shapes_and_code():
    bare, spelled = palette_classifier(False), palette_classifier(True)
    assert graph_to_dict(bare)["graph"]["nodes"][0]["params"] == {}, "the Input leaves its shape out"
    assert tuple(node_params(bare.node("input")).shape) == (1, 28, 28)
    bare_shapes, spelled_shapes = ShapeInference(bare).run(), ShapeInference(spelled).run()
    assert not bare_shapes.errors and not spelled_shapes.errors
    for edge in bare.edges:
        assert str(bare_shapes.edge_spec(edge)) == str(spelled_shapes.edge_spec(edge))
    assert generate_pytorch(bare).source == generate_pytorch(spelled).source


def train(graph_path, store) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "neuralforge_desktop", "train", str(graph_path), "--dataset",
                           "mnist-10k", "--epochs", "1", "--limit", "256", "--seed", "1", "--json", "--store",
                           str(store)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.slow
def test_a_graph_with_default_params_trains_like_one_that_spells_them_out(tmp_path):
    finals = []
    for spelled_out in (False, True):
        path = tmp_path / f"cnn-{spelled_out}.nfg"
        save_graph(palette_classifier(spelled_out), path)
        events = train(path, tmp_path / "store.db")
        assert events[0]["event"] == "started" and events[-1]["event"] == "finished", events[-1]
        epochs = [e for e in events if e["event"] == "epoch"]
        assert len(epochs) == 1 and "val/acc" in epochs[0]["metrics"], epochs
        finals.append({k: v for k, v in epochs[0]["metrics"].items() if "/" in k})  # not the wall time
    bare, spelled = finals
    # Same graph, same seed, same data: the same numbers (the defaults were used, not some other value).
    assert bare == pytest.approx(spelled), (bare, spelled)
