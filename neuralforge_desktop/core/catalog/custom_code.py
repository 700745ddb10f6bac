"""Custom code: a node that carries its own PyTorch source.

An importer makes one for whatever it cannot map to a catalog type (data-dependent control flow, a module or
function NeuralForge does not know). The node keeps the class source, its constructor arguments and what was
*measured* when it was imported: the input and output shapes (per example; the batch is ``N``), the parameter
and buffer counts and the MACs, taken by running the module on the meta device. Shape inference, costs and
code generation read those measurements and never run the source: a graph file is data, and its code runs
only when the user has trusted it (see :mod:`neuralforge_desktop.core.build.code_trust`), when the model is
built to train or export.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from neuralforge_desktop.core.catalog.spec import LayerDef, Params, ParamSpec, PortSpec, TorchCall
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec, format_shape

TYPE = "CustomCode"
Specs = Mapping[str, TensorSpec]


def measured(p: Mapping[str, Any]) -> dict[str, Any]:
    """The node's measurements as a dict (empty when it was never measured or the text is not JSON)."""
    try:
        value = json.loads(p.get("measured") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _spec(record: Any) -> TensorSpec:
    shape, dtype = record
    return TensorSpec((BATCH, *shape), DType(dtype))


def _shape(p: Params, x: Specs) -> dict[str, TensorSpec]:
    found = measured(p)
    if not found.get("outputs"):
        raise ShapeError(None, "shapes measured on import", "none (re-import the code to measure it)")
    for i, record in enumerate(found.get("inputs", [])):
        port = f"x{i}"
        if port in x:
            want = _spec(record)
            got = x[port]
            if tuple(str(d) for d in got.shape[1:]) != tuple(str(d) for d in want.shape[1:]):
                raise ShapeError(port, f"(N, {format_shape(want.shape[1:], ', ')}) as measured when "
                                 f"'{p.class_name}' was imported", f"(N, {format_shape(got.shape[1:], ', ')})")
    return {f"y{i}": _spec(record) for i, record in enumerate(found["outputs"])}


def _count(key: str) -> Any:
    def rule(p: Params, x: Specs) -> int:
        return int(measured(p).get(key, 0))
    return rule


def _macs(p: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]]) -> int:
    return int(measured(p).get("macs", 0))


def _source(p: Params) -> tuple[str, str]:
    return p.class_name, p.source


def _init(p: Params, x: Specs) -> dict[str, Any]:
    kwargs = json.loads(p.init_kwargs or "{}")
    return kwargs if isinstance(kwargs, dict) else {}


def _summary(p: Mapping[str, Any]) -> str:
    return f"code · {p.get('class_name', '?')}"


CUSTOM_CODE = LayerDef(
    type=TYPE,
    category="Custom",
    title="Custom code",
    description="your own PyTorch code, run as it is",
    math=r"$y = f(x)$",
    help="PyTorch source carried by the node: an importer made it for code it could not map to a catalog "
    "layer (the reason is in the notes). Shapes, parameters and MACs were measured when it was imported; the "
    "code runs only when you have trusted it, to train or export.",
    params=(
        ParamSpec("class_name", "str", "CustomCode", "the nn.Module class the source defines"),
        ParamSpec("source", "str", "", "the class's Python source (and what it needs)", advanced=True),
        ParamSpec("init_kwargs", "str", "{}", "constructor arguments, as a JSON object", advanced=True),
        ParamSpec("num_inputs", "int", 1, "tensors passed to forward", minimum=1),
        ParamSpec("num_outputs", "int", 1, "tensors forward returns", minimum=1),
        ParamSpec("measured", "str", "", "shapes, parameters and MACs measured on import (JSON)", advanced=True),
    ),
    inputs=(PortSpec("x", dtype="any", layout="(N, …)", variadic=True, count_param="num_inputs"),),
    outputs=(PortSpec("y", dtype="any", layout="(N, …)", variadic=True, count_param="num_outputs"),),
    shape=_shape,
    param_count=_count("params"),
    buffer_count=_count("buffers"),
    macs=_macs,
    torch=TorchCall(init=_init, forward="{y} = {self}({x})", source=_source),
    summary=_summary,
)

LAYERS = [CUSTOM_CODE]
