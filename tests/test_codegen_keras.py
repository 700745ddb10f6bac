"""Keras 3 code generation, run the way a user runs it: the generated module is executed with TensorFlow's
Keras, built, fed, and compared with the PyTorch model of the same graph after ``load_torch_weights()``.

One TensorFlow import for the whole module (about 4 s). Every example of every catalog layer either computes
what torch computes or is refused with its reason; every zoo model builds with the graph's shapes, except those
in ``KERAS_UNSUPPORTED``; the MNIST CNN, the LSTM and the Transformer templates agree with torch numerically.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import builtin_layers, catalog
from neuralforge_desktop.core.codegen.keras import KerasUnsupportedError, generate_keras
from neuralforge_desktop.core.codegen.plan import plan_model
from neuralforge_desktop.core.codegen.pytorch import index_high
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import resolve_dim

from layer_harness import example_tensors, layer_graph

keras = pytest.importorskip("keras")

TOLERANCE = 1e-4
# Zoo models Keras code generation refuses, and why (the refusal message names the part).
KERAS_UNSUPPORTED = {
    "gpt2-small": "tied weights",  # its LM head shares the token embedding; Keras' Dense kernel is the transpose
}
SLOW = {"vgg11", "resnet50", "bert-base", "mobilenet-v2"}  # 100 M+ parameters, or 150+ layers: 5–12 s to build
# Catalog examples refused on purpose: (layer type, example index) → what the refusal says.
REFUSED_EXAMPLES = {
    ("ConvTranspose2d", 1): "no groups",
    ("AvgPool2d", 2): "ceil_mode",
    ("AvgPool2d", 7): "count_include_pad",
    ("AvgPool2d", 6): "ceil_mode",
    ("AdaptiveAvgPool2d", 1): "not a multiple of output_size",
    ("AdaptiveAvgPool2d", 2): "not a multiple of output_size",
    ("BatchNorm1d", 2): "running statistics",
    ("BatchNorm2d", 2): "running statistics",
    ("InstanceNorm2d", 1): "running statistics",
    ("Dropout", 3): "p = 1",
    ("Upsample", 2): "align_corners",
    ("Upsample", 5): "not a whole number",
}
STRUCTURAL = {"Input", "Output", "Block"}
CASES = [(layer, i) for layer in catalog() if layer.type not in STRUCTURAL and not layer.is_loss
         for i in range(len(layer.examples))]


def _module(graph: Graph) -> dict:
    """The generated Keras module, executed."""
    code = generate_keras(graph)
    namespace: dict = {"__name__": f"generated_{code.class_name}"}
    exec(compile(code.source, f"<keras {graph.name}>", "exec"), namespace)  # our own generated source
    return namespace


def _outputs(result) -> list[np.ndarray]:
    items = result if isinstance(result, tuple | list) else (result,)
    return [np.asarray(keras.ops.convert_to_numpy(item)) for item in items]


def _perturbed(graph: Graph, seed: int = 0) -> torch.nn.Module:
    """The PyTorch model of ``graph`` with every weight and running statistic moved off its initial value, so
    that a weight copied to the wrong place (or not at all) shows in the outputs."""
    torch.manual_seed(seed)
    model = build_model(graph).eval()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.add_(0.1 * torch.randn_like(tensor))
    return model


def _compare(graph: Graph, inputs: list[torch.Tensor], seed: int = 0) -> tuple[float, float]:
    """(largest |torch − Keras|, largest |torch|) over all outputs, Keras' weights taken from torch."""
    model = _perturbed(graph, seed)
    with torch.no_grad():
        expected = model(*inputs)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    namespace = _module(graph)
    keras_model = namespace["build_model"]()
    namespace["load_torch_weights"](keras_model, model.state_dict())
    got = _outputs(keras_model(*[t.numpy() for t in inputs]))
    assert [g.shape for g in got] == [e.shape for e in expected]
    diff = max(float(np.abs(g.astype(np.float64) - e).max()) for g, e in zip(got, expected, strict=True))
    return diff, max(float(np.abs(e).max()) for e in expected)


# Built-in layers that reach a model yet have no Keras form, and why (a new layer decides here).
NO_KERAS_FORM: dict[str, str] = {
    "CustomCode": "carries PyTorch source, which has no Keras form: Keras code generation refuses it by name",
}


def test_every_builtin_model_layer_has_a_keras_form():
    missing = {layer.type for layer in builtin_layers()
               if layer.type not in STRUCTURAL and not layer.is_loss and layer.keras is None}
    assert missing == set(NO_KERAS_FORM)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[0].type}-{case[1]}")
