"""Graph inputs and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neuralforge_desktop.core.catalog.memory_spec import saves_nothing
from neuralforge_desktop.core.catalog.spec import KerasCall, LayerDef, Params, ParamSpec, PortSpec, TorchCall, Trait
from neuralforge_desktop.core.catalog.summaries import dims
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec


def _input_shape(p: Params, x: Mapping[str, TensorSpec]) -> dict[str, TensorSpec]:
    dims = tuple(p.shape)
    shape = ((BATCH,) + dims) if p.batch else dims
    return {"y": TensorSpec(shape, DType(p.dtype))}


def _input_summary(p: Mapping[str, Any]) -> str:
    shape = dims(p.get("shape", ()))
    dtype = p.get("dtype", "float32")
    text = shape if dtype == "float32" else f"{shape} · {dtype}"
    return f"target · {text}" if p.get("role") == "target" else text


def _output_shape(p: Params, x: Mapping[str, TensorSpec]) -> dict[str, TensorSpec]:
    return {}


INPUT = LayerDef(
    type="Input",
    category="Input / Output",
    title="Input",
    description="a tensor fed into the model",
    math="$x$",
    help="A model input. Shape excludes the batch dimension, which is added as N. "
    "Use a name such as T for a variable-length dimension. Role 'target' marks labels for a loss.",
    params=(
        ParamSpec("shape", "dims", (1, 28, 28), "shape without the batch dimension, e.g. [1, 28, 28] or ['T']"),
        ParamSpec("dtype", "choice", "float32", "element type", choices=tuple(d.value for d in DType)),
        ParamSpec("batch", "bool", True, "prepend the batch dimension N"),
        ParamSpec("role", "choice", "data", "data feeds the model; target holds labels for a loss",
                  choices=("data", "target")),
    ),
    inputs=(),
    outputs=(PortSpec("y", dtype="any"),),
    shape=_input_shape,
    simple=True,
    keras=KerasCall(call="", doc="keras.Input"),
    traits=frozenset({Trait.NO_KERNEL}),
    saves=saves_nothing,
    summary=_input_summary,
)

OUTPUT = LayerDef(
    type="Output",
    category="Input / Output",
    title="Output",
    description="a tensor the model returns",
    math="$y = x$",
    help="A model output; the node id names it in generated code.",
    inputs=(PortSpec("x", dtype="any"),),
    outputs=(),
    shape=_output_shape,
    torch=TorchCall(forward=""),
    simple=True,
    traits=frozenset({Trait.NO_KERNEL}),
    saves=saves_nothing,
)

LAYERS = [INPUT, OUTPUT]
