"""Pooling and resize entries checked against the real torch modules.

Each example is inferred on a tiny graph with a symbolic batch N, built as torch module (from the entry's
TorchCall) and as generated source (constructor with torch's defaults omitted + forward template), and
compared: shapes, dtypes, parameter counts, module reprs and costs.
"""

from __future__ import annotations

import inspect
import math
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from neuralforge_desktop.core.analysis.shapes import NodeShapes, infer_shapes
from neuralforge_desktop.core.catalog import io, pooling, resize
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params
from neuralforge_desktop.core.diagnostics import Diagnostic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

FAMILY: list[LayerDef] = pooling.LAYERS + resize.LAYERS
CATALOG = Catalog()
CATALOG.register_all(io.LAYERS + FAMILY)
CASES = [pytest.param(layer, ex, id=f"{layer.type}-{i}") for layer in FAMILY for i, ex in enumerate(layer.examples)]


# -- harness ---------------------------------------------------------------------------------------------
def build_graph(layer: LayerDef, shape: Sequence[Any], params: Mapping[str, Any], batch: bool = True) -> Graph:
    """Input → one ``layer`` node called ``node``; with ``batch`` the first dimension becomes N."""
    graph = Graph("t")
    graph.add_node(layer.type, "node", dict(params))
    graph.add_node("Input", "inp", {"shape": list(shape[1:]) if batch else list(shape), "batch": batch})
    graph.connect("inp", "y", "node", "x")
    return graph


def infer(layer: LayerDef, shape: Sequence[Any], params: Mapping[str, Any] | None = None) -> NodeShapes:
    result = infer_shapes(build_graph(layer, shape, params or {}), CATALOG)
    assert result.ok, [str(d) for d in result.errors]
    return result.results["node"]


def error_of(type_name: str, shape: Sequence[Any], params: Mapping[str, Any] | None = None) -> Diagnostic:
    result = infer_shapes(build_graph(CATALOG.get(type_name), shape, params or {}), CATALOG)
    assert not result.ok
    (diag,) = result.errors
    return diag


