"""Convolutions: 1-D, 2-D, 3-D and transposed 2-D. ``groups`` gives grouped and depthwise convolution."""

from __future__ import annotations

from collections.abc import Mapping

from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.keras_sources import keras_pad
from neuralforge_desktop.core.catalog.kernels import Kernel, KernelKind, conv_kernel
from neuralforge_desktop.core.catalog.memory_spec import saves_input
from neuralforge_desktop.core.catalog.shape_utils import concrete, numel, prod, transposed_out, window_out
from neuralforge_desktop.core.catalog.spec import (
    Example,
    KerasCall,
    LayerDef,
    Params,
    ParamSpec,
    PortSpec,
    ShapeRule,
    TorchCall,
    Trait,
)
from neuralforge_desktop.core.catalog.summaries import filters
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import TensorSpec, describe_shape

Specs = Mapping[str, TensorSpec]
_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _in_channels(p: Params, x: Specs) -> int:
    spec = x["x"]
    cin = concrete("x", spec, 1, "channel count")
    if cin % p.groups or p.out_channels % p.groups:
        raise ShapeError(
            "x",
            f"in_channels and out_channels ({p.out_channels}) divisible by groups ({p.groups})",
            f"{describe_shape(spec.shape)} with {cin} channels",
            field="groups",
        )
    return cin


def _conv_weight(p: Params, x: Specs) -> int:
    return p.out_channels * (_in_channels(p, x) // p.groups) * prod(p.kernel_size)


def _tconv_weight(p: Params, x: Specs) -> int:
    return _in_channels(p, x) * (p.out_channels // p.groups) * prod(p.kernel_size)


def _bias(p: Params, x: Specs) -> int:
    return p.out_channels if p.bias else 0


def _conv_params(p: Params, x: Specs) -> int:
    return _conv_weight(p, x) + _bias(p, x)


def _conv_macs(p: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]]) -> int:
    return numel(y, "y") * (x["x"][1] // p.groups) * prod(p.kernel_size)


def _conv_kernels(p: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]]) -> tuple[Kernel]:
    positions = numel(y, "y") // p.out_channels
    return (conv_kernel(KernelKind.CONV, prod(p.kernel_size), x["x"][1], p.out_channels, p.groups, positions),)


def _tconv_kernels(p: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]]) -> tuple[Kernel]:
    positions = numel(x, "x") // x["x"][1]  # each input position paints a kernel-sized patch of the output
    return (conv_kernel(KernelKind.CONV_TRANSPOSE, prod(p.kernel_size), x["x"][1], p.out_channels, p.groups,
                        positions),)


def _conv_params_spec(nd: int, transposed: bool = False) -> tuple[ParamSpec, ...]:
    specs = [
        ParamSpec("out_channels", "int", 32, "number of filters (output channels)", minimum=1),
        ParamSpec("kernel_size", "int_or_tuple", 3, "filter size", minimum=1, length=nd),
        ParamSpec("stride", "int_or_tuple", 2 if transposed else 1, "step between windows", minimum=1, length=nd),
        ParamSpec("padding", "int_or_tuple", 0 if transposed else 1, "zeros added on each side", minimum=0,
                  length=nd),
    ]
    if transposed:
        specs.append(ParamSpec("output_padding", "int_or_tuple", 0, "extra size added to one side of the output",
                               minimum=0, length=nd, advanced=True))
    specs += [
        ParamSpec("dilation", "int_or_tuple", 1, "spacing between kernel taps", minimum=1, length=nd, advanced=True),
        ParamSpec("groups", "int", 1, "split channels into groups; groups = in_channels is depthwise",
                  minimum=1, advanced=True),
        ParamSpec("bias", "bool", True, "learn an additive bias (redundant before BatchNorm)"),
    ]
    return tuple(specs)


