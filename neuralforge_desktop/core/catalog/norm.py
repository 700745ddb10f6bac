"""Normalisation layers: batch, layer, group and instance normalisation.

Feature counts (``num_features``, ``normalized_shape``, ``num_channels``) always come from the incoming
tensor; the user never types them.

Cost convention for this family:

* ``macs``: the learned affine scale-and-shift ``y = γ·x̂ + β`` is 1 multiply-accumulate per output element
  when the layer is affine, 0 otherwise. (At inference BatchNorm folds into ``y = a·x + b``, the same 1 MAC.)
* ``flops_extra``: the normalisation itself. Normalising a value is ``(x − μ) · r`` with ``r = 1/√(σ² + ε)``
  computed once per statistics group (negligible): :data:`NORMALISE_FLOPS` = 2 per element. When the
  statistics are computed from the input (LayerNorm, GroupNorm, and Batch/InstanceNorm without running
  statistics) they add :data:`STATISTICS_FLOPS` = 3 per element: one add for Σx and a multiply and an add for
  Σx² (variance as E[x²] − μ²). Batch/InstanceNorm with running statistics costs as at inference: 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.kernels import Kernel, runs_norm_affine, runs_norm_stats
from neuralforge_desktop.core.catalog.memory_spec import Autograd, Saved, contiguous_copy
from neuralforge_desktop.core.catalog.shape_utils import concrete, numel, prod
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
from neuralforge_desktop.core.ir.types import TensorSpec, describe_shape

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]

NORMALISE_FLOPS = 2  # (x − μ) · r per element
STATISTICS_FLOPS = 3  # Σx and Σx² per element, when statistics come from the input


# -- shared parameters -----------------------------------------------------------------------------------
def _eps() -> ParamSpec:
    return ParamSpec("eps", "float", 1e-5, "small number added to the variance to avoid dividing by zero",
                     minimum=0.0, advanced=True)


def _momentum() -> ParamSpec:
    return ParamSpec("momentum", "float", 0.1, "weight of the newest batch in the running statistics; "
                     "empty = a plain cumulative average", minimum=0.0, maximum=1.0, optional=True, advanced=True)


def _affine(default: bool) -> ParamSpec:
    return ParamSpec("affine", "bool", default, "learn a per-channel scale (γ) and shift (β)")


def _bias() -> ParamSpec:
    return ParamSpec("bias", "bool", True, "learn the shift β as well as the scale (only with the affine part)",
                     advanced=True)


def _track(default: bool) -> ParamSpec:
    return ParamSpec("track_running_stats", "bool", default, "keep running mean and variance for inference "
                     "(otherwise the statistics of each batch are used, also in evaluation)", advanced=True)


# -- shared rules ----------------------------------------------------------------------------------------
def _channels(x: Specs) -> int:
    return concrete("x", x["x"], 1, "channel count")


def _single_value_check(axes: slice, what: str) -> Callable[[Params, Specs], dict[str, TensorSpec]]:
    """A shape rule that also refuses statistics over one value (torch refuses to train on them): ``axes``
    picks the dimensions the statistics run over, besides the channel."""

    def rule(p: Params, x: Specs) -> dict[str, TensorSpec]:
        spec = x["x"]
        _channels(x)
        dims = [d for i, d in enumerate(spec.shape) if i != 1][axes]
        sizes = [d for d in dims if isinstance(d, int)]
        if len(sizes) == len(dims) and prod(sizes) == 1:  # a symbol (the batch N) may be larger
            raise ShapeError("x", f"more than one value per channel {what} to take statistics over in training",
                             describe_shape(spec.shape))
        return {"y": spec}

    return rule


def _affine_params(flag: str) -> Callable[[Params, Specs], int]:
    """Per-channel γ (and β when ``bias``) when ``p[flag]`` is set."""

    def count(p: Params, x: Specs) -> int:
        if not p[flag]:
            return 0
        return _channels(x) * (2 if p.bias else 1)

    return count


def _running_buffers(p: Params, x: Specs) -> int:
    """running_mean and running_var (C each) and num_batches_tracked (1 element)."""
    return 2 * _channels(x) + 1 if p.track_running_stats else 0


def _affine_macs(flag: str) -> Callable[[Params, Shapes, Shapes], int]:
    def macs(p: Params, x: Shapes, y: Shapes) -> int:
        return numel(y, "y") if p[flag] else 0

    return macs


def _running_stats_flops(p: Params, x: Shapes, y: Shapes) -> int:
    per_element = NORMALISE_FLOPS + (0 if p.track_running_stats else STATISTICS_FLOPS)
    return numel(x, "x") * per_element


def _computed_stats_flops(p: Params, x: Shapes, y: Shapes) -> int:
    return numel(x, "x") * (NORMALISE_FLOPS + STATISTICS_FLOPS)


def _running_norm_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel, ...]:
    """At inference, running statistics make the norm a per-channel scale and shift; without them the
    statistics are computed from the input."""
    return runs_norm_affine(p, x, y) if p.track_running_stats else runs_norm_stats(p, x, y)


def _batch_init(p: Params, x: Specs) -> dict[str, object]:
    return {
        "num_features": x["x"].shape[1],
        "eps": p.eps,
        "momentum": p.momentum,
        "affine": p.affine,
        "track_running_stats": p.track_running_stats,
        "bias": p.bias,
    }


# -- what backward keeps: the input and the statistics it was normalised with (mean and 1/σ per group) ------
def _batch_norm_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    channels = x["x"][1]
    return [Saved.input(), Saved.inner(channels, "float32"), Saved.inner(channels, "float32")]


def _layer_norm_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    rows = prod(x["x"][: len(x["x"]) - p.num_dims])
    return [Saved.input(), Saved.inner(rows, "float32"), Saved.inner(rows, "float32")]


def _group_norm_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    groups = x["x"][0] * p.num_groups
    # torch normalises a contiguous copy of a non-contiguous input, and keeps that
    return [grad.kept_contiguous("x", x["x"]), Saved.inner(groups, "float32"), Saved.inner(groups, "float32")]


def _instance_norm_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """Instance norm runs as batch norm over a (1, N·C, H, W) view: statistics per sample and channel, and the
    weight and running statistics repeated N times (new tensors, so they count)."""
    planes = x["x"][0] * x["x"][1]
    repeated = (1 if p.affine else 0) + (2 if p.track_running_stats else 0)
    return [grad.kept_contiguous("x", x["x"]), *(Saved.inner(planes, "float32") for _ in range(2 + repeated))]


def _stats(rows: int) -> list[Saved]:
    """Mean and 1/σ per row, computed at inference when the layer keeps no running statistics."""
    return [Saved.inner(2 * rows, "float32")]


def _batch_norm_scratch(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [] if p.track_running_stats else _stats(x["x"][1])


def _instance_norm_scratch(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """Statistics per sample and channel (without running ones), the weight, bias and running statistics
    repeated for every sample."""
    planes = x["x"][0] * x["x"][1]
    repeated = (1 if p.affine else 0) + (1 if p.affine and p.bias else 0) + (2 if p.track_running_stats else 0)
    return [*contiguous_copy(p, x, y, grad), *([] if p.track_running_stats else _stats(planes)),
            Saved.inner(repeated * planes, "float32")]


# -- Keras ------------------------------------------------------------------------------------------------
def _keras_affine_load(p: Params, affine: str, running: bool = False) -> str:
    """Keras keeps γ, β, then the moving mean and variance, each only when the layer has it."""
    names = (["{weight}"] if p[affine] else []) + (["{bias}"] if p[affine] and p.bias else [])
    names += ["{running_mean}", "{running_var}"] if running else []
    return f"{{self}}.set_weights([{', '.join(names)}])" if names else ""


def _keras_batch_init(p: Params, x: Specs) -> dict[str, object]:
    kwargs: dict[str, object] = {"axis": 1, "epsilon": p.eps}
    if p.momentum is not None:  # torch's weight of the newest batch; Keras' of the running average
        kwargs["momentum"] = 1 - p.momentum
    kwargs.update(center=p.affine and p.bias, scale=p.affine)
    return kwargs


def _keras_batch_unsupported(p: Params, x: Specs) -> str:
    if not p.track_running_stats:
        return ("without running statistics it normalises by each batch's own at inference too; Keras' "
                "BatchNormalization uses its moving averages there")
    return ""


def _keras_batch_norm() -> KerasCall:
    return KerasCall(
        layer="layers.BatchNormalization",
        init=_keras_batch_init,
        defaults={"momentum": 0.99, "center": True, "scale": True},
        load=lambda p, x: _keras_affine_load(p, "affine", running=True),
        unsupported=_keras_batch_unsupported,
    )


# -- BatchNorm -------------------------------------------------------------------------------------------
_BATCH_LAYOUT = {1: "(N, C) or (N, C, L)", 2: "(N, C, H, W)"}
_BATCH_RANKS = {1: (2, 3), 2: (4,)}


def _batch_norm(nd: int) -> LayerDef:
    examples = {
        1: (
            Example({"x": ((4, 6), "float32")}),
            Example({"x": ((3, 5, 10), "float32")}),
            Example({"x": ((4, 6, 7), "float32")},
                    {"affine": False, "track_running_stats": False, "momentum": None, "eps": 1e-3}),
            Example({"x": ((4, 6), "float32")}, {"bias": False}),
        ),
        2: (
            Example({"x": ((2, 8, 5, 5), "float32")}),
            Example({"x": ((2, 3, 4, 4), "float32")}, {"affine": False, "momentum": None}),
            Example({"x": ((2, 4, 3, 3), "float32")}, {"track_running_stats": False, "eps": 1e-3, "bias": False}),
        ),
    }[nd]
    return LayerDef(
        type=f"BatchNorm{nd}d",
        category="Normalization",
        title=f"BatchNorm{nd}D",
        description="rescales each channel to mean 0 and variance 1 over the batch, then applies a learned "
        "scale and shift",
        math=r"$y = \gamma \frac{x - \mu_{\mathrm{batch}}}{\sqrt{\sigma^2_{\mathrm{batch}} + \epsilon}} + \beta$",
        help="Batch normalization. num_features is the input's channel count (dimension 1). During training "
        "it uses the statistics of the current batch and updates running averages; in evaluation it uses the "
        "running averages. Needs more than one value per channel when training.",
        params=(_affine(True), _track(True), _eps(), _momentum(), _bias()),
        inputs=(PortSpec("x", ranks=_BATCH_RANKS[nd], layout=_BATCH_LAYOUT[nd]),),
        shape=_single_value_check(slice(None), "(over the batch and positions)"),
        param_count=_affine_params("affine"),
        buffer_count=_running_buffers,
        macs=_affine_macs("affine"),
        flops_extra=_running_stats_flops,
        torch=TorchCall(
            module=f"nn.BatchNorm{nd}d",
            init=_batch_init,
            positional=1,
            defaults={"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True, "bias": True},
        ),
        keras=_keras_batch_norm(),
        examples=examples,
        traits=frozenset({Trait.CANCELS_BIAS}),
        param_sizes={"weight": lambda p, x: _channels(x) if p.affine else 0,
                     "bias": lambda p, x: _channels(x) if p.affine and p.bias else 0},
        latency=_running_norm_kernels,
        saves=_batch_norm_saves,
        scratch=_batch_norm_scratch,
    )


# -- LayerNorm -------------------------------------------------------------------------------------------
def _normalized_shape(p: Params, x: Specs) -> tuple[int, ...]:
    spec = x["x"]
    if spec.rank < p.num_dims:
        raise ShapeError("x", f"at least {p.num_dims} dimensions to normalise over (num_dims={p.num_dims})",
                         describe_shape(spec.shape), field="num_dims")
    return tuple(concrete("x", spec, axis, "normalized size") for axis in range(-p.num_dims, 0))


def _layer_norm_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    _normalized_shape(p, x)
    return {"y": x["x"]}


def _layer_norm_params(p: Params, x: Specs) -> int:
    if not p.elementwise_affine:
        return 0
    return prod(_normalized_shape(p, x)) * (2 if p.bias else 1)


def _layer_norm_init(p: Params, x: Specs) -> dict[str, object]:
    shape = _normalized_shape(p, x)
    return {
        "normalized_shape": shape[0] if len(shape) == 1 else shape,
        "eps": p.eps,
        "elementwise_affine": p.elementwise_affine,
        "bias": p.bias,
    }


LAYER_NORM = LayerDef(
    type="LayerNorm",
    category="Normalization",
    title="LayerNorm",
    description="rescales each sample's features to mean 0 and variance 1, then applies a learned scale and "
    "shift per feature",
    math=r"$y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta$" "\n"
    r"$\mu, \sigma^2$ over the last num_dims dimensions",
    help="Layer normalization, as in transformers. Normalises over the last num_dims dimensions of each "
    "sample; their sizes (normalized_shape) come from the input. Independent of the batch size.",
    params=(
        ParamSpec("num_dims", "int", 1, "how many trailing dimensions to normalise over", minimum=1),
        ParamSpec("elementwise_affine", "bool", True, "learn a scale (γ) and shift (β) per normalised element"),
        ParamSpec("bias", "bool", True, "learn the shift β as well as the scale (only with the affine part)",
                  advanced=True),
        _eps(),
    ),
    inputs=(PortSpec("x", layout="(N, …, normalized dims)"),),
    shape=_layer_norm_shape,
    param_count=_layer_norm_params,
    macs=_affine_macs("elementwise_affine"),
    flops_extra=_computed_stats_flops,
    torch=TorchCall(
        module="nn.LayerNorm",
        init=_layer_norm_init,
        positional=1,
        defaults={"eps": 1e-5, "elementwise_affine": True, "bias": True},
    ),
    keras=KerasCall(
        layer="layers.LayerNormalization",
        init=lambda p, x: {"axis": -1 if p.num_dims == 1 else tuple(range(-p.num_dims, 0)), "epsilon": p.eps,
                           "center": p.elementwise_affine and p.bias, "scale": p.elementwise_affine},
        defaults={"axis": -1, "center": True, "scale": True},
        load=lambda p, x: _keras_affine_load(p, "elementwise_affine"),
    ),
    examples=(
        Example({"x": ((2, 16), "float32")}),
        Example({"x": ((2, 5, 16), "float32")}),
        Example({"x": ((2, 5, 4, 6), "float32")}, {"num_dims": 2, "eps": 1e-6}),
        Example({"x": ((2, 3, 4, 4), "float32")}, {"num_dims": 3, "elementwise_affine": False}),
        Example({"x": ((2, 7, 8), "float32")}, {"bias": False}),
    ),
    latency=runs_norm_stats,
    saves=_layer_norm_saves,
    scratch=lambda p, x, y, grad: _stats(prod(x["x"][: len(x["x"]) - p.num_dims])),
)


# -- GroupNorm -------------------------------------------------------------------------------------------
def _group_channels(p: Params, x: Specs) -> int:
    spec = x["x"]
    channels = _channels(x)
    if channels % p.num_groups:
        raise ShapeError(
            "x",
            f"a channel count divisible by num_groups ({p.num_groups})",
            f"{describe_shape(spec.shape)} with {channels} channels",
            field="num_groups",
        )
    return channels


def _group_norm_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    _group_channels(p, x)
    return {"y": x["x"]}


def _group_norm_params(p: Params, x: Specs) -> int:
    channels = _group_channels(p, x)
    return channels * (2 if p.bias else 1) if p.affine else 0


def _group_norm_init(p: Params, x: Specs) -> dict[str, object]:
    return {"num_groups": p.num_groups, "num_channels": x["x"].shape[1], "eps": p.eps, "affine": p.affine,
            "bias": p.bias}


GROUP_NORM = LayerDef(
    type="GroupNorm",
    category="Normalization",
    title="GroupNorm",
    description="splits the channels into groups and rescales each group of each sample to mean 0 and "
    "variance 1, then applies a learned scale and shift per channel",
    math=r"$y = \gamma \frac{x - \mu_{\mathrm{group}}}{\sqrt{\sigma^2_{\mathrm{group}} + \epsilon}} + \beta$",
    help="Group normalization. The channel count (dimension 1) comes from the input and must be divisible "
    "by num_groups. num_groups = 1 normalises all channels together; num_groups = channels is instance "
    "normalization. Independent of the batch size.",
    params=(
        ParamSpec("num_groups", "int", 32, "number of channel groups (must divide the channel count)", minimum=1),
        _affine(True),
        _eps(),
        _bias(),
    ),
    inputs=(PortSpec("x", ranks=(2, 3, 4, 5), layout="(N, C, …)"),),
    shape=_group_norm_shape,
    param_count=_group_norm_params,
    macs=_affine_macs("affine"),
    flops_extra=_computed_stats_flops,
    torch=TorchCall(
        module="nn.GroupNorm",
        init=_group_norm_init,
        positional=2,
        defaults={"eps": 1e-5, "affine": True, "bias": True},
    ),
    keras=KerasCall(
        layer="layers.GroupNormalization",
        init=lambda p, x: {"groups": p.num_groups, "axis": 1, "epsilon": p.eps, "center": p.affine and p.bias,
                           "scale": p.affine},
        positional=1,
        defaults={"center": True, "scale": True},
        load=lambda p, x: _keras_affine_load(p, "affine"),
    ),
    examples=(
        Example({"x": ((2, 64, 4, 4), "float32")}),
        Example({"x": ((2, 6, 10), "float32")}, {"num_groups": 3, "affine": False}),
        Example({"x": ((2, 8), "float32")}, {"num_groups": 8, "eps": 1e-3}),
        Example({"x": ((2, 4, 3, 3, 3), "float32")}, {"num_groups": 1, "bias": False}),
    ),
    summary=lambda p: f"{p.get('num_groups')} groups",
    latency=runs_norm_stats,
    saves=_group_norm_saves,
    scratch=lambda p, x, y, grad: [*contiguous_copy(p, x, y, grad), *_stats(x["x"][0] * p.num_groups)],
    export_limits=(ExportLimit("coreml", "Core ML tensors have at most 5 dimensions, and the converter splits a "
                               "volume's channels into groups as a 6th", when=lambda p, x: len(x["x"].shape) == 5,
                               condition="a 3-D volume input (N, C, D, H, W)",
                               suggestion="Reshape to fold two spatial axes into one before the norm"),),
)


# -- InstanceNorm ----------------------------------------------------------------------------------------
INSTANCE_NORM_2D = LayerDef(
    type="InstanceNorm2d",
    category="Normalization",
    title="InstanceNorm2D",
    description="rescales each channel of each image separately to mean 0 and variance 1",
    math=r"$y = \gamma \frac{x - \mu_{n,c}}{\sqrt{\sigma^2_{n,c} + \epsilon}} + \beta$",
    help="Instance normalization, common in style transfer. Statistics are taken over the spatial "
    "dimensions of every sample and channel. By default it has no learned scale/shift and keeps no "
    "running statistics. num_features is the input's channel count.",
    params=(_affine(False), _track(False), _eps(), _momentum(), _bias()),
    inputs=(PortSpec("x", ranks=(4,), layout="(N, C, H, W)"),),
    shape=_single_value_check(slice(1, None), "and sample (over the positions)"),
    param_count=_affine_params("affine"),
    buffer_count=_running_buffers,
    macs=_affine_macs("affine"),
    flops_extra=_running_stats_flops,
    torch=TorchCall(
        module="nn.InstanceNorm2d",
        init=_batch_init,
        positional=1,
        defaults={"eps": 1e-5, "momentum": 0.1, "affine": False, "track_running_stats": False, "bias": True},
    ),
    keras=KerasCall(
        layer="layers.GroupNormalization",
        init=lambda p, x: {"groups": -1, "axis": 1, "epsilon": p.eps, "center": p.affine and p.bias,
                           "scale": p.affine},
        defaults={"center": True, "scale": True},
        load=lambda p, x: _keras_affine_load(p, "affine"),
        unsupported=lambda p, x: ("with running statistics it normalises by them at inference; Keras' "
                                  "GroupNormalization keeps none" if p.track_running_stats else ""),
        doc="keras.layers.GroupNormalization(groups=-1)",
    ),
    examples=(
        Example({"x": ((2, 3, 6, 6), "float32")}),
        Example({"x": ((2, 4, 5, 7), "float32")}, {"affine": True, "track_running_stats": True}),
        Example({"x": ((2, 4, 5, 5), "float32")}, {"affine": True, "bias": False, "momentum": None}),
    ),
    latency=_running_norm_kernels,
    saves=_instance_norm_saves,
    scratch=_instance_norm_scratch,
)

LAYERS = [_batch_norm(1), _batch_norm(2), LAYER_NORM, GROUP_NORM, INSTANCE_NORM_2D]
