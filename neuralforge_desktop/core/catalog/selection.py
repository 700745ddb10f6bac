"""Splitting and selecting: equal pieces (Split), a range (Slice) and one position (Select) along a dimension.

All three are views of their input. Along the batch dimension N, whose size changes from run to run, Select
and Slice are refused and Split needs a size divisible for every batch size; a named size such as T is assumed
to be large enough and divisible.
"""

from __future__ import annotations

import re

from neuralforge_desktop.core.catalog.kernels import runs_view
from neuralforge_desktop.core.catalog.memory_spec import Layout, Placement, saves_nothing
from neuralforge_desktop.core.catalog.shape_utils import batch_sized, normalize_axis
from neuralforge_desktop.core.catalog.spec import KerasCall, LayerDef, Params, ParamSpec, PortSpec, TorchCall
from neuralforge_desktop.core.catalog.tensor_ops import _X, Shapes, Specs, _ex
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.dim_algebra import canonical_dim
from neuralforge_desktop.core.ir.types import BATCH, Dim, TensorSpec, describe_shape, dim_expr

_NAMES = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _subscript(dim: int, item: str) -> str:
    """Indexing text applying ``item`` at ``dim``: ``(1, "0")`` → ``[:, 0]``, ``(-2, "1:")`` → ``[..., 1:, :]``."""
    return f"[{':, ' * dim}{item}]" if dim >= 0 else f"[..., {item}{', :' * (-dim - 1)}]"


def _split_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axis = normalize_axis(p.dim, spec.rank, "x", spec)
    size = spec.shape[axis]
    # A named size such as T is assumed divisible; a size computed from one (T//2, 2*N) must be, for every value
    # of its symbols, and so must the batch size N.
    if isinstance(size, int):
        divisible = size % p.num_outputs == 0
    else:
        divisible = (size.isidentifier() and size != BATCH) or canonical_dim(f"({size})%{p.num_outputs}") == 0
    if not divisible:
        raise ShapeError("x", f"a size at dim {p.dim} divisible by num_outputs ({p.num_outputs})"
                         + ("" if isinstance(size, int) else " whatever its symbols' values"),
                         describe_shape(spec.shape), field="num_outputs")
    shape = list(spec.shape)
    shape[axis] = dim_expr(size, f"{{}}//{p.num_outputs}")
    out = spec.with_shape(shape)
    return {f"y{i}": out for i in range(p.num_outputs)}


def _split_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    dim = p.dim % len(shape)
    piece = list(shape)
    piece[dim] = shape[dim] // p.num_outputs
    return Placement(view=True, layout=layout.narrowed(shape, piece, dim))


SPLIT = LayerDef(
    type="Split",
    category="Split & select",
    description="cuts a tensor into equal pieces along one dimension",
    math=r"$y_i = x[\ldots, i s : (i + 1) s, \ldots]$" "\n" r"with $s$ = size / num_outputs",
    help="Equal chunks, like torch.chunk: the size at dim must be divisible by num_outputs (a named size such "
    "as T is assumed to be; the batch size N and a size computed from symbols, such as T//2, must be for every "
    "value). Splitting a projection into query, key and value is a typical use.",
    params=(
        ParamSpec("dim", "int", -1, "dimension to cut"),
        ParamSpec("num_outputs", "int", 2, "number of equal pieces", minimum=2, maximum=16),
    ),
    inputs=(_X,),
    outputs=(PortSpec("y", dtype="any", variadic=True, count_param="num_outputs"),),
    shape=_split_shape,
    torch=TorchCall(forward="{y} = torch.chunk({x}, {num_outputs}, dim={dim})"),
    keras=KerasCall(call="{y} = ops.split({x}, {num_outputs}, axis={dim})"),
    examples=(_ex((2, 3, 8)), _ex((2, 6, 4), dim=1, num_outputs=3)),
    saves=saves_nothing,
    layout=_split_layout,
    latency=runs_view,  # views of the input: only the call costs
)


def _slice_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axis = normalize_axis(p.dim, spec.rank, "x", spec)
    size = spec.shape[axis]
    whole = p.start == 0 and p.end is None and p.step == 1
    if isinstance(size, int):
        length: Dim = len(range(*slice(p.start, p.end, p.step).indices(size)))
    elif whole:
        length = size
    elif batch_sized(size):  # which samples a range keeps changes with the batch size (and may be none)
        raise ShapeError("x", f"a dim other than the batch N to slice (dim {p.dim} has size {size})",
                         describe_shape(spec.shape), field="dim")
    else:
        # each bound either counts from the symbolic end or not; bounds are assumed to lie inside the size
        start_from_end, end_from_end = p.start < 0, p.end is None or p.end < 0
        if start_from_end and not end_from_end:
            raise ShapeError("x", f"a fixed size at dim {p.dim} to slice from a negative start to a positive end",
                             describe_shape(spec.shape), field="start")
        span = (p.end or 0) - p.start + p.step - 1
        if end_from_end and not start_from_end:
            offset = f"{span:+d}" if span else ""
            if p.step > 1:
                length = dim_expr(size, f"({{}}{offset})//{p.step}")
            else:
                length = dim_expr(size, f"{{}}{offset}") if offset else size
        else:
            length = span // p.step
    if isinstance(length, int) and length < 1:
        stop = "" if p.end is None else p.end
        raise ShapeError("x", f"a non-empty slice {p.start}:{stop}:{p.step} at dim {p.dim}",
                         describe_shape(spec.shape), field="start" if p.end is None else "end")
    shape = list(spec.shape)
    shape[axis] = length
    return {"y": spec.with_shape(shape)}


