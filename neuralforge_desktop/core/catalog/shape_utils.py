"""Pure helpers for shape rules and cost rules. Errors quote what was received."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.dim_algebra import multiply_dims
from neuralforge_desktop.core.ir.types import BATCH, Dim, TensorSpec, describe_shape, dim_expr, dims_equal

_NAMES = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def batch_sized(size: Dim) -> bool:
    """Whether a size grows with the batch size N (``N``, ``2*N``, ``(N-1)//2``): it can be as small as 1."""
    return isinstance(size, str) and BATCH in _NAMES.findall(size)


def concrete(port: str, spec: TensorSpec, axis: int, what: str) -> int:
    """The size of ``axis`` as an int; symbolic sizes cannot define weights (``in_features`` …)."""
    dim = spec.shape[axis]
    if not isinstance(dim, int):
        raise ShapeError(port, f"a fixed {what} (dimension {axis})", describe_shape(spec.shape))
    return dim


def window_out(size: Dim, kernel: int, stride: int, padding: int, dilation: int, port: str, spec: TensorSpec,
               ceil_mode: bool = False) -> Dim:
    """Output length of a sliding window (convolution or pooling), as torch computes it."""
    span = dilation * (kernel - 1)
    if isinstance(size, int):
        numerator = size + 2 * padding - span - 1
        out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
        if ceil_mode and (out - 1) * stride >= size + padding:
            out -= 1
        if out < 1:
            raise ShapeError(
                port,
                f"a spatial size of at least {span + 1 - 2 * padding} for kernel {kernel}"
                + (f", dilation {dilation}" if dilation != 1 else "")
                + (f", padding {padding}" if padding else ""),
                describe_shape(spec.shape),
            )
        return out
    needed = span + 1 - 2 * padding
    if needed > 1 and batch_sized(size):
        # a named length (T) is taken to be long enough; a size that follows the batch can be 1
        raise ShapeError(port, f"a fixed or named spatial size for kernel {kernel} (at least {needed}): "
                         f"{size} follows the batch size N, which may be smaller", describe_shape(spec.shape))
    return dim_expr(size, f"({{}}+{2 * padding - span - 1})//{stride}+1")


def transposed_out(size: Dim, kernel: int, stride: int, padding: int, output_padding: int, dilation: int) -> Dim:
    tail = dilation * (kernel - 1) + output_padding + 1 - 2 * padding
    if isinstance(size, int):
        return (size - 1) * stride + tail
    return dim_expr(size, f"({{}}-1)*{stride}+{tail}")


def prod(values: Sequence[int]) -> int:
    return math.prod(values)


def numel(shapes: Mapping[str, tuple[int, ...]], port: str) -> int:
    return math.prod(shapes[port])


def total_numel(shapes: Mapping[str, tuple[int, ...]]) -> int:
    return sum(math.prod(s) for s in shapes.values())


def normalize_axis(axis: int, rank: int, port: str, spec: TensorSpec, field: str = "dim") -> int:
    if not -rank <= axis < rank:
        raise ShapeError(port, f"{field}={axis} to be within rank {rank}", describe_shape(spec.shape), field=field)
    return axis % rank


def mul_dims(dims: Sequence[Dim]) -> Dim:
    """Product of dimensions; symbolic factors make an expression (in canonical form: ``8*T``)."""
    if all(isinstance(d, int) for d in dims):
        return math.prod(d for d in dims if isinstance(d, int))
    return multiply_dims(dims)


def broadcast(a: TensorSpec, b: TensorSpec, port_a: str, port_b: str) -> tuple[Dim, ...]:
    """NumPy/torch broadcasting of two shapes; error names both."""
    ra, rb = a.shape[::-1], b.shape[::-1]
    out: list[Dim] = []
    for i in range(max(len(ra), len(rb))):
        da = ra[i] if i < len(ra) else 1
        db = rb[i] if i < len(rb) else 1
        if db == 1 or dims_equal(da, db):
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise ShapeError(
                port_b,
                f"a shape broadcastable with {port_a} {describe_shape(a.shape)}",
                describe_shape(b.shape),
            )
    return tuple(reversed(out))
