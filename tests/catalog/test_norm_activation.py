"""Normalisation, activation and dropout entries checked against the real torch modules.

Every example of every entry is run three ways: shape inference on a tiny graph, the torch module built from
the entry's TorchCall, and the generated source (constructor with torch's defaults omitted + forward
template) compiled and executed. Shapes, dtypes, parameter and buffer counts must agree.
"""

from __future__ import annotations

import inspect
import math
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.catalog import activation, dropout, io, norm
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

FAMILIES: list[LayerDef] = norm.LAYERS + activation.LAYERS + dropout.LAYERS
CATALOG = Catalog()
CATALOG.register_all(io.LAYERS + FAMILIES)
CASES = [pytest.param(layer, ex, id=f"{layer.type}-{i}") for layer in FAMILIES for i, ex in enumerate(layer.examples)]
BY_TYPE = {layer.type: layer for layer in FAMILIES}


# -- harness ---------------------------------------------------------------------------------------------
def build_graph(layer: LayerDef, inputs: Mapping[str, tuple[tuple[Any, ...], str]], params: Mapping[str, Any],
                node: str = "node", batch: bool = True) -> Graph:
    """Input nodes (shape without batch) → one ``layer`` node."""
    graph = Graph("t")
    graph.add_node(layer.type, node, dict(params))
    validated, _ = layer.validate_params(params)
    for port in layer.input_ports(validated):
        shape, dtype = inputs[port.name]
        src = f"in_{port.name}"
        role = "target" if port.name == "target" else "data"
        dims = list(shape[1:]) if batch else list(shape)
        graph.add_node("Input", src, {"shape": dims, "dtype": dtype, "role": role, "batch": batch})
        graph.connect(src, "y", node, port.name)
    return graph


def infer(layer: LayerDef, example: Example) -> tuple[ShapeInference, Params, dict[str, TensorSpec]]:
    result = infer_shapes(build_graph(layer, example.inputs, example.params), CATALOG)
    assert result.ok, [str(d) for d in result.errors]
    node = result.results["node"]
    assert node.params is not None
    return result, node.params, node.inputs


def bindings(example: Example) -> dict[str, int]:
    first = next(iter(example.inputs.values()))[0]
    return {"N": first[0]}


