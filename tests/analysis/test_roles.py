"""What catalog entries declare (traits, parameter sizes, loss checks, summaries) is what the cost model, lint,
hints and the canvas use: the built-ins' declarations agree with torch, and a plugin layer written against the
plugin API alone is costed, linted, hinted and summarised like a built-in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from neuralforge_desktop import plugin_api as api
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.describe import param_summary
from neuralforge_desktop.core.analysis.lint import lint
from neuralforge_desktop.core.analysis.rules import node_advice
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers, catalog
from neuralforge_desktop.core.diagnostics import Severity
from neuralforge_desktop.core.ir.graph import Graph

from layer_harness import NODE, layer_graph

BUILTINS = builtin_layers()
STRUCTURAL = {"Input", "Output", "Block"}
TRAITS = {value for name, value in vars(api.Trait).items() if name.isupper()}



def example_graph(layer: api.LayerDef, example: api.Example) -> Graph:
    """The catalog example as the product's graph: Inputs → the layer (node ``NODE``) → Outputs."""
    return layer_graph(layer, dict(example.inputs), dict(example.params))


# -- the built-ins' declarations ---------------------------------------------------------------------------
@pytest.mark.parametrize("layer", BUILTINS, ids=lambda layer: layer.type)
def test_declarations_name_known_roles(layer: api.LayerDef) -> None:
    assert layer.traits <= TRAITS, f"{layer.type} declares unknown traits {set(layer.traits) - TRAITS}"
    for check in layer.loss_checks:
        assert layer.is_loss and check.activation in TRAITS and check.code and "logits" in check.advice
        assert any(check.activation in other.traits for other in BUILTINS), f"no layer is {check.activation}"


@pytest.mark.parametrize("layer", [lay for lay in BUILTINS if api.Trait.NO_KERNEL in lay.traits
                                   and lay.type not in STRUCTURAL], ids=lambda layer: layer.type)
def test_a_layer_without_a_kernel_costs_no_latency(layer: api.LayerDef) -> None:
    graph = example_graph(layer, layer.examples[0])
    report = estimate_cost(graph, device="t4")
    row = report.row(NODE)
    assert row is not None and row.counted and row.latency_ms == 0
    assert report.latency_ms == 0  # Input and Output have no kernel either


def test_a_kernel_costs_latency_and_a_convolution_runs_at_the_convolution_rate() -> None:
    conv = catalog().get("Conv2d")
    graph = example_graph(conv, conv.examples[0])
    as_matmul = Catalog()
    as_matmul.register_all(replace(lay, traits=frozenset()) if lay.type == "Conv2d" else lay for lay in BUILTINS)
    # A GPU runs fp32 convolutions as TF32 (faster than its fp32 matmul peak); an untagged layer does not.
    tagged = estimate_cost(graph, device="a100", batch_size=256).row(NODE)
    plain = estimate_cost(graph, ShapeInference(graph, as_matmul).run(), device="a100", batch_size=256).row(NODE)
    assert tagged is not None and plain is not None and 0 < tagged.latency_ms < plain.latency_ms


SIZED = [(layer, i) for layer in BUILTINS if layer.param_sizes for i in range(len(layer.examples))]


@pytest.mark.parametrize("case", SIZED, ids=lambda case: f"{case[0].type}-{case[1]}")
def test_parameter_sizes_equal_torchs_tensors(case: tuple[api.LayerDef, int]) -> None:
    torch = pytest.importorskip("torch")
    from neuralforge_desktop.core.build.torch_builder import build_model

    layer, index = case
    graph = example_graph(layer, layer.examples[index])
    shapes = ShapeInference(graph).run()
    result = shapes.results[NODE]
    assert result.params is not None
    with torch.device("meta"):
        module = getattr(build_model(graph, shapes), NODE)
    for name in layer.param_sizes:
        tensor = getattr(module, name, None)
        expected = tensor.numel() if isinstance(tensor, torch.nn.Parameter) else 0
        assert layer.param_size(name, result.params, result.inputs) == expected, name
    sized = sum(layer.param_size(n, result.params, result.inputs) or 0 for n in layer.param_sizes)
    assert sized <= layer.param_count(result.params, result.inputs)


def test_a_parameter_size_is_unknown_rather_than_guessed() -> None:
    conv = catalog().get("Conv2d")
    params = conv.validate_params({})[0]
    unsized = {"x": api.TensorSpec(("N", "C", 8, 8))}
    assert conv.param_size("weight", params, unsized) is None
    assert conv.param_size("no_such_tensor", params, {"x": api.TensorSpec(("N", 3, 8, 8))}) is None


