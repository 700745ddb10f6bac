"""Pooling and resize entries: the per-layer cases the catalog-wide conformance test does not cover.

Every case runs through the shared harness (``tests/layer_harness.py``): the product's shape inference,
code generator and builder. Generic checks of every example live in ``tests/test_catalog_conformance.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
import torch

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog import pooling, resize
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.types import resolve_dim

from layer_harness import concrete_shape, constructor, error_of, infer, layer_graph

FAMILY: list[LayerDef] = pooling.LAYERS + resize.LAYERS


def test_palette_and_keras() -> None:
    simple = {layer.type for layer in FAMILY if layer.simple}
    assert simple == {"MaxPool2d"}
    keras = {layer.type: layer.keras_name for layer in FAMILY}
    assert keras["MaxPool2d"] == "keras.layers.MaxPooling2D"
    assert keras["GlobalAvgPool2d"] == "keras.layers.GlobalAveragePooling2D"
    assert keras["Upsample"] == "keras.layers.UpSampling2D"


def test_generated_constructors_read_naturally() -> None:
    def ctor(type_name: str, **params: Any) -> str:
        return constructor(type_name, (2, 3, 8, 8) if type_name != "MaxPool1d" else (2, 3, 8), params)

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
        'nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False)'


# -- symbolic dimensions ---------------------------------------------------------------------------------
def test_symbolic_spatial_sizes() -> None:
    def out(type_name: str, shape: Sequence[Any], **params: Any) -> tuple[Any, ...]:
        return infer(type_name, shape, params).outputs["y"].shape

    n, c, h, w = out("MaxPool2d", (0, 3, "H", "W"))
    assert (n, c) == ("N", 3) and [resolve_dim(h, {"H": 9}), resolve_dim(w, {"W": 6})] == [4, 3]
    assert out("MaxPool1d", (0, 3, "T"), ceil_mode=True) == ("N", 3, "(T-1)//2+1")
    assert out("AdaptiveAvgPool2d", (0, 3, "H", "W"), output_size=[2, 3]) == ("N", 3, 2, 3)
    assert out("GlobalAvgPool2d", (0, 3, "H", "W")) == ("N", 3)
    assert out("GlobalMaxPool2d", (0, "C", "H", "W")) == ("N", "C")
    assert out("Upsample", (0, 3, "H", "W")) == ("N", 3, "2*H", "2*W")  # canonical form: coefficient first
    assert out("Upsample", (0, 3, "H", "W"), scale_factor=1.5) == ("N", 3, "(3*H)//2", "(3*W)//2")
    # a 1×1 window over a symbolic size gives that size back, spelled as the symbol itself
    assert out("MaxPool1d", (0, 3, "T"), kernel_size=1) == ("N", 3, "T")


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_symbolic_pool_sizes_match_torch(ceil_mode: bool) -> None:
    """For every small kernel/stride/padding the symbolic size, evaluated, is what torch produces."""
    checked = 0
    for kernel in range(1, 5):
        for stride in range(1, 5):
            for padding in range(kernel // 2 + 1):
                params = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
                result = infer_shapes(layer_graph("MaxPool1d", (0, 2, "T"), params))
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
    size = infer("Upsample", (0, 2, "T"), {"scale_factor": scale}).outputs["y"].shape[2]
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
    node = infer(type_name, shape, params)
    layer = next(layer for layer in FAMILY if layer.type == type_name)
    assert node.params is not None and layer.macs is not None and layer.flops_extra is not None
    out = concrete_shape(node.outputs["y"], shape[0])
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
