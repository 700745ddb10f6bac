"""Dropout: randomly zeroes values during training to fight overfitting; the identity at inference.

Cost: nothing is costed (0 MACs, 0 extra FLOPs): the cost model describes inference, where dropout is a
pass-through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from neuralforge_desktop.core.catalog.autograd_rules import dropout_keeps
from neuralforge_desktop.core.catalog.kernels import runs_view
from neuralforge_desktop.core.catalog.memory_spec import Autograd, Layout, Placement, Saved, elementwise, same_view
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
from neuralforge_desktop.core.catalog.summaries import dropout_rate
from neuralforge_desktop.core.ir.types import TensorSpec

Specs = Mapping[str, TensorSpec]
Shapes = Mapping[str, tuple[int, ...]]


def _same_shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    return {"y": x["x"]}


def _dropout_init(p: Params, x: Specs) -> dict[str, object]:
    return {"p": p.p}


def _dropout_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return dropout_keeps(p.p, math.prod(x["x"]))


def _channel_dropout_saves(p: Params, x: Shapes, y: Shapes, grad: Autograd) -> list[Saved]:
    return dropout_keeps(p.p, x["x"][0] * x["x"][1])  # one mask value per (sample, channel)


def _dropout_layout(p: Params, x: Shapes, layout: Layout) -> Placement:
    """In training p = 0 hands the input back; any other p makes a new tensor (input times mask)."""
    return same_view(p, x, layout) if p.p == 0 else elementwise(p, x, layout)


# The identity at inference: only its call costs latency, looked through by pattern rules, and its p is checked.
_TRAITS = frozenset({Trait.DROPOUT, Trait.NO_KERNEL, Trait.PASS_THROUGH})


def _keras_dropout(layer: str, data_format: bool = False) -> KerasCall:
    """The same dropout: Keras zeroes with probability rate and scales the rest by 1/(1 − rate) while training."""
    return KerasCall(
        layer=layer,
        init=lambda p, x: {"rate": p.p, **({"data_format": "channels_first"} if data_format else {})},
        positional=1,
        unsupported=lambda p, x: "Keras' dropout refuses p = 1 while training" if p.p == 1 else "",
    )


def _p_param(what: str) -> ParamSpec:
    return ParamSpec("p", "float", 0.5, f"probability that {what} is zeroed during training",
                     minimum=0.0, maximum=1.0)


DROPOUT = LayerDef(
    type="Dropout",
    category="Regularization",
    description="during training, randomly switches off values so the network cannot rely on any single one",
    math=r"$y = \frac{m \odot x}{1 - p}$,  $m \sim \operatorname{Bernoulli}(1 - p)$" "\n" r"($y = x$ at inference)",
    help="Zeroes each value with probability p while training and scales the rest by 1/(1 − p), so nothing "
    "changes at inference. Typical p: 0.1 to 0.5.",
    params=(_p_param("each value"),),
    inputs=(PortSpec("x", layout="(N, …)"),),
    shape=_same_shape,
    torch=TorchCall(module="nn.Dropout", init=_dropout_init, defaults={"p": 0.5}),
    keras=_keras_dropout("layers.Dropout"),
    simple=True,
    examples=(
        Example({"x": ((2, 10), "float32")}),
        Example({"x": ((2, 5, 16), "float32")}, {"p": 0.1}),
        Example({"x": ((2, 3, 4, 4), "float32")}, {"p": 0.0}),
        Example({"x": ((2, 6), "float32")}, {"p": 1.0}),
    ),
    traits=_TRAITS,
    latency=runs_view,  # at inference torch returns the input: only the call costs
    summary=dropout_rate,
    saves=_dropout_saves,
    layout=_dropout_layout,
)

DROPOUT_2D = LayerDef(
    type="Dropout2d",
    category="Regularization",
    title="Dropout2D",
    description="during training, randomly switches off whole channels (feature maps) of an image",
    math=r"$y[n, c] = \frac{m[n, c]\, x[n, c]}{1 - p}$,  $m \sim \operatorname{Bernoulli}(1 - p)$" "\n"
    r"($y = x$ at inference)",
    help="Spatial dropout: neighbouring pixels are strongly correlated, so dropping single values does "
    "little; this drops entire channels instead.",
    params=(_p_param("each channel"),),
    inputs=(PortSpec("x", ranks=(4,), layout="(N, C, H, W)"),),
    shape=_same_shape,
    torch=TorchCall(module="nn.Dropout2d", init=_dropout_init, defaults={"p": 0.5}),
    keras=_keras_dropout("layers.SpatialDropout2D", data_format=True),
    examples=(
        Example({"x": ((2, 3, 4, 4), "float32")}),
        Example({"x": ((2, 8, 5, 7), "float32")}, {"p": 0.2}),
    ),
    traits=_TRAITS,
    latency=runs_view,  # at inference torch returns the input: only the call costs
    summary=dropout_rate,
    saves=_channel_dropout_saves,
    layout=_dropout_layout,
)

LAYERS = [DROPOUT, DROPOUT_2D]