def _slice_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    dim = p.dim % len(shape)
    piece = list(shape)
    piece[dim] = len(range(*slice(p.start, p.end, p.step).indices(shape[dim])))
    return Placement(view=True, layout=layout.narrowed(shape, piece, dim, p.step))


def _select_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    return Placement(view=True, layout=layout.without(x["x"], p.dim % len(x["x"])))


def _slice_forward(p: Params) -> str:
    start = str(p.start) if p.start else ""
    end = "" if p.end is None else str(p.end)
    step = f":{p.step}" if p.step != 1 else ""
    return f"{{y}} = {{x}}{_subscript(p.dim, f'{start}:{end}{step}')}"


SLICE = LayerDef(
    type="Slice",
    category="Split & select",
    description="keeps a range of positions along one dimension",
    math=r"$y = x[\ldots, \mathrm{start} : \mathrm{end} : \mathrm{step}, \ldots]$",
    help="Python slicing along dim: positions start, start+step, … before end (no end = to the last). "
    "Negative positions count from the end.",
    params=(
        ParamSpec("dim", "int", 1, "dimension to slice"),
        ParamSpec("start", "int", 0, "first position kept (negative counts from the end)"),
        ParamSpec("end", "int", None, "position to stop before; empty = to the end", optional=True),
        ParamSpec("step", "int", 1, "keep every step-th position", minimum=1),
    ),
    inputs=(_X,),
    shape=_slice_shape,
    torch=TorchCall(forward=_slice_forward),
    keras=KerasCall(call=lambda p, x: _slice_forward(p), doc="tensor[start:end:step]"),
    examples=(
        _ex((2, 5, 3)), _ex((2, 10, 3), start=2, end=8, step=2), _ex((2, 10, 3), start=-3), _ex((2, 10, 3), end=-1),
        _ex((2, 3, 10), dim=-1, start=1, end=100, step=3), _ex((2, 4, 6, 3), dim=-2, start=1, end=4),
    ),
    saves=saves_nothing,
    layout=_slice_layout,
    latency=runs_view,  # views of the input: only the call costs
)


def _select_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axis = normalize_axis(p.dim, spec.rank, "x", spec)
    size = spec.shape[axis]
    if isinstance(size, int) and not -size <= p.index < size:
        raise ShapeError("x", f"index {p.index} within the size at dim {p.dim}", describe_shape(spec.shape),
                         field="index")
    if batch_sized(size):  # which sample an index names changes with the batch size (and may not exist)
        raise ShapeError("x", f"a dim other than the batch N to select from (dim {p.dim} has size {size})",
                         describe_shape(spec.shape), field="dim")
    return {"y": spec.with_shape(spec.shape[:axis] + spec.shape[axis + 1:])}


SELECT = LayerDef(
    type="Select",
    category="Split & select",
    description="takes one position along a dimension and drops that dimension, e.g. the first (CLS) token",
    math=r"$y = x[\ldots, \mathrm{index}, \ldots]$",
    help="x.select(dim, index): index 0 is the first position, -1 the last (the last time step of a sequence). "
    "Not along the batch dimension N, whose size changes from run to run.",
    params=(
        ParamSpec("dim", "int", 1, "dimension to pick from"),
        ParamSpec("index", "int", 0, "position to keep (negative counts from the end)"),
    ),
    inputs=(_X,),
    shape=_select_shape,
    torch=TorchCall(forward=lambda p: f"{{y}} = {{x}}{_subscript(p.dim, str(p.index))}"),
    keras=KerasCall(call=lambda p, x: f"{{y}} = {{x}}{_subscript(p.dim, str(p.index))}", doc="tensor[index]"),
    examples=(
        _ex((2, 5, 3)), _ex((2, 5, 3), index=-1), _ex((2, 5, 3), dim=-1, index=2), _ex((2, 5, 3, 4), dim=-2, index=1),
    ),
    saves=saves_nothing,
    layout=_select_layout,
    latency=runs_view,  # views of the input: only the call costs
)


LAYERS = [SPLIT, SLICE, SELECT]
