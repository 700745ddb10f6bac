"""Normalisation, activation and dropout entries: the per-layer cases.

Every case runs through the shared harness (``tests/layer_harness.py``): the product's shape inference and
code generator. Generic checks of every example live in ``tests/test_catalog_conformance.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog import activation, dropout, norm
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.types import TensorSpec

from layer_harness import constructor, layer_graph
from layer_harness import error_of as harness_error_of

FAMILIES: list[LayerDef] = norm.LAYERS + activation.LAYERS + dropout.LAYERS
BY_TYPE = {layer.type: layer for layer in FAMILIES}


def error_of(layer_type: str, shape: list[Any], params: Mapping[str, Any] | None = None,
             dtype: str = "float32") -> Any:
    return harness_error_of(layer_type, {"x": ((0, *shape), dtype)}, params)


def cost(layer_type: str, shape: tuple[int, ...], params: Mapping[str, Any] | None = None) -> tuple[int, int]:
    layer = BY_TYPE[layer_type]
    validated, errors = layer.validate_params(params or {})
    assert not errors
    assert layer.macs is not None and layer.flops_extra is not None
    return layer.macs(validated, {"x": shape}, {"y": shape}), layer.flops_extra(validated, {"x": shape}, {"y": shape})


def test_defaults_are_omitted_from_generated_code() -> None:
    assert constructor("BatchNorm2d", (2, 8, 4, 4)) == "nn.BatchNorm2d(8)"
    assert constructor("LayerNorm", (2, 5, 4, 6), {"num_dims": 2}) == "nn.LayerNorm((4, 6))"
    assert constructor("Softmax", (2, 10)) == "nn.Softmax(dim=-1)"
    assert constructor("GroupNorm", (2, 6, 4, 4), {"num_groups": 3, "affine": False}) == \
        "nn.GroupNorm(3, 6, affine=False)"
    assert constructor("ReLU", (2, 10)) == "nn.ReLU()"
    assert constructor("Dropout", (2, 10), {"p": 0.5}) == "nn.Dropout()"


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
    diag = error_of("BatchNorm2d", [8])
    assert diag.node == "node" and diag.port == "x"
    assert diag.expected == "rank 4 (N, C, H, W)" and diag.received == "(N, 8)"
    assert "BatchNorm2d 'node'" in diag.message and "input 'x'" in diag.message
    assert "expected rank 4 (N, C, H, W)" in diag.message and "received (N, 8)" in diag.message


def test_batchnorm1d_accepts_rank_2_and_3_only() -> None:
    diag = error_of("BatchNorm1d", [3, 4, 4])
    assert diag.expected == "rank 2 or 3 (N, C) or (N, C, L)" and diag.received == "(N, 3, 4, 4)"


def test_groupnorm_not_divisible() -> None:
    diag = error_of("GroupNorm", [10, 4, 4], {"num_groups": 4})
    assert diag.node == "node" and diag.port == "x" and diag.field == "num_groups"
    assert diag.expected == "a channel count divisible by num_groups (4)"
    assert diag.received == "(N, 10, 4, 4) with 10 channels"
    assert "param 'num_groups'" in diag.message


def test_groupnorm_error_clears_after_param_edit() -> None:
    graph = layer_graph("GroupNorm", {"x": ((0, 10, 4, 4), "float32")}, {"num_groups": 4})
    inference = infer_shapes(graph)
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
    inference = infer_shapes(layer_graph("LayerNorm", {"x": ((0, "T", 64), "float32")}))
    assert inference.ok and inference.spec("node") == TensorSpec(("N", "T", 64))
    inference = infer_shapes(layer_graph("BatchNorm1d", {"x": ((0, 16, "L"), "float32")}))
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
    _, errors = BY_TYPE[layer_type].validate_params(params)
    assert [e.field for e in errors] == [field]


def test_momentum_may_be_empty() -> None:
    params, errors = BY_TYPE["BatchNorm1d"].validate_params({"momentum": None})
    assert not errors and params.momentum is None
