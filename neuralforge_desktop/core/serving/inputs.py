"""Reading a predict request (``{"instances": [...], "key": "..."}``) and checking it against the model's input,
and reading what an ONNX file expects.

Every refusal is a :class:`BadRequest` whose message names the field at fault (``instances[3]``, ``key``) and
says what was expected and what was received; the router answers it with HTTP 400 and keeps serving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.spec import InputSpec

MAX_INSTANCES = 10_000  # per request: more is a client bug, and would hold a replica for long

# onnxruntime's type strings → numpy dtype names (the element types a served model takes)
ONNX_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
              "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
              "tensor(bool)": "bool"}


class BadRequest(Exception):
    """A request the client must fix; ``str(exc)`` is the message for the 400 answer."""


@dataclass(frozen=True)
class PredictRequest:
    instances: list[Any]
    key: str | None


def parse_predict_body(body: bytes) -> PredictRequest:
    """The JSON body of ``:predict``. The sticky-routing key may come in the body's ``key`` field."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest(f'request body must be a JSON object with an "instances" list, got {_kind(payload)}')
    if "instances" not in payload:
        fields = ", ".join(sorted(payload)) or "none"
        raise BadRequest(f'field "instances" is missing (fields received: {fields}); send {{"instances": [...]}}')
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest(f'field "instances" must be a non-empty list, got {_kind(instances)}')
    if len(instances) > MAX_INSTANCES:
        raise BadRequest(f'field "instances" holds {len(instances)} instances; at most {MAX_INSTANCES} per request')
    key = payload.get("key")
    if key is not None and not isinstance(key, str):
        raise BadRequest(f'field "key" must be a string, got {_kind(key)}')
    return PredictRequest(instances=instances, key=key)


def instances_to_array(instances: list[Any], spec: InputSpec) -> np.ndarray:
    """The instances stacked into one batch of the model's dtype, or a :class:`BadRequest` naming the first
    instance that does not fit (its index, the shape expected and the shape received)."""
    try:
        batch = np.asarray(instances, dtype=spec.dtype)
    except (ValueError, TypeError):  # ragged lists, or something that is not a number: find which one
        batch = None
    if batch is not None and _fits(batch.shape[1:], spec.shape):
        return batch
    for index, instance in enumerate(instances):
        try:
            array = np.asarray(instance, dtype=spec.dtype)
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"instances[{index}]: expected {spec.dtype} numbers in shape {spec.shape_text()} "
                             f"for input {spec.name!r}: {exc}") from None
        if not _fits(array.shape, spec.shape):
            raise BadRequest(f"instances[{index}]: expected shape {spec.shape_text()} for input {spec.name!r}, "
                             f"received {tuple(array.shape)}")
    raise BadRequest(f'field "instances": the instances do not stack into one batch of shape {spec.shape_text()}')


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected, strict=True))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    names = {dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def describe_onnx(path: Path) -> tuple[InputSpec, tuple[str, ...]]:
    """The first input (name, shape without batch, dtype, fixed batch size if any) and the output names of
    an ONNX file, as onnxruntime reads them."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    if not path.is_file():
        raise UserError(f"ONNX file not found: {path}")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable or invalid models
        raise UserError(f"{path}: onnxruntime cannot load it: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise UserError(f"{path}: serving takes models with one input, this one has {len(inputs)} ({names})")
    first = inputs[0]
    if first.type not in ONNX_TYPES:
        raise UserError(f"{path}: input {first.name!r} has element type {first.type}, which JSON cannot carry")
    if not first.shape:
        raise UserError(f"{path}: input {first.name!r} is a scalar; serving needs a batch dimension")
    dims = [d if isinstance(d, int) and d > 0 else None for d in first.shape]
    spec = InputSpec(name=first.name, shape=tuple(dims[1:]), dtype=ONNX_TYPES[first.type], batch=dims[0])
    return spec, tuple(o.name for o in session.get_outputs())
