"""Pooling: max and average over sliding windows, adaptive average and global pooling. No weights."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from neuralforge_desktop.core.catalog.keras_sources import fixed_sizes, keras_pad
from neuralforge_desktop.core.catalog.kernels import Kernel, pool_kernel, runs_reduce
from neuralforge_desktop.core.catalog.memory_spec import Autograd, Saved, saves_input, saves_nothing
from neuralforge_desktop.core.catalog.shape_utils import numel, prod, window_out
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
from neuralforge_desktop.core.catalog.summaries import dims, window
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import Dim, TensorSpec, describe_shape, dim_expr

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}


def _compact(value: tuple[int, ...]) -> int | tuple[int, ...]:
    """``(2, 2)`` → ``2``: reads like hand-written code; torch expands it the same way."""
    return value[0] if len(set(value)) == 1 else tuple(value)


def _stride(p: Params) -> tuple[int, ...]:
    return p.kernel_size if p.stride is None else p.stride


def _pool_out(size: Dim, kernel: int, stride: int, padding: int, ceil_mode: bool, port: str,
              spec: TensorSpec) -> Dim:
    """Output length of a pooling window, as torch computes it, symbolic sizes included."""
    if isinstance(size, int) or not ceil_mode:
        return window_out(size, kernel, stride, padding, 1, port, spec, ceil_mode)
    if stride > kernel - padding:
        # torch drops a last window that would start in the right padding; only a fixed size can tell
        raise ShapeError(port, f"a fixed size for ceil_mode with stride {stride} > kernel {kernel} − padding "
                         f"{padding}", describe_shape(spec.shape), field="ceil_mode")
    offset = 2 * padding - kernel + stride - 1
    return dim_expr(size, f"({{}}{offset:+d})//{stride}+1" if offset else f"{{}}//{stride}+1")


def _pool_params(nd: int, average: bool) -> tuple[ParamSpec, ...]:
    specs: tuple[ParamSpec, ...] = (
        ParamSpec("kernel_size", "int_or_tuple", 2, "window size", minimum=1, length=nd),
        ParamSpec("stride", "int_or_tuple", None, "step between windows; empty = kernel_size (no overlap)",
                  minimum=1, length=nd, optional=True),
        ParamSpec("padding", "int_or_tuple", 0, "border added on each side (at most half the kernel)",
                  minimum=0, length=nd),
        ParamSpec("ceil_mode", "bool", False, "round the output size up, keeping a partial last window",
                  advanced=True),
    )
    if average:
        specs += (ParamSpec("count_include_pad", "bool", True, "count padded zeros when averaging",
                            advanced=True),)
    return specs


def _pool_shape(nd: int) -> ShapeRule:
    def rule(p: Params, x: Specs) -> dict[str, TensorSpec]:
        spec = x["x"]
        stride = _stride(p)
        for k, pad in zip(p.kernel_size, p.padding, strict=True):
            if 2 * pad > k:
                raise ShapeError("x", f"padding at most half the kernel size ({k} // 2 = {k // 2})",
                                 f"padding {_compact(p.padding)} for {describe_shape(spec.shape)}", field="padding")
        spatial = tuple(
            _pool_out(spec.shape[2 + i], p.kernel_size[i], stride[i], p.padding[i], p.ceil_mode, "x", spec)
            for i in range(nd)
        )
        return {"y": spec.with_shape(spec.shape[:2] + spatial)}

    return rule


def _pool_init(average: bool) -> Callable[[Params, Specs], dict[str, object]]:
    def init(p: Params, x: Specs) -> dict[str, object]:
        kwargs: dict[str, object] = {
            "kernel_size": _compact(p.kernel_size),
            "stride": None if p.stride is None or p.stride == p.kernel_size else _compact(p.stride),
            "padding": _compact(p.padding),
            "ceil_mode": p.ceil_mode,
        }
        if average:
            kwargs["count_include_pad"] = p.count_include_pad
        return kwargs

    return init


def _pool_examples(nd: int, average: bool) -> tuple[Example, ...]:
    def shape(*sizes: int) -> dict[str, tuple[tuple[int, ...], str]]:
        return {"x": ((2, 3) + sizes[:nd] if nd > 1 else (2, 3, sizes[0]), "float32")}

    examples = [
        Example(shape(8, 8)),
        Example(shape(7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
        Example(shape(7, 7), {"ceil_mode": True}),
        Example(shape(8, 8), {"kernel_size": 3, "stride": 1}),
        Example(shape(2, 2)),
    ]
    if nd == 2:
        examples.append(Example(shape(7, 9), {"kernel_size": [2, 3], "stride": [1, 2]}))
        examples.append(Example(shape(6, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}))
    if average:
        examples.append(Example(shape(7, 7), {"kernel_size": 3, "padding": 1, "count_include_pad": False}))
    return tuple(examples)


def _ceil_extra(p: Params, spec: TensorSpec) -> list[int] | None:
    """Per spatial axis, how much more than the padding a ceil_mode window reads past the end (torch keeps a
    last partial window that starts inside the input or the left padding); None when a size is not a number."""
    axes = range(2, spec.rank)
    sizes = fixed_sizes(spec, axes)
    if sizes is None:
        return None
    extra = []
    for size, k, s, pad in zip(sizes, p.kernel_size, _stride(p), p.padding, strict=True):
        out = -(-(size + 2 * pad - k) // s) + 1
        if (out - 1) * s >= size + pad:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - (size + 2 * pad)))
    return extra


def _keras_pool_init(p: Params, x: Specs) -> dict[str, object]:
    stride = None if p.stride is None or p.stride == p.kernel_size else _compact(p.stride)
    return {"pool_size": _compact(p.kernel_size), "strides": stride, "data_format": "channels_first"}


def _keras_max_pool_call(p: Params, x: Specs) -> str:
    """Padding and a ceil_mode window past the end read -inf, so the maximum ignores them as torch's does."""
    extra = (_ceil_extra(p, x["x"]) or []) if p.ceil_mode else []
    if not any(p.padding) and not any(extra):
        return "{y} = {self}({x})"
    padded = keras_pad(p.padding, 'float("-inf")', extra)
    return f"{{y}} = {{self}}({padded})"


