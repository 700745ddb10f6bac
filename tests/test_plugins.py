"""The plugin API and the example plugin (plugins/neuralforge-example-layers), with and without installing it."""

from __future__ import annotations

import ast
import importlib
import math
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from neuralforge_desktop import plugin_api
from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog.registry import PLUGIN_GROUP, Catalog, builtin_layers
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph, Node
from neuralforge_desktop.core.ir.serialize import dumps, graph_to_dict, loads
from neuralforge_desktop.core.ir.types import DType, TensorSpec

torch = pytest.importorskip("torch")

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "neuralforge-example-layers"
PACKAGE = "neuralforge_example_layers"


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The example plugin imported from its source folder, installed or not."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    yield importlib.import_module(PACKAGE)


@pytest.fixture
def cat(plugin: ModuleType) -> Catalog:
    catalog = Catalog()
    catalog.register_all(builtin_layers())
    catalog.register_all(plugin.layers())
    return catalog


def _helper_namespace(layer: LayerDef) -> dict[str, Any]:
    namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math}
    assert layer.torch is not None
    for source in layer.torch.helpers:
        exec(compile(source, f"<helper of {layer.type}>", "exec"), namespace)
    return namespace


def _build(layer: LayerDef, params: dict[str, Any], specs: dict[str, TensorSpec]) -> torch.nn.Module:
    assert layer.torch is not None and layer.torch.module is not None
    module_name = layer.torch.module
    kwargs = layer.torch.init(layer.validate_params(params)[0], specs) if layer.torch.init else {}
    if module_name.startswith("nn."):
        return getattr(torch.nn, module_name[3:])(**kwargs)
    return _helper_namespace(layer)[module_name](**kwargs)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- the API module --------------------------------------------------------------------------------------
def test_plugin_api_exports_what_a_layer_needs() -> None:
    for name in plugin_api.__all__:
        assert hasattr(plugin_api, name), name
    for name in ("LayerDef", "ParamSpec", "PortSpec", "TorchCall", "Example", "Params", "TensorSpec", "DType",
                 "ShapeError", "concrete", "window_out", "normalize_axis", "broadcast", "PLUGIN_GROUP"):
        assert name in plugin_api.__all__
    assert plugin_api.PLUGIN_GROUP == "neuralforge.layers" == PLUGIN_GROUP