def init_source(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> str:
    call = layer.torch
    assert call is not None and call.init is not None
    parts: list[str] = []
    for i, (name, value) in enumerate(call.init(params, specs).items()):
        if i < call.positional:
            parts.append(repr(value))
        elif not (name in call.defaults and call.defaults[name] == value and type(value) is type(call.defaults[name])):
            parts.append(f"{name}={value!r}")
    return f"{call.module}({', '.join(parts)})"


class _Slots(dict[str, str]):
    def __init__(self, ports: Mapping[str, str], params: Params) -> None:
        super().__init__(ports)
        self.params = params

    def __missing__(self, key: str) -> str:
        return repr(self.params[key])


def render_source(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> str:
    call = layer.torch
    assert call is not None
    statement = call.forward_template(params).format_map(_Slots({"self": "self.node", "x": "x", "y": "y"}, params))
    init = f"        self.node = {init_source(layer, params, specs)}\n" if call.module else ""
    return (
        "import torch\n"
        "from torch import nn\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        f"{init}\n"
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
        f"        {statement}\n"
        "        return y\n"
    )


def concrete(spec: TensorSpec, bind: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(resolve_dim(d, bind) for d in spec.shape)


def check_example(layer: LayerDef, example: Example) -> str:
    ((shape, dtype),) = example.inputs.values()
    node = infer(layer, shape, example.params)
    params, specs = node.params, node.inputs
    assert params is not None
    expected = concrete(node.outputs["y"], {"N": shape[0]})
    x = torch.randn(shape, dtype=getattr(torch, dtype))
    source = render_source(layer, params, specs)
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{layer.type}>", "exec"), namespace)
    generated = namespace["Model"]()
    with torch.no_grad():
        y = generated(x)
    assert tuple(y.shape) == expected, (tuple(y.shape), node.outputs["y"], source)
    assert str(y.dtype).removeprefix("torch.") == node.outputs["y"].dtype.value
    call = layer.torch
    assert call is not None
    if call.module:
        assert call.init is not None
        module = getattr(torch.nn, call.module.removeprefix("nn."))(**call.init(params, specs))
        assert repr(generated.node) == repr(module), source
        with torch.no_grad():
            torch.testing.assert_close(module(x), y)
        assert layer.param_count(params, specs) == sum(p.numel() for p in module.parameters())
        assert layer.buffer_count(params, specs) == sum(b.numel() for b in module.buffers())
    for rule in (layer.macs, layer.flops_extra):
        assert rule is not None
        cost = rule(params, {"x": tuple(shape)}, {"y": expected})
        assert isinstance(cost, int) and cost >= 0
    return source


# -- conformance -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("layer", "example"), CASES)
def test_example_matches_torch(layer: LayerDef, example: Example) -> None:
    torch.manual_seed(0)
    check_example(layer, example)


@pytest.mark.parametrize("layer", FAMILY, ids=lambda layer: layer.type)
def test_entry_is_complete(layer: LayerDef) -> None:
    assert layer.description and layer.math and layer.help and layer.category
    assert layer.examples and layer.examples[0].params == {}
    assert all(spec.help for spec in layer.params)
    assert layer.validate_params(layer.default_params())[1] == []
    assert layer.macs is not None and layer.flops_extra is not None
    call = layer.torch
    assert call is not None
    if call.module:
        assert call.init is not None
        signature = inspect.signature(getattr(torch.nn, call.module.removeprefix("nn.")))
        for name, default in call.defaults.items():
            assert signature.parameters[name].default == default, (layer.type, name)
        node = infer(layer, layer.examples[0].inputs["x"][0])
        assert node.params is not None
        names = list(call.init(node.params, node.inputs))
        assert set(names) <= set(signature.parameters)
        assert not set(names[: call.positional]) & set(call.defaults)


def test_palette_and_keras() -> None:
    simple = {layer.type for layer in FAMILY if layer.simple}
    assert simple == {"MaxPool2d"}
    keras = {layer.type: layer.keras for layer in FAMILY}
    assert keras["MaxPool2d"] == "keras.layers.MaxPooling2D"
    assert keras["GlobalAvgPool2d"] == "keras.layers.GlobalAveragePooling2D"
    assert keras["Upsample"] == "keras.layers.UpSampling2D"


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for layer in FAMILY:
        for i, example in enumerate(layer.examples):
            (tmp_path / f"gen_{layer.type.lower()}_{i}.py").write_text(check_example(layer, example))
    done = subprocess.run([ruff, "check", "--isolated", "--line-length", "120", "--select", "E,F,W,I,B,UP,SIM",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_constructors_read_naturally() -> None:
    def ctor(type_name: str, **params: Any) -> str:
        layer = CATALOG.get(type_name)
        node = infer(layer, (2, 3, 8, 8) if type_name != "MaxPool1d" else (2, 3, 8), params)
        assert node.params is not None
        return init_source(layer, node.params, node.inputs)

    assert ctor("MaxPool2d") == "nn.MaxPool2d(2)"
    assert ctor("MaxPool2d", stride=2) == "nn.MaxPool2d(2)"
    assert ctor("MaxPool2d", kernel_size=3, stride=2, padding=1) == "nn.MaxPool2d(3, stride=2, padding=1)"
    assert ctor("MaxPool2d", kernel_size=[2, 3]) == "nn.MaxPool2d((2, 3))"
    assert ctor("MaxPool1d", ceil_mode=True) == "nn.MaxPool1d(2, ceil_mode=True)"
    assert ctor("AvgPool2d", count_include_pad=False) == "nn.AvgPool2d(2, count_include_pad=False)"
    assert ctor("AdaptiveAvgPool2d") == "nn.AdaptiveAvgPool2d(1)"
    assert ctor("AdaptiveAvgPool2d", output_size=[3, 2]) == "nn.AdaptiveAvgPool2d((3, 2))"
    assert ctor("Upsample") == "nn.Upsample(scale_factor=2.0)"
    assert ctor("Upsample", mode="bilinear", align_corners=False) == \
        "nn.Upsample(scale_factor=2.0, mode='bilinear', align_corners=False)"


# -- symbolic dimensions ---------------------------------------------------------------------------------
def test_symbolic_spatial_sizes() -> None:
    def out(type_name: str, shape: Sequence[Any], **params: Any) -> tuple[Any, ...]:
        return infer(CATALOG.get(type_name), shape, params).outputs["y"].shape

    n, c, h, w = out("MaxPool2d", (0, 3, "H", "W"))
    assert (n, c) == ("N", 3) and [resolve_dim(h, {"H": 9}), resolve_dim(w, {"W": 6})] == [4, 3]
    assert out("MaxPool1d", (0, 3, "T"), ceil_mode=True) == ("N", 3, "(T-1)//2+1")
    assert out("AdaptiveAvgPool2d", (0, 3, "H", "W"), output_size=[2, 3]) == ("N", 3, 2, 3)
    assert out("GlobalAvgPool2d", (0, 3, "H", "W")) == ("N", 3)
    assert out("GlobalMaxPool2d", (0, "C", "H", "W")) == ("N", "C")
    assert out("Upsample", (0, 3, "H", "W")) == ("N", 3, "H*2", "W*2")
    assert out("Upsample", (0, 3, "H", "W"), scale_factor=1.5) == ("N", 3, "H*3//2", "W*3//2")


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_symbolic_pool_sizes_match_torch(ceil_mode: bool) -> None:
    """For every small kernel/stride/padding the symbolic size, evaluated, is what torch produces."""
    layer = CATALOG.get("MaxPool1d")
    checked = 0
    for kernel in range(1, 5):
        for stride in range(1, 5):
            for padding in range(kernel // 2 + 1):
                params = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
                result = infer_shapes(build_graph(layer, (0, 2, "T"), params), CATALOG)
                if not result.ok:
                    assert ceil_mode and stride > kernel - padding
                    assert "fixed size" in result.errors[0].message
                    continue
                size = result.results["node"].outputs["y"].shape[2]
                pool = torch.nn.MaxPool1d(kernel, stride, padding, ceil_mode=ceil_mode)
                for t in range(kernel, 14):
                    assert resolve_dim(size, {"T": t}) == pool(torch.zeros(1, 2, t)).shape[2], (params, t, size)
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize("scale", [2.0, 3.0, 1.5, 0.5, 1.25, 0.75])
def test_symbolic_upsample_matches_torch(scale: float) -> None:
    layer = CATALOG.get("Upsample")
    size = infer(layer, (0, 2, "T"), {"scale_factor": scale}).outputs["y"].shape[2]
    for t in range(2, 20):
        assert resolve_dim(size, {"T": t}) == torch.nn.Upsample(scale_factor=scale)(torch.zeros(1, 2, t)).shape[2]


# -- errors name node, port, expectation and what was received -------------------------------------------
@pytest.mark.parametrize(("type_name", "shape", "params", "fragments"), [
    ("MaxPool2d", (2, 3, 1, 1), {}, ["at least 2 for kernel 2", "received (N, 3, 1, 1)"]),
    ("MaxPool2d", (2, 3, 8, 8), {"kernel_size": 3, "padding": 2}, ["padding at most half", "received padding 2"]),
    ("MaxPool2d", (2, 3, 8), {}, ["rank 4 (N, C, H, W)", "received (N, 3, 8)"]),
    ("MaxPool1d", (2, 3, 2), {"kernel_size": 3}, ["at least 3 for kernel 3", "received (N, 3, 2)"]),
    ("AvgPool2d", (2, 3, 4, 2), {"kernel_size": [2, 3]}, ["at least 3", "received (N, 3, 4, 2)"]),
    ("AdaptiveAvgPool2d", (2, 3, 8), {}, ["rank 4", "received (N, 3, 8)"]),
    ("GlobalAvgPool2d", (2, 3), {}, ["rank 4", "received (N, 3)"]),
    ("GlobalMaxPool2d", (2, 3, 4, 5, 6), {}, ["rank 4", "received (N, 3, 4, 5, 6)"]),
    ("Upsample", (2, 3, 4, 5, 6), {"mode": "bilinear"}, ["rank 4 (N, C, H, W) for mode 'bilinear'",
                                                         "received (N, 3, 4, 5, 6)"]),
    ("Upsample", (2, 3, 1, 1), {"scale_factor": 0.5}, ["at least 2", "received (N, 3, 1, 1)"]),
])
def test_errors_are_specific(type_name: str, shape: tuple[int, ...], params: dict[str, Any],
                             fragments: list[str]) -> None:
    diag = error_of(type_name, shape, params)
    assert diag.message.startswith(f"{type_name} 'node' input 'x'"), diag.message
    assert "expected" in diag.message and "received" in diag.message
    assert diag.port == "x" and diag.expected and diag.received
    for fragment in fragments:
        assert fragment in diag.message, (fragment, diag.message)


def test_too_small_input_names_everything() -> None:
    diag = error_of("MaxPool2d", (2, 16, 3, 3), {"kernel_size": 4})
    assert diag.node == "node" and diag.port == "x"
    assert diag.message == ("MaxPool2d 'node' input 'x': expected a spatial size of at least 4 for kernel 4, "
                            "received (N, 16, 3, 3)")


def test_upsample_align_corners_needs_bilinear() -> None:
    diag = error_of("Upsample", (2, 3, 4, 4), {"align_corners": True})
    assert diag.field == "align_corners" and "bilinear" in diag.message
    assert "received align_corners=True" in diag.message


def test_symbolic_ceil_mode_with_large_stride_asks_for_fixed_size() -> None:
    diag = error_of("MaxPool1d", (0, 3, "T"), {"kernel_size": 2, "stride": 3, "ceil_mode": True})
    assert diag.field == "ceil_mode" and "received (N, 3, T)" in diag.message


# -- costs -----------------------------------------------------------------------------------------------
def cost(type_name: str, shape: tuple[int, ...], **params: Any) -> tuple[int, int]:
    layer = CATALOG.get(type_name)
    node = infer(layer, shape, params)
    assert node.params is not None and layer.macs is not None and layer.flops_extra is not None
    out = concrete(node.outputs["y"], {"N": shape[0]})
    return layer.macs(node.params, {"x": shape}, {"y": out}), layer.flops_extra(node.params, {"x": shape}, {"y": out})


def test_costs() -> None:
    assert cost("MaxPool2d", (2, 3, 8, 8)) == (0, 2 * 3 * 4 * 4 * 3)
    assert cost("MaxPool1d", (2, 3, 8), kernel_size=3, stride=1) == (0, 2 * 3 * 6 * 2)
    assert cost("AvgPool2d", (2, 3, 8, 8)) == (0, 2 * 3 * 4 * 4 * 4)
    assert cost("GlobalAvgPool2d", (2, 3, 5, 7)) == (0, 2 * 3 * 5 * 7)
    assert cost("GlobalMaxPool2d", (2, 3, 5, 7)) == (0, 2 * 3 * (5 * 7 - 1))
    assert cost("Upsample", (2, 3, 4, 5)) == (0, 0)
    assert cost("Upsample", (2, 3, 4, 5), mode="bilinear") == (0, 4 * 2 * 3 * 8 * 10)
    # adaptive pooling: each output averages its (possibly overlapping) window
    assert cost("AdaptiveAvgPool2d", (2, 3, 8, 8), output_size=1) == (0, 2 * 3 * 64)
    assert cost("AdaptiveAvgPool2d", (2, 3, 8, 8), output_size=4) == (0, 2 * 3 * 64)
    windows = sum(math.ceil((i + 1) * 7 / 3) - (i * 7) // 3 for i in range(3))  # 3 + 3 + 3 with overlaps
    assert cost("AdaptiveAvgPool2d", (1, 1, 7, 7), output_size=3) == (0, windows * windows)