def test_catalog_example_computes_what_torch_computes(case):
    layer, index = case
    example = layer.examples[index]
    graph = layer_graph(layer, example.inputs, example.params)
    refused = REFUSED_EXAMPLES.get((layer.type, index))
    if refused is not None or layer.keras is None:
        with pytest.raises(KerasUnsupportedError) as info:
            generate_keras(graph)
        assert f"{layer.type} 'node'" in str(info.value) and (refused or "") in str(info.value)
        return
    tensors = list(example_tensors(example).values())
    diff, scale = _compare(graph, tensors)
    assert diff <= TOLERANCE * max(1.0, scale), f"max |torch − Keras| = {diff:.3g}"


@pytest.mark.parametrize("params", [
    {"out_channels": 3, "kernel_size": 1, "stride": 2, "padding": 0},  # a kernel smaller than the stride
    {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
    {"out_channels": 2, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 0], "bias": False},
    {"out_channels": 2, "kernel_size": 3, "stride": 1, "padding": 2, "dilation": 2},
])
def test_transposed_convolution_sizes_and_crops_like_torch(params):
    graph = layer_graph("ConvTranspose2d", [2, 3, 5, 6], params)
    diff, scale = _compare(graph, [torch.randn(2, 3, 5, 6)])
    assert diff <= TOLERANCE * max(1.0, scale)


@pytest.mark.parametrize("params", [
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
])
def test_max_pool_ceil_mode_reads_minus_infinity_past_the_end(params):
    graph = layer_graph("MaxPool2d", [2, 3, 8, 7], params)
    diff, scale = _compare(graph, [torch.randn(2, 3, 8, 7) - 5])  # all negative: a zero pad would win
    assert diff <= TOLERANCE * max(1.0, scale)


def test_a_layer_without_a_keras_form_is_refused_by_node_and_type():
    layer = catalog().get("Conv2d")
    graph = layer_graph(layer, [1, 2, 9, 9], {"out_channels": 2, "stride": 2, "dilation": 2})
    with pytest.raises(KerasUnsupportedError, match=r"Conv2d 'node' \(Keras convolutions take no stride"):
        generate_keras(graph)


def _output_shapes(graph: Graph, batch: int) -> list[tuple[int, ...]]:
    plan = plan_model(graph)
    bindings = {"N": batch, **graph.symbols}
    return [tuple(resolve_dim(d, bindings) for d in spec.shape) for spec in plan.output_specs]


ZOO = [pytest.param(e.name, marks=pytest.mark.slow) if e.name in SLOW else e.name
       for e in zoo.list_models() if e.name not in KERAS_UNSUPPORTED]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_builds_with_the_graphs_shapes_and_takes_every_weight(name):
    """Built, every Keras weight set to NaN, the PyTorch model's weights loaded: none is left NaN (each has
    its torch counterpart of the right shape), and example_input() gives outputs of the graph's shapes."""
    graph = zoo.build(name)
    namespace = _module(graph)
    model = namespace["build_model"]()
    for weight in model.weights:
        weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))
    namespace["load_torch_weights"](model, build_model(graph).state_dict())
    assert not [w.path for w in model.weights if np.isnan(w.numpy()).any()]
    inputs = namespace["example_input"]()
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    outputs = _outputs(model(*inputs))
    assert [o.shape for o in outputs] == _output_shapes(graph, len(inputs[0]))
    assert all(np.isfinite(o).all() for o in outputs)


@pytest.mark.parametrize("name", sorted(KERAS_UNSUPPORTED))
def test_zoo_models_keras_cannot_express_are_refused_with_the_reason(name):
    with pytest.raises(KerasUnsupportedError, match=KERAS_UNSUPPORTED[name]):
        generate_keras(zoo.build(name))


def _graph_inputs(graph: Graph, batch: int, seed: int = 1) -> list[torch.Tensor]:
    """Seeded inputs of the graph's shapes (named sizes from its symbols): normal floats, valid token ids,
    masks of 0 and 1."""
    plan = plan_model(graph)
    bindings = {"N": batch, **graph.symbols}
    rng = np.random.default_rng(seed)
    found = []
    for node, spec in zip(plan.input_nodes, plan.input_specs, strict=True):
        shape = tuple(resolve_dim(d, bindings) for d in spec.shape)
        if spec.dtype.is_float:
            found.append(torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)))
        else:
            found.append(torch.from_numpy(rng.integers(0, index_high(graph, node.id), shape)))
    return found


