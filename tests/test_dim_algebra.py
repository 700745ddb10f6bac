"""Symbolic sizes in canonical form: equal sizes are spelled the same, and the spelling means the same size."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.dim_algebra import add_dims, canonical_dim, multiply_dims
from neuralforge_desktop.core.ir.types import dims_equal, evaluate_dim_expression, resolve_dim


@pytest.mark.parametrize(("text", "expected"), [
    ("(N+-1)//1+1", "N"),           # a 1-wide window with no padding gives the size back
    ("(2*T)//2", "T"),
    ("(2*T+3)//2", "T+1"),          # (c·P + b)//c = P + b//c for every integer P
    ("(4*T+6)//2", "2*T+3"),
    ("T+T+4", "2*T+4"),
    ("(2*T)%2+T", "T"),
    ("T*1", "T"),
    ("T-T", 0),
    ("3*(T//2)-((T//2)*3)", 0),
    ("(T-3)//2+1", "(T-3)//2+1"),   # not exact: kept, in one spelling
    ("1+(T+-3)//2", "(T-3)//2+1"),
    ("T*N", "N*T"),
])
def test_canonical_spelling(text: str, expected: int | str) -> None:
    assert canonical_dim(text) == expected
    assert canonical_dim(str(expected)) == expected  # the canonical form is a fixed point


def test_sums_and_products_are_canonical() -> None:
    assert add_dims(["T", "T", 4]) == add_dims([4, "2*T"]) == "2*T+4"
    assert multiply_dims([8, "T"]) == multiply_dims(["T", 2, 4]) == "8*T"
    assert multiply_dims([3, 4]) == 12
    assert dims_equal("(N+-1)//1+1", "N") and dims_equal("T+T", "2*T") and not dims_equal("T", "T+1")


_atoms = st.sampled_from(["T", "N", "S"]) | st.integers(-4, 9).map(str)


def _expressions(depth: int = 3) -> st.SearchStrategy[str]:
    return st.recursive(_atoms, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(inner, st.sampled_from(["//", "%"]), st.integers(1, 5)).map(lambda t: f"({t[0]}){t[1]}{t[2]}"),
    ), max_leaves=depth * 3)


@settings(max_examples=300, deadline=None)
@given(_expressions(), st.integers(-6, 20), st.integers(1, 9), st.integers(0, 5))
def test_canonical_form_evaluates_to_the_same_size(text: str, t: int, n: int, s: int) -> None:
    bindings = {"T": t, "N": n, "S": s}
    canonical = canonical_dim(text)
    assert resolve_dim(canonical, bindings) == evaluate_dim_expression(text, bindings)
    assert canonical_dim(str(canonical)) == canonical


def test_padded_convolution_over_the_batch_axis_broadcasts_with_it() -> None:
    """A size that is the batch size again after arithmetic is the batch size: the graph is valid, as in torch."""
    c = Composer("batch-axis")
    x = c.input("x", [8])                                         # (N, 8)
    x = c.layer("Permute", x, "swap", dims=[1, 0])                # (8, N)
    x = c.layer("Unsqueeze", x, "one", dim=0)                     # (1, 8, N): the batch axis is now spatial
    conv = c.layer("Conv1d", x, "conv", out_channels=8, kernel_size=3, padding=1)  # (1, 8, (N+2-3)//1+1)
    c.output(c.layer("Add", [conv, x], "sum"), "y")
    graph = c.done()
    shapes = ShapeInference(graph).run()
    assert shapes.ok, [d.message for d in shapes.errors]
    assert shapes.spec("conv").shape == (1, 8, "N") and shapes.spec("sum").shape == (1, 8, "N")
    out = build_model(graph, shapes)(torch.zeros(5, 8))
    assert tuple(out.shape) == (1, 8, 5)
