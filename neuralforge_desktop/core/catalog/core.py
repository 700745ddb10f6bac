"""Dense layers and structural no-ops."""

from __future__ import annotations

import math
from collections.abc import Mapping

from neuralforge_desktop.core.catalog.autograd_rules import linear_keeps, linear_temporaries
from neuralforge_desktop.core.catalog.kernels import Kernel, linear_kernel, runs_view
from neuralforge_desktop.core.catalog.memory_spec import (
    Autograd,
    Layout,
    Placement,
    Saved,
    reshaped,
    same_view,
    saves_nothing,
)
from neuralforge_desktop.core.catalog.shape_utils import concrete, mul_dims, normalize_axis, numel
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
from neuralforge_desktop.core.ir.types import TensorSpec

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]


def _linear_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    concrete("x", spec, -1, "feature size")
    return {"y": spec.with_shape(spec.shape[:-1] + (p.out_features,))}


def _linear_params(p: Params, x: Specs) -> int:
    fan_in = concrete("x", x["x"], -1, "feature size")
    return fan_in * p.out_features + (p.out_features if p.bias else 0)


def _linear_weight(p: Params, x: Specs) -> int:
    return concrete("x", x["x"], -1, "feature size") * p.out_features


def _linear_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel]:
    return (linear_kernel(numel(y, "y") // p.out_features, x["x"][-1], p.out_features),)
def _linear_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    shape = x["x"]
    return linear_keeps("x", shape, grad.layout("x"), grad.needs("x"), grad.trains_params, p.bias, p.out_features)


def _flatten_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    shape = x["x"]
    rank = len(shape)
    start, end = p.start_dim % max(rank, 1), p.end_dim % max(rank, 1)
    if start >= end:
        return same_view(p, x, layout)  # nothing merged: x itself
    merged = (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])
    return reshaped(shape, merged, layout)


LINEAR = LayerDef(
    type="Linear",
    category="Dense",
    title="Linear (Dense)",
    description="matrix multiply + bias",
    math=r"$y = x W^{\top} + b$",
    help="Fully connected layer: every output feature is a weighted sum of all input features. "
    "in_features comes from the incoming tensor's last dimension.",
    params=(
        ParamSpec("out_features", "int", 128, "number of output features", minimum=1),
        ParamSpec("bias", "bool", True, "learn an additive bias"),
    ),
    inputs=(PortSpec("x", ranks=(2, 3, 4, 5), layout="(N, …, features)"),),
    shape=_linear_shape,
    param_count=_linear_params,
    macs=lambda p, x, y: numel(y, "y") * x["x"][-1],
    torch=TorchCall(
        module="nn.Linear",
        init=lambda p, x: {"in_features": x["x"].shape[-1], "out_features": p.out_features, "bias": p.bias},
        positional=2,
        defaults={"bias": True},
    ),
    keras=KerasCall(
        layer="layers.Dense",
        init=lambda p, x: {"units": p.out_features, "use_bias": p.bias},
        positional=1,
        defaults={"use_bias": True},
        load=lambda p, x: "{self}.set_weights([{weight}.T, {bias}])" if p.bias else "{self}.set_weights([{weight}.T])",
    ),
    simple=True,
    examples=(
        Example({"x": ((2, 20), "float32")}, {"out_features": 7}),
        Example({"x": ((2, 5, 16), "float32")}, {"out_features": 4, "bias": False}),
    ),
    traits=frozenset({Trait.DENSE}),
    param_sizes={"weight": _linear_weight, "bias": lambda p, x: p.out_features if p.bias else 0},
    summary=lambda p: f"→ {p.get('out_features')}",
    latency=_linear_kernels,
    saves=_linear_saves,
    scratch=lambda p, x, y, grad: linear_temporaries(x["x"], grad.layout("x"), p.bias, numel(y, "y")),
)


IDENTITY = LayerDef(
    type="Identity",
    category="Structure",
    description="passes the input through unchanged",
    math="$y = x$",
    inputs=(PortSpec("x", dtype="any"),),
    shape=lambda p, x: {"y": x["x"]},
    torch=TorchCall(forward="{y} = {x}"),
    keras=KerasCall(call="{y} = {x}", doc="keras.layers.Identity"),
    examples=(Example({"x": ((2, 3, 4), "float32")}),),
    traits=frozenset({Trait.NO_KERNEL, Trait.PASS_THROUGH}),
    latency=lambda p, x, y: (),  # the forward step only renames the tensor: no torch call at all
    saves=saves_nothing,
    layout=same_view,
)


def _flatten_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    rank = spec.rank
    start = normalize_axis(p.start_dim, rank, "x", spec, "start_dim")
    end = normalize_axis(p.end_dim, rank, "x", spec, "end_dim")
    if end < start:
        from neuralforge_desktop.core.diagnostics import ShapeError

        raise ShapeError("x", f"end_dim ({p.end_dim}) at or after start_dim ({p.start_dim})", str(spec.shape))
    merged = mul_dims(spec.shape[start : end + 1])
    return {"y": spec.with_shape(spec.shape[:start] + (merged,) + spec.shape[end + 1 :])}


def _keras_flatten(p: Params, spec: TensorSpec) -> str:
    """keras.layers.Flatten would follow the configured image data format; a reshape always merges in order.
    With fixed sizes after the batch the batch is the -1, so the model also runs on a batch size unknown
    until it runs (an exported model's)."""
    rank = spec.rank
    start, end = p.start_dim % rank, p.end_dim % rank
    sizes = spec.shape[1:]
    if start >= 1 and all(isinstance(d, int) for d in sizes):
        merged = math.prod(int(d) for d in spec.shape[start:end + 1])
        kept = (*spec.shape[1:start], merged, *spec.shape[end + 1:])
        return f"{{y}} = ops.reshape({{x}}, (-1, {', '.join(str(d) for d in kept)}))"
    head = f"ops.shape({{x}})[:{start}] + " if start else ""
    tail = f" + ops.shape({{x}})[{end + 1}:]" if end < rank - 1 else ""
    return f"{{y}} = ops.reshape({{x}}, {head}(-1,){tail})"


FLATTEN = LayerDef(
    type="Flatten",
    category="Reshape",
    description="lays the feature map out as one long vector per sample",
    math=r"$y[n] = \operatorname{vec}(x[n])$",
    help="Merges dimensions start_dim…end_dim into one; by default everything except the batch.",
    params=(
        ParamSpec("start_dim", "int", 1, "first dimension to merge"),
        ParamSpec("end_dim", "int", -1, "last dimension to merge"),
    ),
    inputs=(PortSpec("x", dtype="any"),),
    shape=_flatten_shape,
    torch=TorchCall(forward=lambda p: "{y} = torch.flatten({x}, {start_dim})" if p.end_dim == -1
                    else "{y} = torch.flatten({x}, {start_dim}, {end_dim})"),
    keras=KerasCall(call=lambda p, x: _keras_flatten(p, x["x"]), doc="keras.layers.Flatten"),
    simple=True,
    examples=(Example({"x": ((2, 3, 4, 5), "float32")}), Example({"x": ((2, 3, 4, 5), "float32")}, {"end_dim": 2})),
    traits=frozenset({Trait.NO_KERNEL, Trait.FLATTENS}),
    latency=runs_view,
    saves=saves_nothing,
    layout=_flatten_layout,
)

LAYERS = [LINEAR, IDENTITY, FLATTEN]
