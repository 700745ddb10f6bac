"""Tensor-op entries (reshape, merge, matmul, split, slice, select, mean): per-layer cases.

Every case runs through the shared harness (``tests/layer_harness.py``): the product's shape inference and
the generated code executed. Generic checks of every example live in ``tests/test_catalog_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Params
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

from layer_harness import error_of, infer, layer_graph, run_generated, statement


def test_generated_statements_read_naturally() -> None:
    """The forward line the product writes; the layer node is ``node`` and each input is named after its port."""
    def line(type_name: str, inputs: dict[str, Any] | None = None, **params: Any) -> str:
        layer = catalog().get(type_name)
        ports = layer.input_ports(layer.validate_params(params)[0])
        return statement(type_name, inputs or {p.name: (2, 6, 4, 4) for p in ports}, params)

    assert line("Add", num_inputs=3) == "node = x0 + x1 + x2"
    assert line("Multiply") == "node = x0 * x1"
    assert line("Concat") == "node = torch.cat([x0, x1], dim=1)"
    assert line("Split", num_outputs=2) == "node, node_y1 = torch.chunk(x, 2, dim=-1)"
    assert line("Reshape", {"x": (0, "T", 8)}, shape=["T", 2, 4]) == "node = x.reshape(x.shape[0], -1, 2, 4)"
    assert line("Permute", dims=[0, 2, 3, 1]) == "node = x.permute(0, 2, 3, 1)"
    assert line("Slice", start=1) == "node = x[:, 1:]"
    assert line("Slice", dim=-2, end=-1, step=2) == "node = x[..., :-1:2, :]"
    assert line("Select", index=-1) == "node = x[:, -1]"
    assert line("Select", dim=-1, index=0) == "node = x[..., 0]"
    assert line("Mean") == "node = x.mean(dim=1)"
    assert line("Mean", dim=[2, 3], keepdim=True) == "node = x.mean(dim=(2, 3), keepdim=True)"
    assert line("MatMul", {"a": (2, 3, 4), "b": (2, 4, 5)}) == "node = a @ b"


# -- values, not just shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("type_name", "params", "reference"), [
    ("Slice", {"dim": 1, "start": 2, "end": 8, "step": 2}, lambda x: x[:, 2:8:2]),
    ("Slice", {"dim": -1, "start": -2}, lambda x: x.narrow(-1, x.shape[-1] - 2, 2)),
    ("Select", {"dim": 1, "index": -1}, lambda x: x.select(1, -1)),
    ("Select", {"dim": -2, "index": 1}, lambda x: x.select(-2, 1)),
    ("Reshape", {"shape": [5, -1]}, lambda x: x.reshape(2, 5, 24)),
    ("Permute", {"dims": [0, 3, 1, 2]}, lambda x: x.permute(0, 3, 1, 2)),
    ("Mean", {"dim": [1, 3]}, lambda x: x.mean(dim=(1, 3))),
])
def test_values_match_reference(type_name: str, params: dict[str, Any], reference: Any) -> None:
    x = torch.randn(2, 10, 3, 4)
    (y,) = run_generated(type_name, {"x": x}, params)
    torch.testing.assert_close(y, reference(x))


def test_split_pieces_are_the_chunks() -> None:
    x = torch.randn(2, 6, 4)
    node = infer("Split", {"x": ((2, 6, 4), "float32")}, {"dim": 1, "num_outputs": 3})
    pieces = run_generated("Split", {"x": x}, {"dim": 1, "num_outputs": 3})
    assert list(node.outputs) == ["y0", "y1", "y2"]
    for piece, chunk in zip(pieces, torch.chunk(x, 3, dim=1), strict=True):
        torch.testing.assert_close(piece, chunk)


# -- torch.matmul semantics with unbatched operands ------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), [
    ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((4,), (4,)),
    ((3, 4), (4, 6)),
])
def test_matmul_follows_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    layer = catalog().get("MatMul")
    node = infer(layer, {"a": (a, "float32"), "b": (b, "float32")}, batch=False)
    y = torch.randn(a) @ torch.randn(b)
    assert node.outputs["y"].shape == tuple(y.shape)
    assert layer.macs is not None
    inner = a[-1]
    assert layer.macs(Params(), {"a": a, "b": b}, {"y": tuple(y.shape)}) == y.numel() * inner


# -- symbolic dimensions ---------------------------------------------------------------------------------
def symbolic(type_name: str, inputs: Mapping[str, Sequence[Any]],
             params: Mapping[str, Any] | None = None) -> dict[str, tuple[Any, ...]]:
    """Infer with inputs given without batch (N is prepended); returns port → shape tuple."""
    node = infer(type_name, {port: ((0, *dims), "float32") for port, dims in inputs.items()}, params)
    return {port: spec.shape for port, spec in node.outputs.items()}


def test_reshape_symbolic() -> None:
    assert symbolic("Reshape", {"x": ["T", 8]}, {"shape": ["T", 2, 4]}) == {"y": ("N", "T", 2, 4)}
    assert symbolic("Reshape", {"x": ["T", 8]}, {"shape": [-1, 4]}) == {"y": ("N", "2*T", 4)}
    assert symbolic("Reshape", {"x": ["T", 8]}, {"shape": [-1]}) == {"y": ("N", "8*T")}
    assert symbolic("Reshape", {"x": ["T", 8]}, {"shape": [8, -1]}) == {"y": ("N", 8, "T")}
    # a flattened symbolic size (as Flatten writes it) can be split again
    layer = catalog().get("Reshape")
    params = layer.validate_params({"shape": ["T", 8]})[0]
    assert layer.shape(params, {"x": TensorSpec(("N", "8*T"))})["y"].shape == ("N", "T", 8)
    # the generated code replaces the named size by -1 and runs for any T
    (y,) = run_generated("Reshape", {"x": torch.randn(3, 5, 8)}, {"shape": ["T", 2, 4]},
                         shapes={"x": (0, "T", 8)})
    assert tuple(y.shape) == (3, 5, 2, 4)


def test_concat_along_symbolic_dim_sums() -> None:
    assert symbolic("Concat", {"x0": ["T", 4], "x1": ["T", 4]}) == {"y": ("N", "2*T", 4)}
    out = symbolic("Concat", {"x0": ["T", 4], "x1": [3, 4], "x2": ["T", 4]}, {"num_inputs": 3})["y"]
    assert out == ("N", "2*T+3", 4)
    assert resolve_dim(out[1], {"T": 5}) == torch.cat([torch.zeros(5), torch.zeros(3), torch.zeros(5)]).shape[0]
    assert symbolic("Concat", {"x0": ["T", 4], "x1": ["T", 6]}, {"dim": -1}) == {"y": ("N", "T", 10)}


def test_symbolic_merge_split_select_mean() -> None:
    assert symbolic("Add", {"x0": ["T", 8], "x1": [1, 8]}) == {"y": ("N", "T", 8)}
    assert symbolic("Multiply", {"x0": ["T", 8], "x1": ["T", 1]}) == {"y": ("N", "T", 8)}
    assert symbolic("MatMul", {"a": ["T", 8], "b": [8, "T"]}) == {"y": ("N", "T", "T")}
    assert symbolic("Split", {"x": ["T", 8]}) == {"y0": ("N", "T", 4), "y1": ("N", "T", 4)}
    assert symbolic("Split", {"x": ["T", 8]}, {"dim": 1}) == {"y0": ("N", "T//2", 8), "y1": ("N", "T//2", 8)}
    assert symbolic("Select", {"x": ["T", 8]}, {"index": -1}) == {"y": ("N", 8)}
    assert symbolic("Mean", {"x": ["T", 8]}) == {"y": ("N", 8)}
    assert symbolic("Mean", {"x": ["T", 8]}, {"keepdim": True}) == {"y": ("N", 1, 8)}
    assert symbolic("Transpose", {"x": ["T", 8]}) == {"y": ("N", 8, "T")}
    assert symbolic("Unsqueeze", {"x": ["T"]}) == {"y": ("N", 1, "T")}


@settings(max_examples=300, deadline=None)
@given(start=st.integers(-6, 6), end=st.one_of(st.none(), st.integers(-6, 6)), step=st.integers(1, 4),
       t=st.integers(6, 20))
def test_slice_symbolic_agrees_with_python(start: int, end: int | None, step: int, t: int) -> None:
    """Bounds within T: the symbolic length evaluated at T equals Python's slice length when non-empty."""
    params = {"start": start, "end": end, "step": step}
    result = infer_shapes(layer_graph("Slice", {"x": ((0, "T", 3), "float32")}, params))
    real = len(range(t)[start:end:step])
    if not result.ok:
        (diag,) = result.errors
        assert diag.field in ("start", "end") and "'node'" in diag.message
        assert real == 0 or (start < 0 <= (end if end is not None else -1))
        return
    length = resolve_dim(result.results["node"].outputs["y"].shape[1], {"T": t})
    if real > 0:  # a value of T that empties the slice cannot be foreseen from the symbol
        assert length == real


