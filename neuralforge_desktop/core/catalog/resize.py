"""Resizing: upsampling feature maps by a scale factor. No weights."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from neuralforge_desktop.core.catalog.export_spec import ExportLimit
from neuralforge_desktop.core.catalog.keras_sources import fixed_sizes
from neuralforge_desktop.core.catalog.kernels import runs_copy, runs_elementwise_math
from neuralforge_desktop.core.catalog.memory_spec import saves_nothing
from neuralforge_desktop.core.catalog.shape_utils import numel
from neuralforge_desktop.core.catalog.spec import Example, KerasCall, LayerDef, Params, ParamSpec, PortSpec, TorchCall
from neuralforge_desktop.core.catalog.summaries import number
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import Dim, TensorSpec, describe_shape, dim_expr

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]
_MAX_DENOMINATOR = 1000


def _scaled(size: Dim, scale: float, spec: TensorSpec) -> Dim:
    """⌊size · scale⌋ as torch computes it; a symbolic size needs a scale that is a simple fraction."""
    if isinstance(size, int):
        out = math.floor(size * scale)
        if out < 1:
            raise ShapeError("x", f"a spatial size of at least {math.ceil(1 / scale)} for scale_factor {scale}",
                             describe_shape(spec.shape), field="scale_factor")
        return out
    ratio = Fraction(scale)
    if ratio.denominator == 1:
        return dim_expr(size, f"{{}}*{ratio.numerator}")
    if ratio.denominator > _MAX_DENOMINATOR:
        raise ShapeError("x", f"fixed spatial sizes for scale_factor {scale} (not a simple fraction)",
                         describe_shape(spec.shape), field="scale_factor")
    return dim_expr(size, f"{{}}*{ratio.numerator}//{ratio.denominator}")


def _upsample_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    spec = x["x"]
    if p.mode == "bilinear" and spec.rank != 4:
        raise ShapeError("x", "rank 4 (N, C, H, W) for mode 'bilinear'", describe_shape(spec.shape))
    if p.mode == "nearest" and p.align_corners is not None:
        raise ShapeError(None, "align_corners left empty for mode 'nearest' (it applies to 'bilinear' only)",
                         f"align_corners={p.align_corners}", field="align_corners")
    spatial = tuple(_scaled(d, p.scale_factor, spec) for d in spec.shape[2:])
    return {"y": spec.with_shape(spec.shape[:2] + spatial)}


def _upsample_init(p: Params, x: Specs) -> dict[str, object]:
    return {"scale_factor": p.scale_factor, "mode": p.mode, "align_corners": p.align_corners}


def _keras_upsample(p: Params, x: Specs) -> str:
    spec = x["x"]
    if p.mode == "nearest":  # a whole-number scale repeats every value along each spatial axis
        expression = "{x}"
        for axis in range(2, spec.rank):
            expression = f"ops.repeat({expression}, {int(p.scale_factor)}, axis={axis})"
        return "{y} = " + expression
    sizes = tuple(math.floor(size * p.scale_factor) for size in fixed_sizes(spec, (2, 3)) or ())
    return f'{{y}} = ops.image.resize({{x}}, {sizes}, interpolation="bilinear", data_format="channels_first")'


def _keras_upsample_unsupported(p: Params, x: Specs) -> str:
    if p.mode == "nearest":
        return "" if p.scale_factor.is_integer() else "nearest upsampling by a scale that is not a whole number"
    if p.align_corners:
        return "bilinear resizing with align_corners has no Keras form"
    sizes = fixed_sizes(x["x"], (2, 3))
    if sizes is None or any(math.floor(size * p.scale_factor) != size * p.scale_factor for size in sizes):
        return ("bilinear resizing matches torch only where the scaled sizes are whole numbers (Keras samples "
                "by the ratio of the sizes, torch by scale_factor)")
    return ""


UPSAMPLE = LayerDef(
    type="Upsample",
    category="Resize",
    description="enlarges the feature map by repeating (nearest) or blending (bilinear) neighbouring values",
    math=r"$y[c, i, j] = x[c, \lfloor i / s \rfloor, \lfloor j / s \rfloor]$ (nearest)" "\n"
    "bilinear: a weighted average of the 4 nearest inputs",
    help="Scales every spatial dimension by scale_factor; output size ⌊size · scale_factor⌋. No weights: for a "
    "learned upsampling use ConvTranspose2d. align_corners only applies to bilinear.",
    params=(
        ParamSpec("scale_factor", "float", 2.0, "how many times larger each spatial dimension gets",
                  minimum=0.01, maximum=64.0),
        ParamSpec("mode", "choice", "nearest", "nearest copies values; bilinear interpolates them",
                  choices=("nearest", "bilinear")),
        ParamSpec("align_corners", "bool", None, "bilinear only: align the corner pixels of input and output",
                  optional=True, advanced=True),
    ),
    inputs=(PortSpec("x", ranks=(3, 4, 5), layout="(N, C, …spatial)"),),
    shape=_upsample_shape,
    flops_extra=lambda p, x, y: 4 * numel(y, "y") if p.mode == "bilinear" else 0,
    torch=TorchCall(
        module="nn.Upsample",
        init=_upsample_init,
        defaults={"mode": "nearest", "align_corners": None},
    ),
    keras=KerasCall(call=_keras_upsample, unsupported=_keras_upsample_unsupported,
                    doc="keras.layers.UpSampling2D"),
    examples=(
        Example({"x": ((2, 3, 4, 5), "float32")}),
        Example({"x": ((2, 3, 4, 5), "float32")}, {"mode": "bilinear"}),
        Example({"x": ((2, 3, 5, 7), "float32")}, {"mode": "bilinear", "scale_factor": 1.5, "align_corners": True}),
        Example({"x": ((2, 3, 5), "float32")}, {"scale_factor": 3}),
        Example({"x": ((1, 2, 3, 4, 5), "float32")}),
        Example({"x": ((2, 3, 8, 6), "float32")}, {"scale_factor": 0.5}),
    ),
    summary=lambda p: f"×{number(p.get('scale_factor'))} {p.get('mode', '')}".strip(),
    latency=lambda p, x, y: runs_elementwise_math(p, x, y) if p.mode == "bilinear" else runs_copy(p, x, y),
    saves=saves_nothing,  # nearest and bilinear backward need only the sizes
    export_limits=(
        # TFLite's 2-D nearest resize picks other source pixels than torch at a fractional scale (measured: whole
        # pixels apart); 1-D and 3-D inputs are lowered to gathers that agree
        ExportLimit("tflite", "TFLite's 2-D nearest resize picks other pixels than torch at a fractional scale",
                    when=lambda p, x: p["mode"] == "nearest" and len(x["x"].shape) == 4
                    and not float(p["scale_factor"]).is_integer(),
                    condition="mode nearest, a 2-D input and a fractional scale_factor",
                    suggestion="mode bilinear, or a whole scale_factor (a pooling layer to shrink)"),
        ExportLimit("coreml", "Core ML's converter has no 3-D (volume) upsampling",
                    when=lambda p, x: len(x["x"].shape) == 5, condition="a 3-D volume input (N, C, D, H, W)"),
    ),
)

LAYERS = [UPSAMPLE]