@pytest.mark.parametrize("name", ["mnist-cnn", "lstm-text", "transformer-text"])
def test_zoo_model_agrees_with_pytorch_after_weight_transfer(name):
    graph = zoo.build(name)
    diff, scale = _compare(graph, _graph_inputs(graph, batch=3))
    assert diff <= TOLERANCE, f"{name}: max |torch − Keras| = {diff:.3g} (outputs up to {scale:.3g})"
    print(f"{name}: max |torch − Keras| = {diff:.2e} (outputs up to {scale:.3g})")


@pytest.mark.parametrize("name", ["bert-tiny", "gru-forecast", "unet-small", "resnet18",
                                  pytest.param("mobilenet-v2", marks=pytest.mark.slow)])
def test_more_zoo_models_agree_with_pytorch_relative_to_their_outputs(name):
    """Deep ReLU networks with perturbed normalisation statistics reach large outputs (10⁴–10⁸ here): the
    difference is measured against them."""
    graph = zoo.build(name)
    diff, scale = _compare(graph, _graph_inputs(graph, batch=2))
    assert diff <= TOLERANCE * max(1.0, scale), f"{name}: max |torch − Keras| = {diff:.3g} of {scale:.3g}"
    print(f"{name}: max |torch − Keras| = {diff:.2e} (outputs up to {scale:.3g})")


def test_node_names_that_shadow_keras_names_are_renamed():
    """Nodes called like the generated module's imports (ops, layers, np) or like keras.Model's own attributes
    (weights, name) still give code that runs and agrees with torch."""
    graph = Graph("shadows")
    graph.add_node("Input", "np", {"shape": [6]})
    graph.add_node("Linear", "layers", {"out_features": 5})
    graph.add_node("ReLU", "ops")
    graph.add_node("Linear", "weights", {"out_features": 3})
    graph.add_node("Output", "name")
    for src, dst in (("np", "layers"), ("layers", "ops"), ("ops", "weights")):
        graph.connect(src, "y", dst, "x")
    graph.connect("weights", "y", "name", "x")
    diff, scale = _compare(graph, _graph_inputs(graph, batch=2))
    assert diff <= TOLERANCE * max(1.0, scale)


def test_weights_are_what_make_the_outputs_agree():
    """Without load_torch_weights the Keras model is its own random draw: the comparison can fail."""
    graph = zoo.build("mnist-cnn")
    model = _perturbed(graph)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        expected = model(x).numpy()
    fresh = _module(graph)["build_model"]()
    assert np.abs(_outputs(fresh(x.numpy()))[0] - expected).max() > 100 * TOLERANCE


def test_a_safetensors_checkpoint_loads_through_numpy(tmp_path):
    """A run keeps its weights as safetensors: read with safetensors.numpy, they load as the state_dict does."""
    from safetensors.numpy import load_file
    from safetensors.torch import save_file

    graph = zoo.build("mnist-cnn")
    model = _perturbed(graph, seed=3)
    save_file(model.state_dict(), tmp_path / "best.safetensors")
    namespace = _module(graph)
    keras_model = namespace["build_model"]()
    namespace["load_torch_weights"](keras_model, load_file(tmp_path / "best.safetensors"))
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.abs(_outputs(keras_model(x.numpy()))[0] - expected).max() <= TOLERANCE


def test_generated_keras_code_is_ruff_clean(tmp_path):
    """N801 aside: block classes that share a name are numbered (BasicBlock_1), as in the PyTorch code."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    for name in ("mnist-cnn", "lstm-text", "transformer-text", "bert-tiny", "resnet18", "gru-forecast"):
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(generate_keras(zoo.build(name)).source)
    proc = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--line-length", "120",
                           "--select", "E,F,W,I,B,UP,SIM,N", "--ignore", "N801", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_writes_keras_code_and_refuses_in_one_line(capsys, tmp_path):
    out = tmp_path / "model.py"
    assert main(["codegen", "zoo:lenet5", "--framework", "keras", "-o", str(out)]) == 0
    assert "load_torch_weights()" in capsys.readouterr().out
    assert "class Lenet5(keras.Model):" in out.read_text()
    refused = tmp_path / "gpt2.py"
    assert main(["codegen", "zoo:gpt2-small", "--framework", "keras", "-o", str(refused)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lm_head" in err and "Keras" in err
    assert not refused.exists()