def _keras_max_pool_unsupported(p: Params, x: Specs) -> str:
    if p.ceil_mode and _ceil_extra(p, x["x"]) is None:
        return "ceil_mode needs fixed spatial sizes to be written for Keras"
    return ""


def _keras_avg_pool_call(p: Params, x: Specs) -> str:
    """torch's count_include_pad averages the padded zeros in: the same as pooling a zero-padded input."""
    if not any(p.padding):
        return "{y} = {self}({x})"
    return f"{{y}} = {{self}}({keras_pad(p.padding)})"


def _keras_avg_pool_unsupported(p: Params, x: Specs) -> str:
    if p.ceil_mode:
        extra = _ceil_extra(p, x["x"])
        if extra is None or any(extra):
            return "a partial last window (ceil_mode) averages over fewer values in torch; Keras has no such window"
    if any(p.padding) and not p.count_include_pad:
        return "averaging without the padded zeros (count_include_pad off) has no Keras form"
    return ""


def _keras_adaptive(p: Params, x: Specs) -> str:
    if tuple(p.output_size) == (1, 1):
        return "{y} = ops.mean({x}, axis=(2, 3), keepdims=True)"
    sizes = fixed_sizes(x["x"], (2, 3)) or (0, 0)
    window = tuple(size // out for size, out in zip(sizes, p.output_size, strict=True))
    return (f"{{y}} = ops.average_pool({{x}}, {window}, {window}, padding=\"valid\", "
            "data_format=\"channels_first\")")


def _keras_adaptive_unsupported(p: Params, x: Specs) -> str:
    if tuple(p.output_size) == (1, 1):
        return ""
    sizes = fixed_sizes(x["x"], (2, 3))
    if sizes is None or any(size % out for size, out in zip(sizes, p.output_size, strict=True)):
        return "the input size is not a multiple of output_size: torch's uneven windows have no Keras form"
    return ""


def _window_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel]:
    return (pool_kernel(prod(p.kernel_size), x, y),)
def _max_pool_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """The input and the position of each maximum (int64, one per output element)."""
    return [Saved.input(), Saved.inner(numel(y, "y"), "int64")]


