"""Round trips: importing the PyTorch code NeuralForge generates for a zoo model gives back the same graph
(types, settings, connectivity, block structure; ids may differ)."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("torch")

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.codegen.plan import model_side as plan_side
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.importers.import_torch import import_torch

# The zoo models small enough for the suite; vgg11, resnet50, bert-base and gpt2-small are the same code at a larger
# size (benchmarks/import.py imports resnet50).
ROUND_TRIP = ["mnist-cnn", "lenet5", "resnet18", "mobilenet-v2", "unet-small", "lstm-text", "autoencoder",
              "tabular-mlp", "gru-forecast", "transformer-text", "bert-tiny", "gpt2-tiny"]


# How weights were first drawn: code shows it in an init call after construction, which tracing cannot see (the
# imported weights are the ones drawn, so it matters only when training from scratch).
INIT_ONLY = {"init_std"}


def canonical(graph, cat=None, symbols=None):
    """What must survive a round trip, with node ids replaced by what each node is. A named dimension counts
    as its value (generated code's example input gives the value, and the import reads shapes from it)."""
    cat = cat or catalog()
    symbols = {**(symbols or {}), **graph.symbols}

    def signature(node):
        if node.type == "Input":
            shape = tuple(symbols.get(d, d) if isinstance(d, str) else d for d in node.params.get("shape", ()))
            return ("Input", shape, node.params.get("dtype", "float32"))
        if node.type == "Output":
            return ("Output",)
        if node.type == "Block":
            return ("Block", node.repeat, canonical(node.body, cat, symbols))
        layer = cat.get(node.type)
        params, _ = layer.validate_params(node.params)
        defaults, _ = layer.validate_params(layer.default_params())
        return (node.type, tuple(sorted((k, repr(v)) for k, v in params.items()
                                        if v != defaults.get(k) and k not in INIT_ONLY)))

    forward = set(plan_side(graph, ShapeInference(graph).run(), cat))  # what the generated forward computes
    kept = {node.id: signature(node) for node in graph if node.id in forward}
    edges = Counter((kept[e.src], e.src_port if graph.node(e.src).type != "Block" else "", kept[e.dst],
                     e.dst_port if graph.node(e.dst).type != "Block" else "")
                    for e in graph.edges if e.src in kept and e.dst in kept)
    return (tuple(sorted(repr(item) for item in Counter(kept.values()).items())),
            tuple(sorted(repr(item) for item in edges.items())))


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_generated_code_imports_back_to_the_same_graph(name, tmp_path):
    graph = zoo.build(name)
    source = tmp_path / "generated.py"
    source.write_text(generate_pytorch(graph).source)
    result = import_torch(f"{source}:build_model")  # its example_input() gives the shapes
    assert not result.report.custom
    assert canonical(result.graph) == canonical(graph)
    assert result.report.max_abs_diff <= 1e-5


def test_the_comparison_sees_a_changed_setting(tmp_path):
    graph = zoo.build("mnist-cnn")
    changed = zoo.build("mnist-cnn")
    changed.set_param("conv2", "out_channels", 48)
    assert canonical(graph) != canonical(changed)