@pytest.mark.parametrize(("type_name", "params", "summary"), [
    ("Conv2d", {}, "32 · 3×3"),
    ("Conv2d", {"out_channels": 8, "kernel_size": 5, "stride": 2}, "8 · 5×5 /2"),
    ("MaxPool2d", {"kernel_size": 2}, "2×2"),
    ("Dropout", {"p": 0.25}, "p = 0.25"),
    ("LSTM", {"hidden_size": 64, "num_layers": 2}, "hidden 64 · 2 layers"),
    ("Input", {"shape": [10], "dtype": "int64", "role": "target"}, "target · 10 · int64"),
    ("Softmax", {"dim": 1}, "dim=1"),  # no declared summary: the params that differ from the defaults
    ("ReLU", {}, ""),
])
def test_canvas_summaries_come_from_the_entry(type_name: str, params: dict, summary: str) -> None:
    layer = catalog().get(type_name)
    graph = Graph("g")
    node = graph.add_node(type_name, "n", params)
    assert param_summary(node, layer, layer.validate_params(params)[0]) == summary


# -- a plugin layer is treated like a built-in -------------------------------------------------------------
def _same(p: api.Params, x: dict) -> dict:
    return {"y": x["x"]}


def _patch_conv_shape(p: api.Params, x: dict) -> dict:
    spec = x["x"]
    sizes = tuple(api.window_out(spec.shape[2 + i], p.kernel_size, p.stride, 0, 1, "x", spec) for i in range(2))
    return {"y": spec.with_shape((spec.shape[0], p.filters) + sizes)}


def _patch_weight(p: api.Params, x: dict) -> int:
    return p.filters * api.concrete("x", x["x"], 1, "channel count") * p.kernel_size**2


PATCH_CONV = api.LayerDef(
    type="PatchConv", category="Convolution", description="a square convolution", math="y = W ⋆ x + b",
    params=(api.ParamSpec("filters", "int", 8, "output channels", minimum=1),
            api.ParamSpec("kernel_size", "int", 2, "window size", minimum=1),
            api.ParamSpec("stride", "int", 2, "step", minimum=1),
            api.ParamSpec("bias", "bool", True, "learn a bias")),
    inputs=(api.PortSpec("x", ranks=(4,)),),
    shape=_patch_conv_shape,
    param_count=lambda p, x: _patch_weight(p, x) + (p.filters if p.bias else 0),
    macs=lambda p, x, y: api.numel(y, "y") * x["x"][1] * p.kernel_size**2,
    traits=frozenset({api.Trait.CONVOLUTION, api.Trait.WINDOWED}),
    param_sizes={"weight": _patch_weight, "bias": lambda p, x: p.filters if p.bias else 0},
    summary=lambda p: f"{p.get('filters')} filters",
    plugin="test-plugin",
)
CENTER = api.LayerDef(type="Center", category="Normalization", description="subtracts the channel mean",
                      math="y = x − mean_c(x)", shape=_same, traits=frozenset({api.Trait.CANCELS_BIAS}),
                      plugin="test-plugin")
SPARSEMAX = api.LayerDef(type="Sparsemax", category="Activation", description="sparse probabilities",
                         math="y = argmin ‖p − x‖²", shape=_same, traits=frozenset({api.Trait.SOFTMAX}),
                         plugin="test-plugin")
DROP_PATH = api.LayerDef(type="DropPath", category="Regularization", description="drops whole samples",
                         math="y = m · x / (1 − p)", shape=_same,
                         params=(api.ParamSpec("p", "float", 0.1, "drop probability", minimum=0.0, maximum=1.0),),
                         traits=frozenset({api.Trait.DROPOUT, api.Trait.NO_KERNEL, api.Trait.PASS_THROUGH}),
                         plugin="test-plugin")
FOCAL_LOSS = api.LayerDef(
    type="FocalLoss", category="Loss", description="down-weights easy examples", math="−(1 − p)^γ log p",
    inputs=(api.PortSpec("input"), api.PortSpec("target", dtype="any")), outputs=(api.PortSpec("loss"),),
    shape=lambda p, x: {"loss": api.TensorSpec(())}, is_loss=True,
    loss_checks=(api.LossCheck(api.Trait.SIGMOID, "sigmoid-before-focal-loss",
                               "which applies the sigmoid itself; connect the raw logits"),),
    plugin="test-plugin",
)
PLUGIN_LAYERS = (PATCH_CONV, CENTER, SPARSEMAX, DROP_PATH, FOCAL_LOSS)


@pytest.fixture
def cat() -> Catalog:
    cat = Catalog()
    cat.register_all(BUILTINS)
    cat.register_all(PLUGIN_LAYERS)
    return cat