def _max_pool_scratch(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [Saved.inner(numel(y, "y"), "int64")]  # torch's CPU kernel finds the indices at inference too


def _adaptive_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    """A 1×1 output is a mean over the plane (backward needs only the sizes); any other keeps the input."""
    return [] if tuple(p.output_size) == (1, 1) else [Saved.input()]


def _amax_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return [Saved.input(), Saved.output()]  # backward finds where the maximum was


def _max_pool(nd: int) -> LayerDef:
    return LayerDef(
        type=f"MaxPool{nd}d",
        category="Pooling",
        title=f"MaxPool{nd}D",
        description="keeps the largest value in each window, shrinking the feature map",
        math=r"$y[c, i] = \max_{k \in \mathrm{window}(i)} x[c, k]$",
        help=f"Max pooling over {nd}-D windows, channel by channel. Output size per dimension: "
        "⌊(size + 2·padding − kernel) / stride⌋ + 1 (rounded up with ceil_mode).",
        params=_pool_params(nd, average=False),
        inputs=(PortSpec("x", ranks=(nd + 2,), layout=_LAYOUT[nd]),),
        shape=_pool_shape(nd),
        flops_extra=lambda p, x, y: numel(y, "y") * (prod(p.kernel_size) - 1),
        torch=TorchCall(
            module=f"nn.MaxPool{nd}d",
            init=_pool_init(average=False),
            positional=1,
            defaults={"stride": None, "padding": 0, "ceil_mode": False},
        ),
        keras=KerasCall(
            layer=f"layers.MaxPooling{nd}D",
            init=_keras_pool_init,
            positional=1,
            defaults={"strides": None},
            call=_keras_max_pool_call,
            unsupported=_keras_max_pool_unsupported,
        ),
        simple=nd == 2,
        examples=_pool_examples(nd, average=False),
        traits=frozenset({Trait.WINDOWED}),
        summary=window,
        latency=_window_kernels,
        saves=_max_pool_saves,
        scratch=_max_pool_scratch,
    )


AVG_POOL_2D = LayerDef(
    type="AvgPool2d",
    category="Pooling",
    title="AvgPool2D",
    description="replaces each window by its average, shrinking the feature map",
    math=r"$y[c, i] = \frac{1}{|\mathrm{window}|} \sum_{k \in \mathrm{window}(i)} x[c, k]$",
    help="Average pooling over 2-D windows, channel by channel. Output size per dimension: "
    "⌊(size + 2·padding − kernel) / stride⌋ + 1 (rounded up with ceil_mode).",
    params=_pool_params(2, average=True),
    inputs=(PortSpec("x", ranks=(4,), layout=_LAYOUT[2]),),
    shape=_pool_shape(2),
    flops_extra=lambda p, x, y: numel(y, "y") * prod(p.kernel_size),
    torch=TorchCall(
        module="nn.AvgPool2d",
        init=_pool_init(average=True),
        positional=1,
        defaults={"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True},
    ),
    keras=KerasCall(
        layer="layers.AveragePooling2D",
        init=_keras_pool_init,
        positional=1,
        defaults={"strides": None},
        call=_keras_avg_pool_call,
        unsupported=_keras_avg_pool_unsupported,
    ),
    examples=_pool_examples(2, average=True),
    traits=frozenset({Trait.WINDOWED}),
    summary=window,
    latency=_window_kernels,
    saves=saves_input,
)


def _adaptive_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    return {"y": spec.with_shape(spec.shape[:2] + tuple(p.output_size))}


def _adaptive_window_total(size: int, out: int) -> int:
    """Sum of the window lengths torch's adaptive pooling uses along one dimension."""
    return sum(math.ceil((i + 1) * size / out) - (i * size) // out for i in range(out))


def _adaptive_flops(p: Params, x: Shapes, y: Shapes) -> int:
    n, c, h, w = x["x"]
    oh, ow = p.output_size
    return n * c * _adaptive_window_total(h, oh) * _adaptive_window_total(w, ow)


def _adaptive_kernels(p: Params, x: Shapes, y: Shapes) -> tuple[Kernel]:
    n, c, h, w = x["x"]
    oh, ow = p.output_size
    return (pool_kernel(math.ceil(h / oh) * math.ceil(w / ow), x, y),)


ADAPTIVE_AVG_POOL_2D = LayerDef(
    type="AdaptiveAvgPool2d",
    category="Pooling",
    title="AdaptiveAvgPool2D",
    description="averages over windows sized so the output has a fixed height and width, whatever the input size",
    math=r"$y[c, i, j] = \frac{1}{|R_{ij}|} \sum_{(h, w) \in R_{ij}} x[c, h, w]$" "\n"
    r"$R_{ij}$: cell $(i, j)$ of an output_size grid laid over the input",
    help="Output is (N, C, output_size): window sizes follow from the input. output_size 1 averages each "
    "channel to one value (global average pooling, kept 4-D).",
    params=(ParamSpec("output_size", "int_or_tuple", 1, "output height and width", minimum=1, length=2),),
    inputs=(PortSpec("x", ranks=(4,), layout=_LAYOUT[2]),),
    shape=_adaptive_shape,
    flops_extra=_adaptive_flops,
    torch=TorchCall(
        module="nn.AdaptiveAvgPool2d",
        init=lambda p, x: {"output_size": _compact(p.output_size)},
        positional=1,
    ),
    keras=KerasCall(call=_keras_adaptive, unsupported=_keras_adaptive_unsupported, doc="keras.ops.average_pool"),
    examples=(
        Example({"x": ((2, 3, 7, 7), "float32")}),
        Example({"x": ((2, 3, 7, 5), "float32")}, {"output_size": [3, 2]}),
        Example({"x": ((2, 3, 3, 3), "float32")}, {"output_size": 4}),
    ),
    summary=lambda p: f"→ {dims(p.get('output_size'))}",
    latency=_adaptive_kernels,
    saves=_adaptive_saves,
)


def _global_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    return {"y": spec.with_shape(spec.shape[:2])}


GLOBAL_AVG_POOL_2D = LayerDef(
    type="GlobalAvgPool2d",
    category="Pooling",
    title="GlobalAvgPool2D",
    description="averages each channel over the whole image, giving one number per channel",
    math=r"$y[n, c] = \frac{1}{H W} \sum_{h, w} x[n, c, h, w]$",
    help="(N, C, H, W) → (N, C): the usual bridge from convolutions to a classifier head.",
    inputs=(PortSpec("x", ranks=(4,), layout=_LAYOUT[2]),),
    shape=_global_shape,
    flops_extra=lambda p, x, y: numel(x, "x"),
    torch=TorchCall(forward="{y} = {x}.mean(dim=(2, 3))"),
    keras=KerasCall(call="{y} = ops.mean({x}, axis=(2, 3))", doc="keras.layers.GlobalAveragePooling2D"),
    examples=(Example({"x": ((2, 3, 5, 7), "float32")}), Example({"x": ((1, 4, 1, 1), "float32")})),
    latency=runs_reduce,
    saves=saves_nothing,
)

GLOBAL_MAX_POOL_2D = LayerDef(
    type="GlobalMaxPool2d",
    category="Pooling",
    title="GlobalMaxPool2D",
    description="keeps the largest value of each channel over the whole image, giving one number per channel",
    math=r"$y[n, c] = \max_{h, w} x[n, c, h, w]$",
    help="(N, C, H, W) → (N, C): reports whether a feature was found anywhere in the image.",
    inputs=(PortSpec("x", ranks=(4,), layout=_LAYOUT[2]),),
    shape=_global_shape,
    flops_extra=lambda p, x, y: numel(x, "x") - numel(y, "y"),
    torch=TorchCall(forward="{y} = {x}.amax(dim=(2, 3))"),
    keras=KerasCall(call="{y} = ops.max({x}, axis=(2, 3))", doc="keras.layers.GlobalMaxPooling2D"),
    examples=(Example({"x": ((2, 3, 5, 7), "float32")}), Example({"x": ((1, 4, 1, 1), "float32")})),
    latency=runs_reduce,
    saves=_amax_saves,
)

LAYERS = [_max_pool(1), _max_pool(2), AVG_POOL_2D, ADAPTIVE_AVG_POOL_2D, GLOBAL_AVG_POOL_2D, GLOBAL_MAX_POOL_2D]
