"""Loss entries checked against the real torch losses: shapes, generated code, costs and error messages."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog import io, losses
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params
from neuralforge_desktop.core.diagnostics import Diagnostic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import DType, TensorSpec, resolve_dim

CATALOG = Catalog()
CATALOG.register_all(io.LAYERS + losses.LAYERS)
CASES = [pytest.param(layer, ex, id=f"{layer.type}-{i}") for layer in losses.LAYERS
         for i, ex in enumerate(layer.examples)]
BY_TYPE = {layer.type: layer for layer in losses.LAYERS}
Inputs = Mapping[str, tuple[tuple[Any, ...], str]]


# -- harness ---------------------------------------------------------------------------------------------
def build_graph(layer: LayerDef, inputs: Inputs, params: Mapping[str, Any], batch: bool = True,
                node: str = "loss_fn") -> Graph:
    """An Input node per port (role 'target' for the target, shape without batch) → one loss node."""
    graph = Graph("t")
    graph.add_node(layer.type, node, dict(params))
    validated, _ = layer.validate_params(params)
    for port in layer.input_ports(validated):
        shape, dtype = inputs[port.name]
        role = "target" if port.name == "target" else "data"
        dims = list(shape[1:]) if batch else list(shape)
        graph.add_node("Input", f"in_{port.name}", {"shape": dims, "dtype": dtype, "role": role, "batch": batch})
        graph.connect(f"in_{port.name}", "y", node, port.name)
    return graph


def render_source(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> str:
    call = layer.torch
    assert call is not None and call.init is not None
    parts: list[str] = []
    for i, (name, value) in enumerate(call.init(params, specs).items()):
        if i < call.positional:
            parts.append(repr(value))
        elif not (name in call.defaults and call.defaults[name] == value
                  and type(call.defaults[name]) is type(value)):
            parts.append(f"{name}={value!r}")
    slots = {"self": "self.loss_fn", "input": "logits", "target": "target", "loss": "loss"}
    statement = call.forward_template(params).format(**slots)
    return (
        "import torch\n"
        "from torch import nn\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        f"        self.loss_fn = {call.module}({', '.join(parts)})\n\n"
        "    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:\n"
        f"        {statement}\n"
        "        return loss\n"
    )


def make_tensor(shape: tuple[int, ...], dtype: str, int_high: int) -> torch.Tensor:
    torch_dtype = getattr(torch, dtype)
    if torch_dtype.is_floating_point:
        return torch.randn(shape, dtype=torch_dtype)
    return torch.randint(0, int_high, shape, dtype=torch_dtype)


def check_example(layer: LayerDef, example: Example) -> str:
    inference = infer_shapes(build_graph(layer, example.inputs, example.params), CATALOG)
    assert inference.ok, [str(d) for d in inference.errors]
    node = inference.results["loss_fn"]
    params, specs = node.params, node.inputs
    assert params is not None and set(node.outputs) == {"loss"}
    expected = node.outputs["loss"]
    bind = {"N": example.inputs["input"][0][0]}
    call = layer.torch
    assert call is not None and call.module and call.init is not None
    module = getattr(torch.nn, call.module.removeprefix("nn."))(**call.init(params, specs))
    source = render_source(layer, params, specs)
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{layer.type}>", "exec"), namespace)
    generated = namespace["Model"]()
    assert repr(generated.loss_fn) == repr(module)
    assert vars(generated.loss_fn).keys() == vars(module).keys()
    for key in ("reduction", "ignore_index", "label_smoothing", "beta"):
        assert getattr(generated.loss_fn, key, None) == getattr(module, key, None), key
    tensors = {port: make_tensor(shape, dtype, example.int_high) for port, (shape, dtype) in example.inputs.items()}
    real = module(tensors["input"], tensors["target"])
    from_source = generated(tensors["input"], tensors["target"])
    assert torch.equal(real, from_source)
    assert tuple(real.shape) == tuple(resolve_dim(d, bind) for d in expected.shape), (real.shape, expected)
    assert str(real.dtype).removeprefix("torch.") == expected.dtype.value
    assert layer.param_count(params, specs) == 0 == sum(p.numel() for p in module.parameters())
    assert layer.buffer_count(params, specs) == 0 == sum(b.numel() for b in module.buffers())
    shapes_in = {port: tuple(resolve_dim(d, bind) for d in spec.shape) for port, spec in specs.items()}
    shapes_out = {"loss": tuple(real.shape)}
    assert layer.macs is not None and layer.macs(params, shapes_in, shapes_out) == 0
    assert layer.flops_extra is not None and layer.flops_extra(params, shapes_in, shapes_out) > 0
    return source


def error_of(layer_type: str, inputs: Inputs, params: Mapping[str, Any] | None = None,
             batch: bool = True) -> Diagnostic:
    graph = build_graph(CATALOG.get(layer_type), inputs, params or {}, batch=batch)
    result = infer_shapes(graph, CATALOG)
    assert not result.ok
    (diag,) = result.errors
    return diag


# -- conformance -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("layer", "example"), CASES)
def test_example_matches_torch(layer: LayerDef, example: Example) -> None:
    torch.manual_seed(0)
    check_example(layer, example)


@pytest.mark.parametrize("layer", losses.LAYERS, ids=lambda layer: layer.type)
def test_entry_is_complete(layer: LayerDef) -> None:
    assert layer.is_loss and layer.category == "Loss"
    assert layer.description and layer.math and layer.help and layer.examples
    assert layer.examples[0].params == {}
    assert [p.name for p in layer.inputs] == ["input", "target"] and [p.name for p in layer.outputs] == ["loss"]
    assert all(spec.help for spec in layer.params)
    call = layer.torch
    assert call is not None and call.module and call.forward == "{loss} = {self}({input}, {target})"
    signature = inspect.signature(getattr(torch.nn, call.module.removeprefix("nn.")))
    for name, default in call.defaults.items():
        assert signature.parameters[name].default == default, (layer.type, name)
    assert call.positional == 0


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for layer in losses.LAYERS:
        for i, example in enumerate(layer.examples):
            (tmp_path / f"gen_{layer.type.lower()}_{i}.py").write_text(check_example(layer, example))
    done = subprocess.run([ruff, "check", "--isolated", "--line-length", "120", "--select", "E,F,W,I,B,UP,SIM",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_code_reads_well() -> None:
    layer = BY_TYPE["CrossEntropyLoss"]
    params = layer.validate_params({"label_smoothing": 0.1})[0]
    specs = {"input": TensorSpec(("N", 10)), "target": TensorSpec(("N",), DType.int64)}
    source = render_source(layer, params, specs)
    assert "self.loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)\n" in source
    assert "loss = self.loss_fn(logits, target)\n" in source
    layer = BY_TYPE["MSELoss"]
    source = render_source(layer, layer.validate_params({})[0], {"input": TensorSpec(("N", 1))})
    assert "self.loss_fn = nn.MSELoss()\n" in source


# -- shapes ----------------------------------------------------------------------------------------------
def spec_of(layer_type: str, inputs: Inputs, params: Mapping[str, Any] | None = None) -> TensorSpec | None:
    inference = infer_shapes(build_graph(CATALOG.get(layer_type), inputs, params or {}), CATALOG)
    assert inference.ok, [str(d) for d in inference.errors]
    return inference.spec("loss_fn", "loss")


def test_reductions() -> None:
    inputs = {"input": ((0, 10, "H", "W"), "float32"), "target": ((0, "H", "W"), "int64")}
    assert spec_of("CrossEntropyLoss", inputs) == TensorSpec(())
    assert spec_of("CrossEntropyLoss", inputs, {"reduction": "sum"}) == TensorSpec(())
    assert spec_of("CrossEntropyLoss", inputs, {"reduction": "none"}) == TensorSpec(("N", "H", "W"))
    probs = {"input": ((0, 10), "float32"), "target": ((0, 10), "float32")}
    assert spec_of("CrossEntropyLoss", probs, {"reduction": "none"}) == TensorSpec(("N",))
    pair = {"input": ((0, 3, "T"), "float16"), "target": ((0, 3, "T"), "float16")}
    assert spec_of("L1Loss", pair, {"reduction": "none"}) == TensorSpec(("N", 3, "T"), DType.float16)
    assert spec_of("BCEWithLogitsLoss", pair) == TensorSpec((), DType.float16)


# -- errors ----------------------------------------------------------------------------------------------
def test_cross_entropy_target_batch_mismatch() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((4, 10), "float32"), "target": ((3,), "int64")}, batch=False)
    assert diag.node == "loss_fn" and diag.port == "target"
    assert diag.expected == "batch size 4 to match input (4, 10)" and diag.received == "(3)"
    assert "CrossEntropyLoss 'loss_fn' input 'target'" in diag.message


def test_cross_entropy_index_target_of_wrong_rank() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 1), "int64")})
    assert diag.port == "target"
    assert diag.expected == "integer class indices (N) of rank 1 for input (N, 10)"
    assert diag.received == "(N, 1) int64"
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "int64")})
    assert "one-hot labels must be float" in diag.expected and diag.received == "(N, 10) int64"


def test_cross_entropy_spatial_mismatch() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 5, 8, 8), "float32"), "target": ((0, 8, 7), "int64")})
    assert diag.expected == "integer class indices (N, 8, 8) of rank 3 for input (N, 5, 8, 8)"
    assert diag.received == "(N, 8, 7) int64"


def test_cross_entropy_probabilities_of_wrong_shape() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0, 9), "float32")})
    assert diag.expected == ("integer class indices (N), or float class probabilities shaped like input "
                             "(N, 10)")
    assert diag.received == "(N, 9) float32"


def test_cross_entropy_bool_target() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0, 10), "float32"), "target": ((0,), "bool")})
    assert diag.expected == "integer class indices or float class probabilities for input (N, 10)"
    assert diag.received == "(N) bool"


def test_cross_entropy_input_rank() -> None:
    diag = error_of("CrossEntropyLoss", {"input": ((0,), "float32"), "target": ((0,), "int64")})
    assert diag.port == "input" and diag.expected == "rank 2, 3, 4 or 5 (N, C) or (N, C, d1, …)"


def test_nll_refuses_probabilities() -> None:
    diag = error_of("NLLLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "float32")})
    assert diag.port == "target"
    assert diag.expected == "integer class indices for input (N, 10)" and diag.received == "(N, 10) float32"
    diag = error_of("NLLLoss", {"input": ((0, 10), "float32"), "target": ((0, 10), "int64")})
    assert "one index per sample" in diag.expected


def test_mse_shape_mismatch_names_both_shapes() -> None:
    diag = error_of("MSELoss", {"input": ((0, 1), "float32"), "target": ((0,), "float32")})
    assert diag.port == "target" and diag.expected == "the same shape as input (N, 1)" and diag.received == "(N)"
    diag = error_of("SmoothL1Loss", {"input": ((8, 3), "float32"), "target": ((2, 3), "float32")}, batch=False)
    assert diag.expected == "batch size 8 to match input (8, 3)" and diag.received == "(2, 3)"


def test_regression_losses_refuse_integer_targets() -> None:
    diag = error_of("BCEWithLogitsLoss", {"input": ((0, 1), "float32"), "target": ((0, 1), "int64")})
    assert diag.port == "target" and diag.expected == "a floating-point tensor"
    assert diag.received == "(N, 1) int64"


# -- costs -----------------------------------------------------------------------------------------------
def test_costs() -> None:
    ce = BY_TYPE["CrossEntropyLoss"]
    p = ce.validate_params({})[0]
    assert ce.flops_extra is not None
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4,)}, {"loss": ()}) == 4 * 10 * 5 + 4 * 2
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4, 10)}, {"loss": ()}) == 4 * 10 * 7 + 4 * 2
    p = ce.validate_params({"label_smoothing": 0.1})[0]
    assert ce.flops_extra(p, {"input": (4, 10), "target": (4,)}, {"loss": ()}) == 4 * 10 * 7 + 4 * 2
    mse = BY_TYPE["MSELoss"]
    assert mse.flops_extra is not None
    assert mse.flops_extra(mse.validate_params({})[0], {"input": (4, 3), "target": (4, 3)}, {"loss": ()}) == 36


def test_param_ranges() -> None:
    assert [e.field for e in BY_TYPE["CrossEntropyLoss"].validate_params({"label_smoothing": 1.5})[1]] == [
        "label_smoothing"]
    assert [e.field for e in BY_TYPE["MSELoss"].validate_params({"reduction": "avg"})[1]] == ["reduction"]
    assert [e.field for e in BY_TYPE["SmoothL1Loss"].validate_params({"beta": -1})[1]] == ["beta"]