def _conv_shape(nd: int) -> ShapeRule:
    def rule(p: Params, x: Specs) -> dict[str, TensorSpec]:
        spec = x["x"]
        _in_channels(p, x)
        spatial = tuple(
            window_out(spec.shape[2 + i], p.kernel_size[i], p.stride[i], p.padding[i], p.dilation[i], "x", spec)
            for i in range(nd)
        )
        return {"y": spec.with_shape((spec.shape[0], p.out_channels) + spatial)}

    return rule


def _conv_init(p: Params, x: Specs) -> dict[str, object]:
    return {
        "in_channels": x["x"].shape[1],
        "out_channels": p.out_channels,
        "kernel_size": _compact(p.kernel_size),
        "stride": _compact(p.stride),
        "padding": _compact(p.padding),
        "dilation": _compact(p.dilation),
        "groups": p.groups,
        "bias": p.bias,
    }


def _compact(value: tuple[int, ...]) -> int | tuple[int, ...]:
    """``(3, 3)`` → ``3``: reads like hand-written code; torch expands it the same way."""
    return value[0] if len(set(value)) == 1 else tuple(value)


def _same_padding(p: Params) -> bool:
    """Keras' "same" pads a stride-1 convolution by dilation·(kernel−1) split evenly: torch's padding when that
    is twice the padding."""
    return all(s == 1 and 2 * pad == d * (k - 1) for s, pad, d, k in
               zip(p.stride, p.padding, p.dilation, p.kernel_size, strict=True))


def _depthwise(p: Params, x: Specs) -> bool:
    """One group per input channel in 1-D or 2-D: Keras' depthwise convolution, which needs no grouped kernel."""
    return p.groups > 1 and p.groups == x["x"].shape[1] and len(p.kernel_size) < 3