# -- errors name node, port, expectation and what was received -------------------------------------------
@pytest.mark.parametrize(("type_name", "inputs", "params", "port", "fragments"), [
    ("Concat", {"x0": (2, 3, 4), "x1": (2, 5, 6)}, {}, "x1", ["(N, 3, 4)", "(N, 5, 6)", "except dim 1"]),
    ("Concat", {"x0": (2, 3, 4), "x1": (2, 3)}, {}, "x1", ["(N, 3, 4)", "received (N, 3)"]),
    ("Concat", {"x0": (2, 3), "x1": (2, 3)}, {"dim": 2}, "x0", ["dim=2", "rank 2", "received (N, 3)"]),
    ("Add", {"x0": (2, 3, 4), "x1": (2, 3, 5)}, {}, "x1", ["broadcastable", "(N, 3, 4)", "received (N, 3, 5)"]),
    ("Add", {"x0": (2, 3, 1), "x1": (2, 1, 4), "x2": (2, 5, 4)}, {"num_inputs": 3}, "x2",
     ["(N, 3, 4)", "received (N, 5, 4)"]),
    ("Multiply", {"x0": (2, 8), "x1": (2, 4)}, {}, "x1", ["broadcastable", "received (N, 4)"]),
    ("Reshape", {"x": (2, 4, 4)}, {"shape": [3, 5]}, "x", ["(3, 5)", "16", "received (N, 4, 4)"]),
    ("Reshape", {"x": (2, 4, 5)}, {"shape": [3, -1]}, "x", ["(3, -1)", "divides", "received (N, 4, 5)"]),
    ("Reshape", {"x": (2, 4, 4)}, {"shape": [-1, -1]}, "x", ["at most one -1", "received shape (-1, -1)"]),
    ("Reshape", {"x": (2, 4, 4)}, {"shape": ["T", 4]}, "x", ["named size T", "received (N, 4, 4)"]),
    ("Permute", {"x": (2, 3, 4)}, {"dims": [0, 2, 3, 1]}, "x", ["rank 4", "received (N, 3, 4)"]),
    ("Permute", {"x": (2, 3, 4)}, {"dims": [0, 1, 1]}, "x", ["each of the 3 dimensions once", "(0, 1, 1)"]),
    ("Transpose", {"x": (2, 3)}, {}, "x", ["dim1=2", "received (N, 3)"]),
    ("Squeeze", {"x": (2, 3, 4)}, {}, "x", ["size 1 at dim 1", "received (N, 3, 4)"]),
    ("Unsqueeze", {"x": (2, 3)}, {"dim": 4}, "x", ["dim=4", "received (N, 3)"]),
    ("MatMul", {"a": (2, 3, 4), "b": (2, 5, 6)}, {}, "b", ["dim -2 4", "(N, 3, 4)", "received (N, 5, 6)"]),
    ("MatMul", {"a": (2, 7, 3, 4), "b": (2, 5, 4, 6)}, {}, "b", ["batch dims", "received (N, 5, 4, 6)"]),
    ("Split", {"x": (2, 3, 7)}, {}, "x", ["divisible by num_outputs (2)", "received (N, 3, 7)"]),
    ("Slice", {"x": (2, 5)}, {"start": 5}, "x", ["non-empty slice 5::1", "received (N, 5)"]),
    ("Slice", {"x": (2, 5)}, {"start": 3, "end": 1}, "x", ["non-empty slice 3:1:1", "received (N, 5)"]),
    ("Select", {"x": (2, 5, 3)}, {"index": 5}, "x", ["index 5", "received (N, 5, 3)"]),
    ("Mean", {"x": (2, 5, 3)}, {"dim": [1, -2]}, "x", ["distinct", "received dim (1, -2)"]),
    ("Mean", {"x": (2, 5, 3)}, {"dim": [3]}, "x", ["dim=3", "received (N, 5, 3)"]),
])
def test_errors_are_specific(type_name: str, inputs: dict[str, tuple[int, ...]], params: dict[str, Any], port: str,
                             fragments: list[str]) -> None:
    diag = error_of(type_name, {name: (shape, "float32") for name, shape in inputs.items()}, params)
    assert diag.message.startswith(f"{type_name} 'node' input '{port}'"), diag.message
    assert "expected" in diag.message and "received" in diag.message
    assert diag.port == port and diag.expected and diag.received
    for fragment in fragments:
        assert fragment in diag.message, (fragment, diag.message)


