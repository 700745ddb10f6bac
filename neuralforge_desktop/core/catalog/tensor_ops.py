"""Tensor plumbing: reshape, permute, merge (concat, add, multiply), matmul and mean (split, slice and select are in
:mod:`.selection`).

None of these layers has weights. Shapes may be symbolic (``N`` for the batch, ``T`` for a sequence); rules
compute on symbols where the result is certain and say so when it is not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from neuralforge_desktop.core.catalog.autograd_rules import Operand, matmul_copies, matmul_keeps
from neuralforge_desktop.core.catalog.kernels import (
    Kernel,
    matmul_kernel,
    runs_copy,
    runs_elementwise,
    runs_reduce,
    runs_view,
)
from neuralforge_desktop.core.catalog.memory_spec import (
    Autograd,
    Layout,
    Placement,
    Saved,
    elementwise,
    reshaped,
    saves_nothing,
)
from neuralforge_desktop.core.catalog.shape_utils import broadcast, mul_dims, normalize_axis, numel
from neuralforge_desktop.core.catalog.spec import (
    Example,
    KerasCall,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    TorchCall,
    Trait,
)
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.dim_algebra import add_dims
from neuralforge_desktop.core.ir.types import Dim, DType, TensorSpec, describe_shape, dims_equal

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
_PRODUCT = re.compile(r"[A-Za-z_0-9]+(\*[A-Za-z_0-9]+)*")
_X = PortSpec("x", dtype="any", layout="(N, …)")
_VIEW = frozenset({Trait.NO_KERNEL})  # a view of the input: no kernel runs
_XS = PortSpec("x", dtype="any", layout="(N, …)", variadic=True, count_param="num_inputs")


def _f32(*shapes: tuple[int, ...]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Example inputs x0, x1, … (float32)."""
    return {f"x{i}": (shape, "float32") for i, shape in enumerate(shapes)}


def _ex(input_shape: tuple[int, ...], /, **params: object) -> Example:
    """An example with one float32 input ``x``."""
    return Example({"x": (input_shape, "float32")}, params)


def _ports(x: Specs, base: str = "x") -> list[tuple[str, TensorSpec]]:
    """The expanded variadic inputs in order: [("x0", spec), ("x1", spec), …]."""
    found = [(name, spec) for name, spec in x.items() if name.startswith(base) and name[len(base):].isdigit()]
    return sorted(found, key=lambda item: int(item[0][len(base):]))


def _promote(specs: Sequence[TensorSpec]) -> DType:
    """torch's type promotion between tensors of the kinds NeuralForge knows."""
    kinds = {s.dtype for s in specs}
    if len(kinds) == 1:
        return kinds.pop()
    floats = {d for d in kinds if d.is_float}
    if floats:
        return floats.pop() if len(floats) == 1 else DType.float32
    if DType.int64 in kinds:
        return DType.int64
    return DType.int32 if DType.int32 in kinds else DType.bool


def _sum_dims(dims: Sequence[Dim]) -> Dim:
    """Sum of dimensions, in canonical form; repeated symbols are counted (``T, T, 4`` → ``2*T+4``)."""
    return add_dims(dims)


def _factors(dim: Dim) -> tuple[int, list[str]]:
    """Split a dimension into its fixed factor and symbolic factors (``8*T`` → 8, [T])."""
    if isinstance(dim, int):
        return dim, []
    if not _PRODUCT.fullmatch(dim):
        return 1, [dim]
    fixed, symbols = 1, []
    for part in dim.split("*"):
        if part.isdigit():
            fixed *= int(part)
        else:
            symbols.append(part)
    return fixed, symbols


# -- reshaping ---------------------------------------------------------------------------------------