def _keras_conv_init(p: Params, x: Specs) -> dict[str, object]:
    window = {"kernel_size": _compact(p.kernel_size), "strides": _compact(p.stride),
              "padding": "same" if any(p.padding) and _same_padding(p) else "valid"}
    kwargs: dict[str, object]
    if _depthwise(p, x):
        kwargs = {**window, "depth_multiplier": p.out_channels // p.groups}
    else:
        kwargs = {"filters": p.out_channels, **window, "groups": p.groups}
    return {**kwargs, "dilation_rate": _compact(p.dilation), "use_bias": p.bias, "data_format": "channels_first"}


def _keras_conv_call(p: Params, x: Specs) -> str:
    if not any(p.padding) or _same_padding(p):
        return "{y} = {self}({x})"
    return f"{{y}} = {{self}}({keras_pad(p.padding)})"


def _keras_conv_load(p: Params, x: Specs) -> str:
    """torch keeps a kernel as (out, in/groups, *window), Keras as (*window, in/groups, out); a depthwise one
    as (*window, in, multiplier), torch's output channel i·multiplier + j being Keras' (i, j)."""
    nd = len(p.kernel_size)
    window = ", ".join(str(axis) for axis in range(2, nd + 2))
    if not _depthwise(p, x):
        kernel = f"{{weight}}.transpose({window}, 1, 0)"
    elif p.out_channels == p.groups:
        kernel = f"{{weight}}.transpose({window}, 0, 1)"
    else:
        shape = ", ".join(str(d) for d in (p.groups, p.out_channels // p.groups, *p.kernel_size))
        kernel = f"{{weight}}.reshape({shape}).transpose({window}, 0, 1)"
    return f"{{self}}.set_weights([{kernel}, {{bias}}])" if p.bias else f"{{self}}.set_weights([{kernel}])"


def _keras_stride_and_dilation(p: Params, x: Specs) -> str:
    if any(s > 1 for s in p.stride) and any(d > 1 for d in p.dilation):
        return "Keras convolutions take no stride above 1 together with a dilation above 1"
    return ""


def _keras_conv(nd: int) -> KerasCall:
    return KerasCall(
        layer=lambda p, x: f"layers.DepthwiseConv{nd}D" if _depthwise(p, x) else f"layers.Conv{nd}D",
        init=_keras_conv_init,
        positional=lambda p, x: 1 if _depthwise(p, x) else 2,
        defaults={"strides": 1, "padding": "valid", "dilation_rate": 1, "groups": 1, "depth_multiplier": 1,
                  "use_bias": True},
        call=_keras_conv_call,
        load=_keras_conv_load,
        unsupported=_keras_stride_and_dilation,
        doc=f"keras.layers.Conv{nd}D",
    )


def _keras_tconv_init(p: Params, x: Specs) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "filters": p.out_channels,
        "kernel_size": _compact(p.kernel_size),
        "strides": _compact(p.stride),
        "padding": "valid",
    }
    # Keras sizes the output by torch's rule once output_padding is given; without it, as stride · size when
    # the kernel is smaller than the stride.
    if any(p.output_padding) or any(k < s for k, s in zip(p.kernel_size, p.stride, strict=True)):
        kwargs["output_padding"] = _compact(p.output_padding)
    kwargs.update(dilation_rate=_compact(p.dilation), use_bias=p.bias, data_format="channels_first")
    return kwargs


def _keras_tconv_call(p: Params, x: Specs) -> str:
    """torch's padding crops the full transposed convolution on both sides."""
    if not any(p.padding):
        return "{y} = {self}({x})"
    crops = ", ".join(f"{pad}:-{pad}" if pad else ":" for pad in p.padding)
    return f"{{y}} = {{self}}({{x}})[:, :, {crops}]"


def _keras_tconv_unsupported(p: Params, x: Specs) -> str:
    if p.groups > 1:
        return "Keras' Conv2DTranspose has no groups"
    return _keras_stride_and_dilation(p, x)


def _conv(nd: int) -> LayerDef:
    return LayerDef(
        type=f"Conv{nd}d",
        category="Convolution",
        title=f"Conv{nd}D",
        description="slides learned filters over the input (weighted sums of local patches) + bias",
        math=r"$y[c_{\mathrm{out}}] = b[c_{\mathrm{out}}] + \sum_{c_{\mathrm{in}}} W[c_{\mathrm{out}}, "
        r"c_{\mathrm{in}}] \star x[c_{\mathrm{in}}]$",
        help=f"{nd}-D convolution. in_channels comes from the input. Output size per spatial dimension: "
        "⌊(size + 2·padding − dilation·(kernel−1) − 1) / stride⌋ + 1.",
        params=_conv_params_spec(nd),
        inputs=(PortSpec("x", ranks=(nd + 2,), layout=_LAYOUT[nd]),),
        shape=_conv_shape(nd),
        param_count=_conv_params,
        macs=_conv_macs,
        torch=TorchCall(
            module=f"nn.Conv{nd}d",
            init=_conv_init,
            positional=2,
            defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True},
        ),
        keras=_keras_conv(nd),
        simple=nd == 2,
        examples=(
            Example({"x": ((2, 3) + (9,) * nd, "float32")}, {"out_channels": 8}),
            Example({"x": ((2, 4) + (10,) * nd, "float32")},
                    {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 0, "groups": 4, "bias": False}),
            Example({"x": ((1, 6) + (11,) * nd, "float32")},
                    {"out_channels": 6, "kernel_size": 5, "dilation": 2, "padding": 2, "groups": 6}),
        ),
        traits=frozenset({Trait.CONVOLUTION, Trait.WINDOWED}),
        param_sizes={"weight": _conv_weight, "bias": _bias},
        summary=filters,
        latency=_conv_kernels,
        saves=saves_input,  # and the weight, a parameter
        export_limits=_GROUPED_3D if nd == 3 else (),
    )


# TFLite's CONV_3D takes no groups: litert-torch fails on grouped 3-D convolutions, or crashes on depthwise dilated ones
_GROUPED_3D = (ExportLimit("tflite", "TFLite's 3-D convolution has no groups (the converter fails or crashes)",
                           when=lambda p, x: p["groups"] > 1, condition="groups > 1",
                           suggestion="groups = 1"),)


def _tconv_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    _in_channels(p, x)
    for i in range(2):  # torch refuses it: the extra row would lie beyond what any input pixel paints
        limit = max(p.stride[i], p.dilation[i])
        if p.output_padding[i] >= limit:
            raise ShapeError("x", f"output_padding smaller than stride or dilation (below {limit} in dimension "
                             f"{i})", f"output_padding {_compact(p.output_padding)} with stride "
                             f"{_compact(p.stride)}, dilation {_compact(p.dilation)}", field="output_padding")
    spatial = tuple(
        transposed_out(spec.shape[2 + i], p.kernel_size[i], p.stride[i], p.padding[i], p.output_padding[i],
                       p.dilation[i])
        for i in range(2)
    )
    for size in spatial:
        if isinstance(size, int) and size < 1:
            raise ShapeError("x", "a positive output size", describe_shape(spec.shape))
    return {"y": spec.with_shape((spec.shape[0], p.out_channels) + spatial)}


def _tconv_params(p: Params, x: Specs) -> int:
    return _tconv_weight(p, x) + _bias(p, x)


CONV_TRANSPOSE_2D = LayerDef(
    type="ConvTranspose2d",
    category="Convolution",
    title="ConvTranspose2D",
    description="learned upsampling: each input pixel paints a weighted filter onto the output",
    math=r"$y = W^{\top} \star x + b$" "\n" "(the gradient of a convolution)",
    help="Transposed convolution. Output size: (size−1)·stride − 2·padding + dilation·(kernel−1) + "
    "output_padding + 1; output_padding must be smaller than stride or dilation.",
    params=_conv_params_spec(2, transposed=True),
    inputs=(PortSpec("x", ranks=(4,), layout=_LAYOUT[2]),),
    shape=_tconv_shape,
    param_count=_tconv_params,
    macs=lambda p, x, y: numel(x, "x") * (p.out_channels // p.groups) * prod(p.kernel_size),
    torch=TorchCall(
        module="nn.ConvTranspose2d",
        init=lambda p, x: {**_conv_init(p, x), "output_padding": _compact(p.output_padding)},
        positional=2,
        defaults={"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True},
    ),
    keras=KerasCall(
        layer="layers.Conv2DTranspose",
        init=_keras_tconv_init,
        positional=2,
        defaults={"strides": 1, "dilation_rate": 1, "use_bias": True},
        call=_keras_tconv_call,
        # torch keeps a transposed kernel as (in, out/groups, kh, kw), Keras as (kh, kw, out, in)
        load=lambda p, x: ("{self}.set_weights([{weight}.transpose(2, 3, 1, 0), {bias}])" if p.bias
                           else "{self}.set_weights([{weight}.transpose(2, 3, 1, 0)])"),
        unsupported=_keras_tconv_unsupported,
    ),
    examples=(
        Example({"x": ((2, 8, 5, 5), "float32")}, {"out_channels": 4}),
        Example({"x": ((1, 4, 7, 6), "float32")},
                {"out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ),
    # Not WINDOWED: a stride over the kernel leaves gaps in a transposed convolution's output, it skips no input.
    traits=frozenset({Trait.CONVOLUTION}),
    param_sizes={"weight": _tconv_weight, "bias": _bias},
    summary=filters,
    latency=_tconv_kernels,
    saves=saves_input,  # and the weight, a parameter
    export_limits=(ExportLimit("tflite", "TFLite's transposed convolution has no groups (the converter cannot lower "
                               "it)", when=lambda p, x: p["groups"] > 1, condition="groups > 1",
                               suggestion="groups = 1, or one ConvTranspose2d per group joined by Concat"),),
)

LAYERS = [_conv(1), _conv(2), _conv(3), CONV_TRANSPOSE_2D]
