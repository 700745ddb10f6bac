"""Activation memory: what a training step keeps for backward (checked against torch's autograd) and the peak
of live activations at inference (checked against a hand count of the buffers alive at each step)."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import CONVENTIONS, estimate_cost
from neuralforge_desktop.core.analysis.memory_check import (
    example_inputs,
    measure_inference_peak,
    measure_saved_bytes,
    measure_training_step,
)
from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec

torch = pytest.importorskip("torch")
F32 = 4


def _saved(graph: Graph, batch: int) -> tuple[int, int]:
    """(estimated, measured) bytes kept for backward at ``batch``."""
    shapes = infer_shapes(graph)
    return (estimate_cost(graph, shapes, batch_size=batch, device="t4").saved_activation_bytes,
            measure_training_step(graph, shapes, batch))


def test_a_cnn_keeps_what_autograd_keeps() -> None:
    c = Composer("cnn")
    x = c.input("image", [3, 16, 16])
    x = c.layer("Conv2d", x, "conv", out_channels=8, kernel_size=3, padding=1)
    x = c.layer("BatchNorm2d", x, "bn")
    x = c.layer("ReLU", x, "relu")
    x = c.layer("MaxPool2d", x, "pool")
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Dropout", x, "drop", p=0.3)
    c.output(c.layer("Linear", x, "fc", out_features=10), "logits")
    estimated, measured = _saved(c.done(), batch=3)
    assert estimated == measured


def test_a_tensor_kept_by_two_layers_counts_once() -> None:
    """ReLU keeps its output; the next convolution keeps its input: the same tensor, counted once."""
    c = Composer("shared")
    x = c.input("x", [2, 8, 8])
    x = c.layer("Conv2d", x, "conv1", out_channels=4, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu")
    c.output(c.layer("Conv2d", x, "conv2", out_channels=4, kernel_size=3, padding=1), "y")
    graph = c.done()
    report = estimate_cost(graph, batch_size=5, device="t4")
    image, relu_out = 5 * 2 * 8 * 8 * F32, 5 * 4 * 8 * 8 * F32
    assert report.saved_activation_bytes == image + relu_out  # conv1 keeps the image; relu's output once
    assert report.row("relu").saved_bytes == relu_out and report.row("conv2").saved_bytes == 0  # type: ignore[union-attr]
    assert report.saved_activation_bytes == measure_training_step(graph, infer_shapes(graph), 5)


def test_views_keep_nothing_new_and_a_slice_keeps_its_whole_base() -> None:
    c = Composer("views")
    x = c.input("x", [12])
    h = c.layer("Linear", x, "lin1", out_features=10)
    s = c.layer("Slice", h, "part", start=2, end=4)     # a view of lin1's output
    f = c.layer("Flatten", s, "flat")                   # a view of that view
    c.output(c.layer("Linear", f, "lin2", out_features=3), "y")
    graph = c.done()
    report = estimate_cost(graph, batch_size=4, device="t4")
    assert report.saved_activation_bytes == 4 * 12 * F32 + 4 * 10 * F32  # lin2 keeps the slice: all of lin1's output
    assert report.saved_activation_bytes == measure_training_step(graph, infer_shapes(graph), 4)


def test_a_frozen_layer_keeps_no_input_for_its_weights() -> None:
    c = Composer("frozen")
    x = c.input("x", [6])
    x = c.layer("Linear", x, "lin1", out_features=8)
    x = c.layer("Linear", x, "lin2", out_features=8)
    c.output(c.layer("Linear", x, "lin3", out_features=2), "y")
    graph = c.done()
    graph.nodes["lin2"].trainable = False
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, batch_size=3, device="t4")
    assert report.saved_activation_bytes == 3 * 6 * F32 + 3 * 8 * F32  # lin1's input and lin3's input only
    model = build_model(graph, shapes)
    model.lin2.requires_grad_(False)
    assert report.saved_activation_bytes == measure_saved_bytes(model, example_inputs(graph, shapes, 3))


def test_attention_with_dropout_keeps_its_probabilities() -> None:
    def attention(dropout: float) -> Graph:
        c = Composer("attention")
        x = c.input("x", [10, 16])
        c.output(c.layer("MultiheadAttention", x, "mha", num_heads=4, dropout=dropout), "y")
        return c.done()

    fused, fused_measured = _saved(attention(0.0), batch=2)
    reference, reference_measured = _saved(attention(0.1), batch=2)
    assert (fused, reference) == (fused_measured, reference_measured)
    probabilities = 2 * 4 * 10 * 10 * F32  # N · h · T · T
    assert reference - fused >= 3 * probabilities  # softmax output, dropout mask, dropped probabilities


@pytest.mark.parametrize("repeat", [1, 3, 5])
def test_repeated_blocks_keep_what_each_copy_keeps(repeat: int) -> None:
    body = Composer("body")
    h = body.input("x", [16])
    h = body.layer("Linear", h, "lin", out_features=16)
    body.output(body.layer("ReLU", h, "relu"), "y")
    c = Composer("stack")
    x = c.input("x", [16])
    c.output(c.block("blk", body, x, repeat=repeat), "out")
    graph = c.done()
    estimated, measured = _saved(graph, batch=4)
    assert estimated == measured == 4 * 16 * F32 * (1 + repeat)  # the input, then each copy's ReLU output
    report = estimate_cost(graph, batch_size=4, device="t4")
    assert report.row("blk").saved_bytes == estimated  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["mnist-cnn", "gru-forecast", "transformer-text", "bert-tiny"])
def test_zoo_models_keep_what_autograd_keeps(name: str) -> None:
    estimated, measured = _saved(zoo.build(name), batch=2)
    assert estimated == measured


def test_lstm_workspace_is_marked_inexact_and_close() -> None:
    c = Composer("lstm")
    x = c.input("x", [7, 5])
    y = c.layer("LSTM", x, "lstm", hidden_size=32, num_layers=2)
    c.output(y, "y")
    graph = c.done()
    report = estimate_cost(graph, batch_size=3, device="t4")
    measured = measure_training_step(graph, infer_shapes(graph), 3)
    assert report.memory.inexact_saved_bytes > 0
    assert abs(report.saved_activation_bytes - measured) <= 0.15 * report.memory.inexact_saved_bytes


# -- peak at inference -----------------------------------------------------------------------------------
def _chain(dropout: bool) -> Graph:
    c = Composer("chain")
    x = c.input("x", [100])
    x = c.layer("Linear", x, "lin1", out_features=200)
    x = c.layer("ReLU", x, "relu")
    if dropout:
        x = c.layer("Dropout", x, "drop", p=0.5)
    c.output(c.layer("Linear", x, "lin2", out_features=50), "y")
    return c.done()


def test_inference_peak_frees_each_buffer_after_its_last_reader() -> None:
    graph = _chain(False)
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, batch_size=2, device="t4")
    x, h, r, y = (2 * n * F32 for n in (100, 200, 200, 50))
    # the caller holds x throughout; lin1 makes h; relu makes r (h still read); lin2 makes y (h freed)
    assert report.peak_inference_activation_bytes == x + max(h, h + r, r + y)
    assert report.peak_inference_activation_bytes == measure_inference_peak(build_model(graph, shapes),
                                                                            example_inputs(graph, shapes, 2))
    # dropout passes its input through at inference: it adds no buffer
    assert estimate_cost(_chain(True), batch_size=2, device="t4").peak_inference_activation_bytes == x + max(
        h, h + r, r + y)


def test_inference_peak_keeps_a_residual_input_alive() -> None:
    c = Composer("residual")
    x = c.input("x", [64])
    a = c.layer("Linear", x, "a", out_features=64)
    b = c.layer("ReLU", a, "b")
    c.output(c.layer("Add", [b, x], "sum"), "y")
    graph = c.done()
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, batch_size=1, device="t4")
    one = 64 * F32
    assert report.peak_inference_activation_bytes == 3 * one  # at the ReLU: x (still to be added), a and b
    assert report.peak_inference_activation_bytes == measure_inference_peak(build_model(graph, shapes),
                                                                            example_inputs(graph, shapes, 1))


def test_inference_peak_of_cnns_is_what_torch_holds() -> None:
    for name in ("mnist-cnn", "resnet18"):
        graph = zoo.build(name)
        shapes = infer_shapes(graph)
        report = estimate_cost(graph, shapes, batch_size=2, device="t4")
        measured = measure_inference_peak(build_model(graph, shapes), example_inputs(graph, shapes, 2))
        assert report.peak_inference_activation_bytes == measured, name


# -- declarations ------------------------------------------------------------------------------------------
def test_every_built_in_layer_declares_what_it_keeps() -> None:
    # custom code is the user's own PyTorch source: what it keeps is unknown, so it is assumed (and said so)
    undeclared = [layer.type for layer in builtin_layers() if layer.saves is None and layer.type != "CustomCode"]
    assert undeclared == []


def test_an_undeclared_layer_is_assumed_to_keep_its_inputs() -> None:
    cat = Catalog()
    cat.register_all(builtin_layers())
    cat.register(LayerDef(type="Opaque", category="Test", description="a layer that declares no memory",
                          math="y = f(x)", shape=lambda p, x: {"y": TensorSpec(x["x"].shape)}))
    graph = Graph("opaque")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Linear", "lin", {"out_features": 8})
    graph.add_node("Opaque", "op")
    graph.add_node("Output", "y")
    graph.connect("x", "y", "lin", "x")
    graph.connect("lin", "y", "op", "x")
    graph.connect("op", "y", "y", "x")
    report = estimate_cost(graph, ShapeInference(graph, cat).run(), batch_size=2, device="t4")
    assert report.row("op").saved_bytes == 2 * 8 * F32  # type: ignore[union-attr]
    assert "assumed" in report.row("op").note  # type: ignore[union-attr]


def test_conventions_define_every_memory_figure() -> None:
    for key in ("weight_bytes", "gradient_bytes", "optimizer_bytes", "saved_activation_bytes",
                "peak_inference_activation_bytes", "activation_bytes", "training_memory_bytes"):
        assert CONVENTIONS.get(key), key
    assert "saved" in CONVENTIONS["training_memory_bytes"]


def test_figures_follow_edits_and_survive_a_device_switch() -> None:
    c = Composer("edits")
    x = c.layer("Linear", c.input("x", [6]), "lin1", out_features=8)
    c.output(c.layer("Linear", x, "lin2", out_features=4), "y")
    graph = c.done()
    shapes = infer_shapes(graph)
    first = estimate_cost(graph, shapes, batch_size=2, device="t4")
    assert estimate_cost(graph, shapes, batch_size=2, device="h100").memory is first.memory  # reused
    graph.nodes["lin1"].trainable = False  # lin1 reads the raw input: frozen, it keeps nothing
    frozen = estimate_cost(graph, shapes, batch_size=2, device="t4")
    assert frozen.saved_activation_bytes == first.saved_activation_bytes - 2 * 6 * F32
    graph.set_param("lin1", "out_features", 16)
    shapes.update(["lin1"])
    wider = estimate_cost(graph, shapes, batch_size=2, device="t4")
    assert wider.saved_activation_bytes == 2 * 16 * F32  # lin2's input
    assert wider.to_json() == estimate_cost(graph, infer_shapes(graph), batch_size=2, device="t4").to_json()