def _reshape_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    if spec.rank < 1:
        raise ShapeError("x", "a tensor with a batch dimension", describe_shape(spec.shape))
    target = tuple(p.shape)
    free = [d for d in target if d == -1 or isinstance(d, str)]
    bad = [d for d in target if isinstance(d, int) and d < 1 and d != -1]
    if bad or len(free) > 1 or "N" in target:
        raise ShapeError("x", "shape of sizes ≥ 1 with at most one -1 or named size (batch N is kept)",
                         f"shape {describe_shape(target)}", field="shape")
    in_fixed, in_symbols = 1, []
    for d in spec.shape[1:]:
        fixed, symbols = _factors(d)
        in_fixed *= fixed
        in_symbols += symbols
    t_fixed = math.prod(d for d in target if isinstance(d, int) and d > 0)
    for name in (d for d in target if isinstance(d, str)):
        if name not in in_symbols:
            raise ShapeError("x", f"an input containing the named size {name}", describe_shape(spec.shape),
                             field="shape")
        in_symbols.remove(name)
    per_sample = describe_shape(spec.shape[1:])
    if -1 not in target:
        if in_symbols or in_fixed != t_fixed:
            raise ShapeError("x", f"shape {describe_shape(target)} to hold the {mul_dims(spec.shape[1:])} elements "
                             f"of one sample {per_sample}", describe_shape(spec.shape), field="shape")
        return {"y": spec.with_shape((spec.shape[0],) + target)}
    if in_fixed % t_fixed:
        raise ShapeError("x", f"fixed sizes in shape {describe_shape(target)} whose product ({t_fixed}) divides the "
                         f"fixed part of one sample {per_sample}", describe_shape(spec.shape), field="shape")
    inferred = mul_dims([in_fixed // t_fixed, *in_symbols])
    return {"y": spec.with_shape((spec.shape[0],) + tuple(inferred if d == -1 else d for d in target))}


def _reshape_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    per_sample = math.prod(shape[1:])
    known = math.prod(d for d in p.shape if isinstance(d, int) and d > 0)
    free = per_sample // known if known else per_sample  # the -1 or named entry (at most one)
    target = (shape[0], *(d if isinstance(d, int) and d > 0 else free for d in p.shape))
    return reshaped(shape, target, layout)


def _keras_reshape(p: Params, spec: TensorSpec) -> str:
    """With fixed sizes after the batch every target size is known and the batch is the -1 (as for Flatten)."""
    if all(isinstance(d, int) for d in spec.shape[1:]):
        per_sample = math.prod(int(d) for d in spec.shape[1:])
        fixed = math.prod(d for d in p.shape if isinstance(d, int) and d > 0)
        sizes = "".join(f", {d if isinstance(d, int) and d > 0 else per_sample // fixed}" for d in p.shape)
        return f"{{y}} = ops.reshape({{x}}, (-1{sizes or ','}))"
    sizes = "".join(f", {-1 if isinstance(d, str) else d}" for d in p.shape)
    return f"{{y}} = ops.reshape({{x}}, (ops.shape({{x}})[0]{sizes}))"


def _reshape_forward(p: Params) -> str:
    sizes = "".join(f", {-1 if isinstance(d, str) else d}" for d in p.shape)
    return f"{{y}} = {{x}}.reshape({{x}}.shape[0]{sizes})"


RESHAPE = LayerDef(
    type="Reshape",
    category="Reshape",
    description="rearranges the values of each sample into a new shape (same values, same order)",
    math=r"$y[n] = \operatorname{reshape}(x[n], \mathrm{shape})$",
    help="Target shape excludes the batch dimension, which is kept. One entry may be -1 (worked out from the "
    "rest) or a named size such as T taken from the input.",
    params=(ParamSpec("shape", "dims", (-1,), "target shape without the batch dimension, e.g. [4, -1] or [T, 2, 4]"),),
    inputs=(_X,),
    shape=_reshape_shape,
    torch=TorchCall(forward=_reshape_forward),
    keras=KerasCall(call=lambda p, x: _keras_reshape(p, x["x"]), doc="keras.layers.Reshape"),
    examples=(_ex((2, 3, 4)), _ex((2, 15), shape=[3, 5]), _ex((2, 8, 3), shape=[4, -1, 2]), _ex((2, 1, 1), shape=[])),
    traits=_VIEW,
    saves=saves_nothing,
    layout=_reshape_layout,
    latency=runs_view,
)


def _permute_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    if len(p.dims) != spec.rank:
        raise ShapeError("x", f"rank {len(p.dims)} to match dims {describe_shape(p.dims)}",
                         describe_shape(spec.shape), field="dims")
    order = [normalize_axis(d, spec.rank, "x", spec, "dims") for d in p.dims]
    if sorted(order) != list(range(spec.rank)):
        raise ShapeError("x", f"dims that name each of the {spec.rank} dimensions once",
                         f"dims {describe_shape(p.dims)} for {describe_shape(spec.shape)}", field="dims")
    return {"y": spec.with_shape(tuple(spec.shape[d] for d in order))}


def _permute_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    return Placement(view=True, layout=layout.permuted(shape, [d % len(shape) for d in p.dims]))


def _transpose_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    dims = list(range(len(shape)))
    a, b = p.dim0 % len(shape), p.dim1 % len(shape)
    dims[a], dims[b] = dims[b], dims[a]
    return Placement(view=True, layout=layout.permuted(shape, dims))


PERMUTE = LayerDef(
    type="Permute",
    category="Reshape",
    description="reorders the dimensions, e.g. channels-first to channels-last",
    math=r"$y[i_{d_0}, i_{d_1}, \ldots] = x[i_0, i_1, \ldots]$" "\n" r"with $(d_0, d_1, \ldots)$ = dims",
    help="dims lists every dimension of the input once, batch (0) included: [0, 2, 3, 1] turns (N, C, H, W) "
    "into (N, H, W, C).",
    params=(ParamSpec("dims", "ints", (0, 2, 1), "new order of all dimensions, batch dimension 0 included"),),
    inputs=(_X,),
    shape=_permute_shape,
    torch=TorchCall(forward=lambda p: f"{{y}} = {{x}}.permute({', '.join(str(d) for d in p.dims)})"),
    keras=KerasCall(call=lambda p, x: f"{{y}} = ops.transpose({{x}}, {tuple(d % x['x'].rank for d in p.dims)})",
                    doc="keras.layers.Permute"),
    examples=(_ex((2, 3, 4)), _ex((2, 3, 4, 5), dims=[0, 2, 3, 1]), _ex((2, 3, 4, 5), dims=[0, -1, 1, 2])),
    saves=saves_nothing,
    layout=_permute_layout,
    latency=runs_view,
)


def _transpose_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    a = normalize_axis(p.dim0, spec.rank, "x", spec, "dim0")
    b = normalize_axis(p.dim1, spec.rank, "x", spec, "dim1")
    shape = list(spec.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return {"y": spec.with_shape(shape)}


TRANSPOSE = LayerDef(
    type="Transpose",
    category="Reshape",
    description="swaps two dimensions",
    math=r"$y[\ldots, i, \ldots, j, \ldots] = x[\ldots, j, \ldots, i, \ldots]$" "\n" r"$i$ at dim0, $j$ at dim1",
    help="Exchanges dimensions dim0 and dim1, e.g. (N, T, C) → (N, C, T) with 1 and 2.",
    params=(ParamSpec("dim0", "int", 1, "first dimension to swap"), ParamSpec("dim1", "int", 2, "second one")),
    inputs=(_X,),
    shape=_transpose_shape,
    torch=TorchCall(forward="{y} = {x}.transpose({dim0}, {dim1})"),
    keras=KerasCall(call="{y} = ops.swapaxes({x}, {dim0}, {dim1})"),
    examples=(_ex((2, 3, 4)), _ex((2, 3, 4, 5), dim0=-1, dim1=1)),
    saves=saves_nothing,
    layout=_transpose_layout,
    latency=runs_view,
)


def _squeeze_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axis = normalize_axis(p.dim, spec.rank, "x", spec)
    if spec.shape[axis] != 1:
        raise ShapeError("x", f"size 1 at dim {p.dim}", describe_shape(spec.shape), field="dim")
    return {"y": spec.with_shape(spec.shape[:axis] + spec.shape[axis + 1:])}


SQUEEZE = LayerDef(
    type="Squeeze",
    category="Reshape",
    description="removes a dimension of size 1",
    math="$y = x$ without dimension dim (of size 1)",
    help="Drops dimension dim, which must have size 1: (N, 1, L) → (N, L).",
    params=(ParamSpec("dim", "int", 1, "the size-1 dimension to remove"),),
    inputs=(_X,),
    shape=_squeeze_shape,
    torch=TorchCall(forward="{y} = {x}.squeeze({dim})"),
    keras=KerasCall(call="{y} = ops.squeeze({x}, axis={dim})"),
    examples=(_ex((2, 1, 5)), _ex((2, 5, 1), dim=-1)),
    traits=_VIEW,
    saves=saves_nothing,
    layout=lambda p, x, layout: Placement(True, layout.without(x["x"], p.dim % len(x["x"]))),
    latency=runs_view,
)


def _unsqueeze_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axis = normalize_axis(p.dim, spec.rank + 1, "x", spec)
    return {"y": spec.with_shape(spec.shape[:axis] + (1,) + spec.shape[axis:])}


UNSQUEEZE = LayerDef(
    type="Unsqueeze",
    category="Reshape",
    description="inserts a new dimension of size 1",
    math="$y = x$ with a size-1 dimension at dim",
    help="Adds a size-1 dimension at position dim of the output: (N, L) → (N, 1, L) with dim 1.",
    params=(ParamSpec("dim", "int", 1, "position of the new dimension in the output"),),
    inputs=(_X,),
    shape=_unsqueeze_shape,
    torch=TorchCall(forward="{y} = {x}.unsqueeze({dim})"),
    keras=KerasCall(call="{y} = ops.expand_dims({x}, {dim})"),
    examples=(_ex((2, 5)), _ex((2, 5), dim=-1), _ex((2, 5), dim=2)),
    traits=_VIEW,
    saves=saves_nothing,
    layout=lambda p, x, layout: Placement(True, layout.inserted(x["x"], p.dim % (len(x["x"]) + 1))),
    latency=runs_view,
)


# -- merging -----------------------------------------------------------------------------------------

_NUM_INPUTS = ParamSpec("num_inputs", "int", 2, "how many tensors to combine", minimum=2, maximum=16)


def _concat_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    ports = _ports(x)
    name0, first = ports[0]
    axis = normalize_axis(p.dim, first.rank, name0, first)
    for name, spec in ports[1:]:
        same = spec.rank == first.rank and all(
            dims_equal(a, b) for i, (a, b) in enumerate(zip(first.shape, spec.shape, strict=False)) if i != axis)
        if not same:
            raise ShapeError(name, f"the shape of {name0} {describe_shape(first.shape)} in every dimension "
                             f"except dim {p.dim}", describe_shape(spec.shape))
    shape = list(first.shape)
    shape[axis] = _sum_dims([spec.shape[axis] for _, spec in ports])
    return {"y": TensorSpec(tuple(shape), _promote([s for _, s in ports]))}


CONCAT = LayerDef(
    type="Concat",
    category="Merge",
    description="joins tensors end to end along one dimension",
    math=r"$y = [x_0 \,\|\, x_1 \,\|\, \ldots]$ along dim",
    help="All inputs must match in every dimension except dim; the output's dim is the sum. Along the "
    "channels (dim 1) this is how DenseNet and U-Net combine feature maps.",
    params=(ParamSpec("dim", "int", 1, "dimension to join along"), _NUM_INPUTS),
    inputs=(_XS,),
    shape=_concat_shape,
    torch=TorchCall(forward="{y} = torch.cat([{x}], dim={dim})"),
    keras=KerasCall(call="{y} = ops.concatenate([{x}], axis={dim})", doc="keras.layers.Concatenate"),
    examples=(
        Example(_f32((2, 3, 4), (2, 5, 4))),
        Example(_f32((2, 3, 1), (2, 3, 2), (2, 3, 3)), {"dim": -1, "num_inputs": 3}),
        Example(_f32((2, 3), (2, 3)), {"dim": 0}),
    ),
    saves=saves_nothing,
    latency=runs_copy,
)


def _keras_merge(x: Specs, operator: str, op: str) -> str:
    """``a + b + c`` where the inputs share a dtype; else nested ``ops.add`` calls, which promote dtypes as torch's
    operators do (TensorFlow's refuse mixed ones)."""
    ports = [name for name, _ in _ports(x)]
    if len({x[name].dtype for name in ports}) == 1:
        return "{y} = " + f" {operator} ".join(f"{{{name}}}" for name in ports)
    expression = f"{{{ports[0]}}}"
    for name in ports[1:]:
        expression = f"ops.{op}({expression}, {{{name}}})"
    return "{y} = " + expression


def _broadcast_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    ports = _ports(x)
    current = ports[0][1]
    for i, (name, spec) in enumerate(ports[1:], start=1):
        label = "x0" if i == 1 else f"x0…x{i - 1} broadcast to"
        current = TensorSpec(broadcast(current, spec, label, name), current.dtype)
    return {"y": TensorSpec(current.shape, _promote([s for _, s in ports]))}


def _elementwise_flops(p: Params, x: Shapes, y: Shapes) -> int:
    return (p.num_inputs - 1) * numel(y, "y")


_BROADCAST_HELP = " Shapes broadcast as in NumPy: sizes are matched from the last dimension and a size of 1 " \
    "(or a missing dimension) stretches to the other size."

def _partial_sums(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """x0 ∘ x1 ∘ …, left to right: each partial result lives until the next is made."""
    shape, partials = x["x0"], []
    for i in range(1, p.num_inputs - 1):
        shape = _broadcast_sizes(shape, x[f"x{i}"])
        partials.append(math.prod(shape))
    pairs = [a + b for a, b in zip(partials, partials[1:], strict=False)] or partials
    return [Saved.inner(max(pairs))] if pairs else []


ADD = LayerDef(
    type="Add",
    category="Merge",
    description="adds tensors element by element; adding a block's input to its output is a residual connection",
    math=r"$y = x_0 + x_1 + \cdots$",
    help="Element-wise sum." + _BROADCAST_HELP,
    params=(_NUM_INPUTS,),
    inputs=(_XS,),
    shape=_broadcast_shape,
    flops_extra=_elementwise_flops,
    torch=TorchCall(forward="{y} = {x| + }"),
    keras=KerasCall(call=lambda p, x: _keras_merge(x, "+", "add"), doc="keras.layers.Add"),
    examples=(
        Example(_f32((2, 3, 4), (2, 3, 4))), Example(_f32((2, 3, 4), (2, 3, 1))),
        Example(_f32((2, 1, 4), (2, 3, 1), (2, 3, 4)), {"num_inputs": 3}),
        Example({"x0": ((2, 3), "int64"), "x1": ((2, 3), "int64")}, int_high=5),
    ),
    saves=saves_nothing,
    layout=elementwise,
    scratch=_partial_sums,
    latency=runs_elementwise,
)

def _multiply_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """x0 * x1 * …, left to right: each product keeps one factor for the other factor's gradient."""
    kept: list[Saved] = []
    shape, needs, factor = x["x0"], grad.needs("x0"), Saved.input("x0")
    for i in range(1, p.num_inputs):
        port = f"x{i}"
        if needs:
            kept.append(Saved.input(port))
        if grad.needs(port):
            kept.append(factor)
        shape = _broadcast_sizes(shape, x[port])
        needs = needs or grad.needs(port)
        factor = Saved.inner(math.prod(shape))  # the running product: a new tensor
    return kept


def _broadcast_sizes(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    return tuple(max(i, j) if 1 in (i, j) else i for i, j in zip(a, b, strict=True))


MULTIPLY = LayerDef(
    type="Multiply",
    category="Merge",
    description="multiplies tensors element by element, e.g. a gate scaling features",
    math=r"$y = x_0 \odot x_1 \odot \cdots$",
    help="Element-wise product." + _BROADCAST_HELP,
    params=(_NUM_INPUTS,),
    inputs=(_XS,),
    shape=_broadcast_shape,
    flops_extra=_elementwise_flops,
    torch=TorchCall(forward="{y} = {x| * }"),
    keras=KerasCall(call=lambda p, x: _keras_merge(x, "*", "multiply"), doc="keras.layers.Multiply"),
    examples=(
        Example(_f32((2, 3, 4), (2, 3, 4))), Example(_f32((2, 8, 5, 5), (2, 8, 1, 1))),
        Example(_f32((2, 4), (2, 1), (2, 4)), {"num_inputs": 3}),
    ),
    saves=_multiply_saves,
    layout=elementwise,
    scratch=_partial_sums,
    latency=runs_elementwise,
)


def _matmul_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    a, b = x["a"], x["b"]
    for name, spec in (("a", a), ("b", b)):
        if spec.rank < 1:
            raise ShapeError(name, "a tensor of rank 1 or more", describe_shape(spec.shape))
    a_shape = (1,) + a.shape if a.rank == 1 else a.shape
    b_shape = b.shape + (1,) if b.rank == 1 else b.shape
    if not dims_equal(a_shape[-1], b_shape[-2]):
        where = "size" if b.rank == 1 else "dim -2"
        raise ShapeError("b", f"{where} {a_shape[-1]} to match the last dim of a {describe_shape(a.shape)}",
                         describe_shape(b.shape))
    try:
        batch = broadcast(a.with_shape(a_shape[:-2]), b.with_shape(b_shape[:-2]), "a", "b")
    except ShapeError:
        raise ShapeError("b", f"batch dims (all but the last two) broadcastable with a {describe_shape(a.shape)}",
                         describe_shape(b.shape)) from None
    shape = batch + ((a_shape[-2],) if a.rank > 1 else ()) + ((b_shape[-1],) if b.rank > 1 else ())
    return {"y": TensorSpec(shape, a.dtype)}


def _matmul_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    a, b = (Operand(x[port], grad.needs(port), grad.layout(port), Saved.input(port)) for port in ("a", "b"))
    return matmul_keeps(a, b)


def _matmul_scratch(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    a, b = (Operand(x[port], False, grad.layout(port), Saved.input(port)) for port in ("a", "b"))
    return matmul_copies(a, b)


def _matmul_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel]:
    a, b = x["a"], x["b"]
    m = a[-2] if len(a) > 1 else 1
    n = b[-1] if len(b) > 1 else 1
    batch = math.prod(y["y"]) // max(1, m * n)
    return (matmul_kernel(m, a[-1], n, batch),)


MATMUL = LayerDef(
    type="MatMul",
    category="Math",
    description="matrix product of two tensors (batched over leading dimensions), as in attention scores",
    math=r"$y[\ldots, i, j] = \sum_k a[\ldots, i, k]\, b[\ldots, k, j]$",
    help="torch.matmul: the last dim of a must equal the second-to-last of b; leading dims broadcast. A 1-D "
    "operand is treated as a vector and its dimension is removed from the result.",
    inputs=(PortSpec("a", layout="(…, n, k)"), PortSpec("b", layout="(…, k, m)")),
    shape=_matmul_shape,
    macs=lambda p, x, y: numel(y, "y") * x["a"][-1],
    torch=TorchCall(forward="{y} = {a} @ {b}"),
    keras=KerasCall(call="{y} = ops.matmul({a}, {b})"),
    examples=(
        Example({"a": ((2, 3, 4), "float32"), "b": ((2, 4, 5), "float32")}),
        Example({"a": ((2, 1, 3, 4), "float32"), "b": ((2, 5, 4, 2), "float32")}),
    ),
    saves=_matmul_saves,
    scratch=_matmul_scratch,
    latency=_matmul_kernels,
)


# -- reductions --------------------------------------------------------------------------------------


def _mean_axes(p: Params, spec: TensorSpec) -> list[int]:
    axes = [normalize_axis(d, spec.rank, "x", spec) for d in p.dim]
    if not axes or len(set(axes)) != len(axes):
        raise ShapeError("x", "one or more distinct dimensions to average over",
                         f"dim {describe_shape(p.dim)} for {describe_shape(spec.shape)}", field="dim")
    return axes


def _mean_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    axes = set(_mean_axes(p, spec))
    if p.keepdim:
        shape = tuple(1 if i in axes else d for i, d in enumerate(spec.shape))
    else:
        shape = tuple(d for i, d in enumerate(spec.shape) if i not in axes)
    return {"y": spec.with_shape(shape)}


def _mean_forward(p: Params) -> str:
    dims = str(p.dim[0]) if len(p.dim) == 1 else "(" + ", ".join(str(d) for d in p.dim) + ")"
    keep = ", keepdim=True" if p.keepdim else ""
    return f"{{y}} = {{x}}.mean(dim={dims}{keep})"


def _keras_mean(p: Params) -> str:
    dims = str(p.dim[0]) if len(p.dim) == 1 else "(" + ", ".join(str(d) for d in p.dim) + ")"
    keep = ", keepdims=True" if p.keepdim else ""
    return f"{{y}} = ops.mean({{x}}, axis={dims}{keep})"


MEAN = LayerDef(
    type="Mean",
    category="Math",
    description="averages over the chosen dimensions, e.g. over the sequence to get one vector per sample",
    math=r"$y = \frac{1}{|S|} \sum_{i \in S} x_i$" "\n" r"$S$: the dims averaged over",
    help="Mean over dims; with keepdim the averaged dimensions stay with size 1.",
    params=(
        ParamSpec("dim", "ints", (1,), "dimensions to average over, e.g. [1] or [2, 3]"),
        ParamSpec("keepdim", "bool", False, "keep the averaged dimensions with size 1"),
    ),
    inputs=(PortSpec("x", layout="(N, …)"),),
    shape=_mean_shape,
    flops_extra=lambda p, x, y: numel(x, "x"),
    torch=TorchCall(forward=_mean_forward),
    keras=KerasCall(call=lambda p, x: _keras_mean(p), doc="keras.ops.mean"),
    examples=(_ex((2, 5, 3)), _ex((2, 3, 4, 5), dim=[2, 3], keepdim=True), _ex((2, 3, 4), dim=[-1])),
    saves=saves_nothing,
    latency=runs_reduce,
)

LAYERS = [RESHAPE, PERMUTE, TRANSPOSE, SQUEEZE, UNSQUEEZE, CONCAT, ADD, MULTIPLY, MATMUL, MEAN]