def _plugin_net() -> Graph:
    """image → PatchConv (bias) → Center → DropPath(p=0) → Output, and a second PatchConv whose weight is tied."""
    graph = Graph("plugin-net")
    graph.add_node("Input", "image", {"shape": [3, 16, 16]})
    graph.add_node("PatchConv", "conv", {"kernel_size": 2, "stride": 3})
    graph.add_node("Center", "center")
    graph.add_node("DropPath", "drop", {"p": 0.0})
    graph.add_node("Output", "out")
    graph.add_node("PatchConv", "twin", {"kernel_size": 2, "stride": 3, "bias": False})
    graph.add_node("Output", "out2")
    for src, dst in (("image", "conv"), ("conv", "center"), ("center", "drop"), ("drop", "out"), ("image", "twin"),
                     ("twin", "out2")):
        graph.connect(src, "y", dst, "x")
    graph.tie("twin", "weight", "conv", "weight")
    return graph


def test_a_plugin_layer_is_costed_like_a_built_in(cat: Catalog) -> None:
    graph = _plugin_net()
    report = estimate_cost(graph, ShapeInference(graph, cat).run(), device="t4")
    assert report.uncounted == []
    weight = 8 * 3 * 2 * 2
    assert report.params == weight + 8  # the twin's weight is the conv's: counted once
    twin = report.row("twin")
    assert twin is not None and twin.params == 0 and "weight shared with conv.weight" in twin.note
    assert report.row("drop").latency_ms == 0 < report.row("center").latency_ms  # type: ignore[union-attr]


def test_a_plugin_layer_is_linted_and_hinted_like_a_built_in(cat: Catalog) -> None:
    graph = _plugin_net()
    shapes = ShapeInference(graph, cat).run()
    found = lint(graph, shapes)
    assert [(d.code, d.node) for d in found] == [("conv-bias-before-batchnorm", "conv"),
                                                  ("dropout-before-output", "drop")]
    assert "PatchConv 'conv' has a bias but feeds Center 'center'" in found[0].message
    assert "save 8 parameters" in found[0].message
    advice = node_advice(graph, graph.nodes["drop"], cat, shapes.results["drop"])
    assert [(d.severity, d.code) for d in advice] == [(Severity.warning, "dropout-before-output"),
                                                      (Severity.hint, "dropout-zero")]
    stride = node_advice(graph, graph.nodes["twin"], cat, shapes.results["twin"])
    assert [(d.severity, d.code, d.field) for d in stride] == [(Severity.hint, "stride-over-kernel", "stride")]
    assert param_summary(graph.nodes["conv"], PATCH_CONV, shapes.results["conv"].params) == "8 filters"


@pytest.mark.parametrize(("activation", "loss", "code"), [
    ("Sparsemax", "CrossEntropyLoss", "softmax-before-cross-entropy"),  # a plugin activation, a built-in loss
    ("Sigmoid", "FocalLoss", "sigmoid-before-focal-loss"),  # a built-in activation, a plugin loss
])
def test_plugin_activations_and_losses_are_checked(cat: Catalog, activation: str, loss: str, code: str) -> None:
    graph = Graph("clf")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Input", "labels", {"shape": [], "dtype": "int64", "role": "target"})
    graph.add_node("Linear", "logits", {"out_features": 3})
    graph.add_node(activation, "act", {"dim": 1} if activation == "Softmax" else {})
    graph.add_node(loss, "loss")
    graph.add_node("Output", "out")
    for src, dst, port in (("x", "logits", "x"), ("logits", "act", "x"), ("act", "loss", "input"),
                           ("labels", "loss", "target"), ("logits", "out", "x")):
        graph.connect(src, "y", dst, port)
    found = lint(graph, ShapeInference(graph, cat).run())
    assert [(d.code, d.node) for d in found] == [(code, "act")]
    assert found[0].message.startswith(f"{activation} 'act' feeds {loss} 'loss', which applies")


def test_advice_runs_on_a_node_while_another_part_of_the_graph_is_broken(cat: Catalog) -> None:
    graph = _plugin_net()
    graph.add_node("Conv1d", "broken")  # a rank-4 input: a shape error elsewhere
    graph.connect("image", "y", "broken", "x")
    graph.add_node("Output", "out3")
    graph.connect("broken", "y", "out3", "x")
    shapes = ShapeInference(graph, cat).run()
    assert not shapes.ok
    advice = node_advice(graph, graph.nodes["drop"], cat, shapes.results.get("drop"))
    assert "dropout-zero" in [d.code for d in advice]