def concrete_shape(spec: TensorSpec, bind: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(resolve_dim(d, bind) for d in spec.shape)


def make_tensor(shape: tuple[int, ...], dtype: str, int_high: int) -> torch.Tensor:
    torch_dtype = getattr(torch, dtype)
    if torch_dtype.is_floating_point:
        return torch.randn(shape, dtype=torch_dtype)
    return torch.randint(0, int_high, shape, dtype=torch_dtype)


def torch_module(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> torch.nn.Module:
    call = layer.torch
    assert call is not None and call.module and call.init is not None
    return getattr(torch.nn, call.module.removeprefix("nn."))(**call.init(params, specs))


def _is_default(value: Any, default: Any) -> bool:
    return value == default and type(value) is type(default)


def render_init(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> str:
    call = layer.torch
    assert call is not None and call.init is not None
    parts: list[str] = []
    for i, (name, value) in enumerate(call.init(params, specs).items()):
        if i < call.positional:
            parts.append(repr(value))
        elif not (name in call.defaults and _is_default(value, call.defaults[name])):
            parts.append(f"{name}={value!r}")
    return f"{call.module}({', '.join(parts)})"


class _Slots(dict[str, str]):
    def __init__(self, ports: Mapping[str, str], params: Params) -> None:
        super().__init__(ports)
        self.params = params

    def __missing__(self, key: str) -> str:
        return repr(self.params[key])


def render_source(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> tuple[str, list[str]]:
    """A whole generated module for one node; returns the source and its forward arguments."""
    call = layer.torch
    assert call is not None
    args = [p.name for p in layer.input_ports(params)]
    outs = [p.name for p in layer.output_ports(params)]
    statement = call.forward_template(params).format_map(_Slots({"self": "self.node", **{n: n for n in args + outs}},
                                                               params))
    source = (
        "import torch\n"
        "from torch import nn\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        f"        self.node = {render_init(layer, params, specs)}\n\n"
        f"    def forward(self, {', '.join(a + ': torch.Tensor' for a in args)}) -> torch.Tensor:\n"
        f"        {statement}\n"
        f"        return {outs[0]}\n"
    )
    return source, args


def check_example(layer: LayerDef, example: Example) -> str:
    """Run one example all three ways; returns the generated source."""
    _, params, specs = infer(layer, example)
    inferred = infer_shapes(build_graph(layer, example.inputs, example.params), CATALOG).results["node"].outputs
    bind = bindings(example)
    tensors = {port: make_tensor(shape, dtype, example.int_high) for port, (shape, dtype) in example.inputs.items()}
    module = torch_module(layer, params, specs)
    source, args = render_source(layer, params, specs)
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{layer.type}>", "exec"), namespace)
    generated = namespace["Model"]()
    assert {k: v.shape for k, v in generated.node.state_dict().items()} == {
        k: v.shape for k, v in module.state_dict().items()}
    assert repr(generated.node) == repr(module), source
    (out_port,) = inferred
    expected = inferred[out_port]
    for mode in ("train", "eval"):
        getattr(module, mode)()
        with torch.no_grad():
            real = module(*(tensors[a] for a in args))
            from_source = generated(*(tensors[a] for a in args))
        assert tuple(real.shape) == concrete_shape(expected, bind), (mode, real.shape, expected)
        assert tuple(from_source.shape) == tuple(real.shape)
        assert str(real.dtype).removeprefix("torch.") == expected.dtype.value
    assert layer.param_count(params, specs) == sum(p.numel() for p in module.parameters())
    assert layer.buffer_count(params, specs) == sum(b.numel() for b in module.buffers())
    shapes_in = {port: concrete_shape(spec, bind) for port, spec in specs.items()}
    shapes_out = {port: concrete_shape(spec, bind) for port, spec in inferred.items()}
    for rule in (layer.macs, layer.flops_extra):
        assert rule is not None
        cost = rule(params, shapes_in, shapes_out)
        assert isinstance(cost, int) and cost >= 0
    return source


def error_of(layer_type: str, shape: list[Any], params: Mapping[str, Any] | None = None, dtype: str = "float32",
             node: str = "node") -> Any:
    layer = CATALOG.get(layer_type)
    graph = build_graph(layer, {"x": ((0, *shape), dtype)}, params or {}, node=node)
    result = infer_shapes(graph, CATALOG)
    assert not result.ok
    (diag,) = result.errors
    return diag


def cost(layer_type: str, shape: tuple[int, ...], params: Mapping[str, Any] | None = None) -> tuple[int, int]:
    layer = CATALOG.get(layer_type)
    validated, errors = layer.validate_params(params or {})
    assert not errors
    assert layer.macs is not None and layer.flops_extra is not None
    return layer.macs(validated, {"x": shape}, {"y": shape}), layer.flops_extra(validated, {"x": shape}, {"y": shape})


# -- conformance -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("layer", "example"), CASES)
def test_example_matches_torch(layer: LayerDef, example: Example) -> None:
    torch.manual_seed(0)
    check_example(layer, example)


@pytest.mark.parametrize("layer", FAMILIES, ids=lambda layer: layer.type)
def test_entry_is_complete(layer: LayerDef) -> None:
    assert layer.description and layer.math and layer.help and layer.category
    assert layer.examples and layer.keras.startswith("keras.")
    assert all(spec.help for spec in layer.params)
    assert layer.examples[0].params == {}, "the first example uses the default params"
    call = layer.torch
    assert call is not None and call.module and call.init is not None
    signature = inspect.signature(getattr(torch.nn, call.module.removeprefix("nn.")))
    for name, default in call.defaults.items():
        assert signature.parameters[name].default == default, (layer.type, name)
    spec = next(iter(layer.examples))
    _, params, specs = infer(layer, spec)
    names = list(call.init(params, specs))
    assert set(names) <= set(signature.parameters)
    assert not set(names[: call.positional]) & set(call.defaults), "a positional argument must never be omitted"
    assert layer.validate_params(layer.default_params())[1] == []


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for layer in FAMILIES:
        for i, example in enumerate(layer.examples):
            (tmp_path / f"gen_{layer.type.lower()}_{i}.py").write_text(check_example(layer, example))
    done = subprocess.run([ruff, "check", "--isolated", "--line-length", "120", "--select", "E,F,W,I,B,UP,SIM",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_defaults_are_omitted_from_generated_code() -> None:
    layer = BY_TYPE["BatchNorm2d"]
    _, params, specs = infer(layer, layer.examples[0])
    assert render_init(layer, params, specs) == "nn.BatchNorm2d(8)"
    layer = BY_TYPE["LayerNorm"]
    _, params, specs = infer(layer, Example({"x": ((2, 5, 4, 6), "float32")}, {"num_dims": 2}))
    assert render_init(layer, params, specs) == "nn.LayerNorm((4, 6))"
    layer = BY_TYPE["Softmax"]
    _, params, specs = infer(layer, layer.examples[0])
    assert render_init(layer, params, specs) == "nn.Softmax(dim=-1)"
    layer = BY_TYPE["GroupNorm"]
    _, params, specs = infer(layer, layer.examples[1])
    assert render_init(layer, params, specs) == "nn.GroupNorm(3, 6, affine=False)"


# -- counts and costs ------------------------------------------------------------------------------------
def test_norm_counts() -> None:
    specs = {"x": TensorSpec(("N", 16, 8, 8))}
    bn = BY_TYPE["BatchNorm2d"]
    p = bn.validate_params({})[0]
    assert (bn.param_count(p, specs), bn.buffer_count(p, specs)) == (32, 33)
    p = bn.validate_params({"affine": False, "track_running_stats": False})[0]
    assert (bn.param_count(p, specs), bn.buffer_count(p, specs)) == (0, 0)
    inst = BY_TYPE["InstanceNorm2d"]
    p = inst.validate_params({})[0]
    assert (inst.param_count(p, specs), inst.buffer_count(p, specs)) == (0, 0)
    ln = BY_TYPE["LayerNorm"]
    p = ln.validate_params({"num_dims": 3})[0]
    assert ln.param_count(p, specs) == 2 * 16 * 8 * 8


def test_norm_costs() -> None:
    shape = (2, 8, 5, 5)
    n = math.prod(shape)
    assert cost("BatchNorm2d", shape) == (n, 2 * n)
    assert cost("BatchNorm2d", shape, {"affine": False}) == (0, 2 * n)
    assert cost("BatchNorm2d", shape, {"track_running_stats": False}) == (n, 5 * n)
    assert cost("InstanceNorm2d", shape) == (0, 5 * n)
    assert cost("GroupNorm", shape, {"num_groups": 4}) == (n, 5 * n)
    assert cost("LayerNorm", shape, {"elementwise_affine": False}) == (0, 5 * n)


def test_activation_and_dropout_costs() -> None:
    shape = (2, 3, 4)
    n = math.prod(shape)
    assert cost("ReLU", shape) == (0, n)
    assert cost("GELU", shape) == (0, 5 * n)
    assert cost("GELU", shape, {"approximate": "tanh"}) == (0, 9 * n)
    assert cost("Softmax", shape) == (0, 5 * n)
    assert cost("Dropout", shape) == (0, 0)
    for layer in activation.LAYERS:
        p = layer.validate_params({})[0]
        assert layer.param_count(p, {"x": TensorSpec(shape)}) == 0
        assert layer.macs is not None and layer.macs(p, {"x": shape}, {"y": shape}) == 0


def test_simple_palette_flags() -> None:
    simple = {layer.type for layer in FAMILIES if layer.simple}
    assert simple == {"ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout"}


# -- errors ----------------------------------------------------------------------------------------------
def test_batchnorm2d_on_rank_2_names_node_port_expected_and_received() -> None:
    diag = error_of("BatchNorm2d", [8], node="bn1")
    assert diag.node == "bn1" and diag.port == "x"
    assert diag.expected == "rank 4 (N, C, H, W)" and diag.received == "(N, 8)"
    assert "BatchNorm2d 'bn1'" in diag.message and "input 'x'" in diag.message
    assert "expected rank 4 (N, C, H, W)" in diag.message and "received (N, 8)" in diag.message


def test_batchnorm1d_accepts_rank_2_and_3_only() -> None:
    diag = error_of("BatchNorm1d", [3, 4, 4])
    assert diag.expected == "rank 2 or 3 (N, C) or (N, C, L)" and diag.received == "(N, 3, 4, 4)"


def test_groupnorm_not_divisible() -> None:
    diag = error_of("GroupNorm", [10, 4, 4], {"num_groups": 4}, node="gn")
    assert diag.node == "gn" and diag.port == "x" and diag.field == "num_groups"
    assert diag.expected == "a channel count divisible by num_groups (4)"
    assert diag.received == "(N, 10, 4, 4) with 10 channels"
    assert "param 'num_groups'" in diag.message


def test_groupnorm_error_clears_after_param_edit() -> None:
    layer = CATALOG.get("GroupNorm")
    graph = build_graph(layer, {"x": ((0, 10, 4, 4), "float32")}, {"num_groups": 4})
    inference = infer_shapes(graph, CATALOG)
    assert not inference.ok
    graph.set_param("node", "num_groups", 5)
    inference.update(["node"])
    assert inference.ok and inference.spec("node") == TensorSpec(("N", 10, 4, 4))


def test_symbolic_channels_are_refused() -> None:
    diag = error_of("BatchNorm1d", ["C", 5])
    assert diag.expected == "a fixed channel count (dimension 1)" and diag.received == "(N, C, 5)"
    diag = error_of("LayerNorm", [3, "T"])
    assert diag.expected == "a fixed normalized size (dimension -1)" and diag.received == "(N, 3, T)"


def test_symbolic_dims_elsewhere_pass_through() -> None:
    layer = CATALOG.get("LayerNorm")
    inference = infer_shapes(build_graph(layer, {"x": ((0, "T", 64), "float32")}, {}), CATALOG)
    assert inference.ok and inference.spec("node") == TensorSpec(("N", "T", 64))
    layer = CATALOG.get("BatchNorm1d")
    inference = infer_shapes(build_graph(layer, {"x": ((0, 16, "L"), "float32")}, {}), CATALOG)
    assert inference.ok and inference.spec("node") == TensorSpec(("N", 16, "L"))


def test_layernorm_more_dims_than_input() -> None:
    diag = error_of("LayerNorm", [], {"num_dims": 2})
    assert diag.field == "num_dims" and diag.received == "(N)"


def test_softmax_dim_out_of_range() -> None:
    diag = error_of("Softmax", [10], {"dim": 2})
    assert diag.field == "dim" and diag.expected == "dim=2 to be within rank 2" and diag.received == "(N, 10)"


def test_activation_refuses_integer_input() -> None:
    diag = error_of("ReLU", [10], dtype="int64")
    assert diag.expected == "a floating-point tensor" and diag.received == "(N, 10) int64"


@pytest.mark.parametrize(("layer_type", "params", "field"), [
    ("Dropout", {"p": 1.5}, "p"),
    ("Dropout2d", {"p": -0.1}, "p"),
    ("GELU", {"approximate": "fast"}, "approximate"),
    ("GroupNorm", {"num_groups": 0}, "num_groups"),
    ("BatchNorm2d", {"momentum": 2.0}, "momentum"),
    ("LayerNorm", {"num_dims": 0}, "num_dims"),
])
def test_param_ranges(layer_type: str, params: dict[str, Any], field: str) -> None:
    _, errors = CATALOG.get(layer_type).validate_params(params)
    assert [e.field for e in errors] == [field]


def test_momentum_may_be_empty() -> None:
    params, errors = CATALOG.get("BatchNorm1d").validate_params({"momentum": None})
    assert not errors and params.momentum is None