def test_plugin_api_imports_neither_torch_nor_qt() -> None:
    code = ("import sys, neuralforge_desktop.plugin_api; "
            "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_example_plugin_imports_only_the_plugin_api() -> None:
    tree = ast.parse((PLUGIN_DIR / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith("neuralforge_desktop"):
            assert stmt.module == "neuralforge_desktop.plugin_api"
        if isinstance(stmt, ast.Import):
            assert not any(alias.name.startswith("neuralforge_desktop") for alias in stmt.names)


# -- the example layers ----------------------------------------------------------------------------------
def test_layers_register_into_a_fresh_catalog(cat: Catalog, plugin: ModuleType) -> None:
    assert [layer.type for layer in plugin.layers()] == ["Mish", "SqueezeExcite"]
    assert "Mish" in cat and "SqueezeExcite" in cat
    assert cat.get("SqueezeExcite").default_params() == {"reduction": 4}


def test_mish_matches_torch(cat: Catalog) -> None:
    layer = cat.get("Mish")
    module = _build(layer, {}, {"x": TensorSpec(("N", 5))})
    assert isinstance(module, torch.nn.Mish) and _count(module) == 0
    x = torch.linspace(-6, 6, 49).reshape(7, 7)
    expected = x * torch.tanh(torch.nn.functional.softplus(x))
    torch.testing.assert_close(module(x), expected)
    params = layer.validate_params({})[0]
    assert layer.shape(params, {"x": TensorSpec(("N", 3, "T"))}) == {"y": TensorSpec(("N", 3, "T"))}
    assert layer.macs is not None and layer.macs(params, {"x": (2, 10)}, {"y": (2, 10)}) == 0
    assert layer.flops_extra is not None and layer.flops_extra(params, {"x": (2, 10)}, {"y": (2, 10)}) == 100


@pytest.mark.parametrize(("channels", "reduction"), [(16, 4), (8, 2), (3, 8), (64, 16), (7, 3), (1, 1)])
def test_squeeze_excite_matches_its_module(cat: Catalog, channels: int, reduction: int) -> None:
    layer = cat.get("SqueezeExcite")
    params, errors = layer.validate_params({"reduction": reduction})
    assert not errors
    specs = {"x": TensorSpec(("N", channels, 5, 6))}
    module = _build(layer, {"reduction": reduction}, specs)
    assert layer.param_count(params, specs) == _count(module)
    assert layer.shape(params, specs) == {"y": specs["x"]}

    x = torch.randn(2, channels, 5, 6)
    y = module(x)
    assert tuple(y.shape) == tuple(x.shape)
    gate = torch.sigmoid(module.fc2(torch.relu(module.fc1(x.mean(dim=(2, 3))))))
    torch.testing.assert_close(y, x * gate[:, :, None, None])

    hidden = max(1, channels // reduction)
    assert layer.macs is not None and layer.macs(params, {"x": (2, channels, 5, 6)}, {"y": (2, channels, 5, 6)}) \
        == 2 * 2 * channels * hidden


def test_examples_agree_with_torch(plugin: ModuleType) -> None:
    for layer in plugin.layers():
        assert layer.examples, layer.type
        for example in layer.examples:
            specs = {port: TensorSpec(shape, DType(dtype)) for port, (shape, dtype) in example.inputs.items()}
            params = layer.validate_params(example.params)[0]
            module = _build(layer, dict(example.params), specs)
            inputs = [torch.randn(*shape) for shape, _ in example.inputs.values()]
            out = module(*inputs)
            assert layer.shape(params, specs)["y"].shape == tuple(out.shape)
            assert layer.param_count(params, specs) == _count(module)


def test_helper_source_is_self_contained(plugin: ModuleType) -> None:
    layer = plugin.SQUEEZE_EXCITE
    for source in layer.torch.helpers:
        tree = ast.parse(source)
        assert not any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(tree))
        assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == [layer.torch.module]


def test_shape_inference_in_a_graph(cat: Catalog) -> None:
    graph = Graph("se-net")
    graph.insert_node(Node("image", "Input", {"shape": [3, 16, 16], "dtype": "float32", "role": "data"}))
    graph.insert_node(Node("conv", "Conv2d", {"out_channels": 32}))
    graph.insert_node(Node("se", "SqueezeExcite", {"reduction": 8}))
    graph.insert_node(Node("act", "Mish"))
    graph.insert_node(Node("out", "Output"))
    for src, dst in [("image", "conv"), ("conv", "se"), ("se", "act"), ("act", "out")]:
        graph.connect(src, "y", dst, "x")
    shapes = infer_shapes(graph, cat)
    assert shapes.ok, shapes.diagnostics
    assert shapes.spec("act") == TensorSpec(("N", 32, 16, 16))

    flat = Composer("bad")
    x = flat.input("v", [32])
    flat.graph.insert_node(Node("se", "SqueezeExcite"))
    flat.graph.connect(x.node, x.port, "se", "x")
    errors = infer_shapes(flat.graph, cat).errors
    assert [d.code for d in errors] == ["shape"] and "rank 4" in errors[0].message


def test_file_with_plugin_layers_survives_a_missing_plugin(cat: Catalog) -> None:
    graph = Graph("se-net")
    graph.insert_node(Node("image", "Input", {"shape": [8, 4, 4]}, position=(0, 0)))
    graph.insert_node(Node("se", "SqueezeExcite", {"reduction": 2}, position=(220, 0), notes="gate"))
    graph.insert_node(Node("act", "Mish", position=(440, 0)))
    graph.connect("image", "y", "se", "x")
    graph.connect("se", "y", "act", "x")
    text = dumps(graph)
    with_plugin = loads(text, cat)
    assert with_plugin.nodes["se"].unknown is None

    bare = Catalog()
    bare.register_all(builtin_layers())
    without = loads(text, bare)
    assert without.nodes["se"].unknown is not None and without.nodes["act"].unknown is not None
    assert [d.code for d in infer_shapes(without, bare).errors] == ["unknown-type", "unknown-type"]
    assert dumps(without) == text
    assert graph_to_dict(loads(dumps(without), cat)) == graph_to_dict(with_plugin)


# -- installed -------------------------------------------------------------------------------------------
def test_installed_plugin_is_found_through_its_entry_point() -> None:
    found = [ep for ep in entry_points(group=PLUGIN_GROUP) if ep.value == f"{PACKAGE}:layers"]
    if not found:
        pytest.skip("the example plugin is not installed; run "
                    "`pip install --no-deps -e plugins/neuralforge-example-layers` to test its entry point")
    assert found[0].name == "example"
    catalog = Catalog()
    catalog.register_all(builtin_layers())
    catalog.load_plugins()
    assert not [e for e in catalog.plugin_errors if "example" in e], catalog.plugin_errors
    assert "Mish" in catalog and "SqueezeExcite" in catalog
    assert catalog.get("Mish").plugin == "neuralforge-example-layers"