def test_symbolic_errors_say_why() -> None:
    diag = error_of("Concat", {"x0": ((0, "T", 4), "float32"), "x1": ((0, 5, 4), "float32")}, {"dim": -1})
    assert "(N, T, 4)" in diag.message and "received (N, 5, 4)" in diag.message
    diag = error_of("Slice", {"x": ((0, "T"), "float32")}, {"start": -3, "end": 2})
    assert "fixed size" in diag.message and "received (N, T)" in diag.message
    diag = error_of("Squeeze", {"x": ((0, "T", 4), "float32")})
    assert "size 1 at dim 1" in diag.message and "received (N, T, 4)" in diag.message


def test_param_validation() -> None:
    errors = catalog().get("Concat").validate_params({"num_inputs": 1})[1]
    assert [e.field for e in errors] == ["num_inputs"]
    errors = catalog().get("Slice").validate_params({"step": 0})[1]
    assert [e.field for e in errors] == ["step"]
    assert catalog().get("Slice").validate_params({})[0]["end"] is None


# -- costs -----------------------------------------------------------------------------------------------
def test_costs() -> None:
    def costs(type_name: str, ins: dict[str, tuple[int, ...]], outs: dict[str, tuple[int, ...]],
              **params: Any) -> tuple[int, int]:
        layer = catalog().get(type_name)
        p = layer.validate_params(params)[0]
        assert layer.macs is not None and layer.flops_extra is not None
        return layer.macs(p, ins, outs), layer.flops_extra(p, ins, outs)

    shape = (2, 3, 4)
    assert costs("Add", {"x0": shape, "x1": shape}, {"y": shape}) == (0, 24)
    assert costs("Add", {"x0": shape, "x1": shape, "x2": shape}, {"y": shape}, num_inputs=3) == (0, 48)
    assert costs("Multiply", {"x0": shape, "x1": (2, 3, 1)}, {"y": shape}) == (0, 24)
    assert costs("MatMul", {"a": (2, 3, 4), "b": (2, 4, 5)}, {"y": (2, 3, 5)}) == (2 * 3 * 5 * 4, 0)
    assert costs("Mean", {"x": shape}, {"y": (2, 4)}) == (0, 24)
    assert costs("Concat", {"x0": shape, "x1": shape}, {"y": (2, 6, 4)}) == (0, 0)
    assert costs("Reshape", {"x": shape}, {"y": (2, 12)}) == (0, 0)
