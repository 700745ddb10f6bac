"""Core ML export: an ML program (``.mlpackage``) for iOS 16 / macOS 13 and later.

Route: ``torch.jit.trace`` of the built model, then ``coremltools.convert(convert_to="mlprogram")``. Tracing
takes every model here (``torch.export`` needs the LSTM decomposed first and names the inputs ``inputs_0``);
``check_trace=False`` because the transformer's attention re-traces with different node names, which the check
reports although the outputs agree.

* fp32 / fp16: the program's compute precision; inputs and outputs stay float32 either way (an app hands in
  and reads float32 arrays), int64 inputs become int32 (Core ML has no 64-bit integers).
* int8-weights: the fp16 program, then ``coremltools.optimize.coreml.linear_quantize_weights`` (symmetric int8
  per output channel): weights are stored as int8 and dequantised at load, the arithmetic stays fp16.

Shapes are fixed at conversion: batch 1 when the job marks axis 0 of every input as the batch axis (Core ML
predicts one sample at a time), the example's shapes otherwise. With ``job.class_labels`` and a single output
of one score per label, the model is a Core ML classifier: besides the scores it gives the top label.

Prediction runs only on macOS, so on other systems :data:`EXPORTER` has no ``run`` and verification is
:func:`check`: the saved package is reloaded without compiling it and its spec compared with the job (input and
output names, shapes and types) and the MIL op histogram returned.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError, ExportFormat, Tolerance
from neuralforge_desktop.core.exporters.common import conversion_example, first_line

# Compared only on macOS, where predictions run, so not measured here. fp32 as TFLite's; fp16 looser than TFLite's
# fp16 (which stores weights in float16 but computes in float32): Core ML computes in float16 throughout, and
# activations lose bits at every layer; int8 weights on top of that add TFLite's measured int8-weights error.
TOLERANCES: dict[str, Tolerance] = {
    "fp32": Tolerance(max_abs=1e-4, mean_abs=1e-5),
    "fp16": Tolerance(max_abs=2e-2, mean_abs=5e-3),
    "int8-weights": Tolerance(max_abs=0.1, mean_abs=0.02),
}
DEPLOYMENT_TARGET = "iOS16"
LABEL_SUFFIX = "_label"  # a classifier's top label is the output <scores>_label; its scores <scores>_label_probs
# MLMultiArray data types in the spec (FeatureTypes.proto) → numpy names
_ARRAY_TYPES = {65568: "float32", 65552: "float16", 65600: "float64", 131104: "int32", 131080: "int8"}


def convert(job: ConvertJob) -> None:
    """Write ``job.model`` as an ML program package at ``job.output``."""
    if job.precision not in TOLERANCES:
        raise ExportError(f"Core ML has no precision {job.precision!r}; choose one of {', '.join(TOLERANCES)}")
    import coremltools as ct
    import torch

    example = conversion_example(job)
    tensors = tuple(example.values())
    job.report(0.1, "tracing the model")
    with torch.no_grad():
        outputs = _as_tuple(job.model(*tensors))
    passthrough = any(out is t for out in outputs for t in tensors)
    flags = tuple(t.dtype == torch.bool for t in tensors)
    traceable = _traceable(job.model, passthrough, flags)
    traced_inputs = tuple(t.to(torch.int32) if flag else t for t, flag in zip(tensors, flags, strict=True))
    try:
        # traced with autograd on: under no_grad torch's transformer layers take a fused fast path (one
        # ``_transformer_encoder_layer_fwd`` op) that Core ML cannot convert
        traced = torch.jit.trace(traceable, traced_inputs, check_trace=False)
    except Exception as exc:
        raise ExportError(f"Core ML: tracing the model failed: {first_line(exc)}") from exc
    inputs = [ct.TensorType(name=name, shape=tuple(t.shape), dtype=_input_dtype(t)) for name, t in example.items()]
    out_types = [ct.TensorType(name=name, dtype=_np_float32()) for name in job.output_names]
    classifier = _classifier(job, outputs)
    job.report(0.3, "converting to an ML program")
    compute = ct.precision.FLOAT32 if job.precision == "fp32" else ct.precision.FLOAT16
    options: dict[str, Any] = {}
    if classifier is not None:
        options["classifier_config"] = classifier
    if passthrough:  # an output that is an input unchanged: keep the multiplication the wrapper adds
        pipeline = ct.PassPipeline.DEFAULT
        pipeline.remove_passes(["common::noop_elimination"])
        options["pass_pipeline"] = pipeline
    try:
        mlmodel = ct.convert(traced, inputs=inputs, outputs=out_types, convert_to="mlprogram",
                             minimum_deployment_target=getattr(ct.target, DEPLOYMENT_TARGET),
                             compute_precision=compute, **options)
    except Exception as exc:
        raise ExportError(f"Core ML conversion failed: {first_line(exc)}") from exc
    if job.precision == "int8-weights":
        job.report(0.7, "quantising weights to int8")
        mlmodel = quantize_weights(mlmodel)
    mlmodel.short_description = str(job.metadata.get("graph", ""))
    mlmodel.user_defined_metadata.update({f"neuralforge.{k}": str(v) for k, v in job.metadata.items()})
    job.report(0.9, "writing the .mlpackage")
    mlmodel.save(str(job.output))
    job.facts.update(route="torch.jit.trace, then coremltools (ML program)", deployment_target=DEPLOYMENT_TARGET,
                     shapes={n: list(t.shape) for n, t in example.items()}, classifier=classifier is not None)
    job.report(1.0, "converted")


def _np_float32() -> Any:
    import numpy as np

    return np.float32


def _input_dtype(tensor: Any) -> Any:
    """Core ML's type for an input: float32, or int32 for integer and boolean ones (it has neither int64 nor
    bool inputs; a boolean mask arrives as 0/1 and is compared with 0 inside the program)."""
    import numpy as np

    return np.float32 if tensor.dtype.is_floating_point else np.int32


def _as_tuple(out: Any) -> tuple[Any, ...]:
    return out if isinstance(out, tuple) else (out,)


def _traceable(model: Any, passthrough: bool, bool_inputs: Sequence[bool]) -> Any:
    """The module traced: ``model`` taking boolean inputs as int32 (0/1); where an output is an input unchanged
    it is multiplied by one, since Core ML cannot name one variable both an input and an output (a ``clone`` is
    folded into the input by the converter's front end, a multiplication by one only by the no-op pass, which
    such a model is converted without)."""
    if not passthrough and not any(bool_inputs):
        return model
    from torch import nn

    class Traceable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            given = [x != 0 if flag else x for x, flag in zip(inputs, bool_inputs, strict=True)]
            out = self.model(*given)
            outs = tuple(o * 1 if any(o is t for t in given) else o for o in _as_tuple(out))
            return outs if isinstance(out, tuple) else outs[0]

    return Traceable().eval()


def _classifier(job: ConvertJob, outputs: Sequence[Any]) -> Any:
    """A classifier config when the job has class labels and the model one output of one score per label."""
    if not job.class_labels:
        return None
    import coremltools as ct

    labels = [str(label) for label in job.class_labels]
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else ()
    if len(outputs) != 1 or len(shape) != 2 or shape[-1] != len(labels) or shape[0] != 1:
        raise ExportError(f"Core ML classifier: {len(labels)} class labels need one output of shape "
                          f"(1, {len(labels)}); the model gives "
                          f"{', '.join(str(tuple(o.shape)) for o in outputs)}")
    return ct.ClassifierConfig(labels, predicted_feature_name=f"{job.output_names[0]}{LABEL_SUFFIX}")


def quantize_weights(mlmodel: Any) -> Any:
    """An ML program's weights as symmetric int8 per output channel (tensors of 2,048 elements or more)."""
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

    config = OptimizationConfig(global_config=OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8"))
    try:
        return linear_quantize_weights(mlmodel, config)
    except Exception as exc:
        raise ExportError(f"Core ML int8 weight quantisation failed: {first_line(exc)}") from exc


# -- checking the saved package ---------------------------------------------------------------------------------

def check(path: Path, job: ConvertJob) -> dict[str, Any]:
    """Reload the package without compiling it (possible on any system) and compare its spec with ``job``:
    input names, shapes and types, output names, shapes and types. Returns those facts and the MIL op
    histogram; raises :class:`ExportError` naming the first mismatch."""
    import coremltools as ct
    import numpy as np
    import torch

    try:
        spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    except Exception as exc:
        raise ExportError(f"{Path(path).name}: not a readable Core ML package: {first_line(exc)}") from exc
    if spec.WhichOneof("Type") != "mlProgram":
        raise ExportError(f"{Path(path).name}: expected an ML program, found a {spec.WhichOneof('Type')} model")
    example = conversion_example(job)
    with torch.no_grad():
        outputs = _as_tuple(job.model(*example.values()))
    expected_in = {name: (tuple(int(d) for d in t.shape), np.dtype(_input_dtype(t)).name)
                   for name, t in example.items()}
    found_in = {f.name: (tuple(int(d) for d in f.type.multiArrayType.shape),
                         _ARRAY_TYPES.get(f.type.multiArrayType.dataType, str(f.type.multiArrayType.dataType)))
                for f in spec.description.input}
    _compare("input", expected_in, found_in)
    program_shapes = _program_output_shapes(spec)
    expected_out = {name: (tuple(int(d) for d in t.shape), "float32")
                    for name, t in zip(job.output_names, outputs, strict=True)}
    found_out: dict[str, tuple[tuple[int, ...], str]] = {}
    labels: list[str] = []
    for f in spec.description.output:
        kind = f.type.WhichOneof("Type")
        if kind == "multiArrayType":
            found_out[f.name] = (program_shapes.get(f.name, ()), _ARRAY_TYPES.get(f.type.multiArrayType.dataType,
                                                                                  "?"))
    if spec.description.predictedFeatureName:
        labels = _class_labels(spec)
        expected_label = f"{job.output_names[0]}{LABEL_SUFFIX}"
        if spec.description.predictedFeatureName != expected_label:
            raise ExportError(f"Core ML package: the classifier's label output is "
                              f"{spec.description.predictedFeatureName!r}, expected {expected_label!r}")
        if list(job.class_labels or []) and labels != [str(label) for label in job.class_labels or []]:
            raise ExportError(f"Core ML package: class labels {labels[:5]}… differ from the job's")
        expected_out = {}  # a classifier exposes its scores as a dictionary keyed by label, not as an array
    elif job.class_labels:
        raise ExportError("Core ML package: the job has class labels but the package is no classifier")
    _compare("output", expected_out, found_out)
    return {
        "inputs": {name: {"shape": list(shape), "dtype": dtype} for name, (shape, dtype) in found_in.items()},
        "outputs": {f.name: _feature_facts(f, found_out) for f in spec.description.output},
        "class_labels": len(labels),
        "ops": op_histogram(spec),
        "spec_version": int(spec.specificationVersion),
        "deployment_target": DEPLOYMENT_TARGET,
        "predictions_compared": EXPORTER.run is not None,
    }


def _compare(kind: str, expected: Mapping[str, tuple[tuple[int, ...], str]],
             found: Mapping[str, tuple[tuple[int, ...], str]]) -> None:
    if list(expected) != list(found) and set(expected) != set(found):
        raise ExportError(f"Core ML package: {kind} names {sorted(found)} differ from the graph's {sorted(expected)}")
    for name, (shape, dtype) in expected.items():
        got_shape, got_dtype = found[name]
        if got_shape != shape:
            raise ExportError(f"Core ML package: {kind} {name!r} has shape {got_shape}, expected {shape}")
        if got_dtype != dtype:
            raise ExportError(f"Core ML package: {kind} {name!r} is {got_dtype}, expected {dtype}")


def _feature_facts(feature: Any, arrays: Mapping[str, tuple[tuple[int, ...], str]]) -> dict[str, Any]:
    if feature.name in arrays:
        shape, dtype = arrays[feature.name]
        return {"shape": list(shape), "dtype": dtype}
    return {"type": feature.type.WhichOneof("Type")}


def _program_blocks(spec: Any) -> list[Any]:
    main = spec.mlProgram.functions["main"]
    return [main.block_specializations[main.opset]] if main.opset in main.block_specializations else \
        list(main.block_specializations.values())


def _program_output_shapes(spec: Any) -> dict[str, tuple[int, ...]]:
    """Output name → shape, read from the type of the MIL variable each output names."""
    shapes: dict[str, tuple[int, ...]] = {}
    for block in _program_blocks(spec):
        wanted = set(block.outputs)
        for op in block.operations:
            for out in op.outputs:
                if out.name in wanted and out.type.WhichOneof("type") == "tensorType":
                    dims = out.type.tensorType.dimensions
                    shapes[out.name] = tuple(int(d.constant.size) for d in dims)
    return shapes


def _class_labels(spec: Any) -> list[str]:
    """The labels a classifier program carries: the list its ``classify`` op is given."""
    for block in _program_blocks(spec):
        consts = {op.outputs[0].name: op.attributes["val"] for op in block.operations
                  if op.type == "const" and op.outputs}
        for op in block.operations:
            if op.type != "classify":
                continue
            argument = op.inputs["classes"].arguments[0]
            value = consts[argument.name] if argument.name else argument.value
            return [_scalar(item.immediateValue.tensor) for item in value.immediateValue.list.values]
    return []


def _scalar(tensor: Any) -> str:
    for values in (tensor.strings.values, tensor.longInts.values, tensor.ints.values):
        if len(values):
            return str(values[0])
    return ""


def op_histogram(spec: Any) -> dict[str, int]:
    """MIL op type → count over the program (nested blocks included)."""
    counts: dict[str, int] = {}

    def walk(block: Any) -> None:
        for op in block.operations:
            counts[op.type] = counts.get(op.type, 0) + 1
            for inner in op.blocks:
                walk(inner)

    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            walk(block)
    return dict(sorted(counts.items()))


# -- prediction (macOS only) ------------------------------------------------------------------------------------

def session(path: Path) -> Callable[[Sequence[Any]], list[Any]]:
    """The compiled model, kept loaded: inputs in the graph's input order → outputs in its output order (a
    classifier's scores in label order). Core ML compiles and predicts only on macOS."""
    import coremltools as ct
    import numpy as np

    model = ct.models.MLModel(str(path))
    spec = model.get_spec()
    input_names = [f.name for f in spec.description.input]
    classifier = spec.description.predictedProbabilitiesName
    labels = _class_labels(spec) if classifier else []
    output_names = [f.name for f in spec.description.output if f.type.WhichOneof("Type") == "multiArrayType"]
    int_inputs = {f.name for f in spec.description.input if f.type.multiArrayType.dataType == 131104}

    def predict(inputs: Sequence[Any]) -> list[Any]:
        feed = {name: np.asarray(a).astype(np.int32 if name in int_inputs else np.float32)
                for name, a in zip(input_names, inputs, strict=True)}
        out = model.predict(feed)
        if classifier:
            scores = out[classifier]
            return [np.asarray([[scores[label] for label in labels]], dtype=np.float32)]
        return [np.asarray(out[name]) for name in output_names]

    return predict


def run(path: Path, inputs: Sequence[Any]) -> list[Any]:
    return session(path)(inputs)


_ON_MAC = platform.system() == "Darwin"

EXPORTER = ExportFormat(
    name="coreml",
    title="Core ML",
    suffix=".mlpackage",
    precisions=("fp32", "fp16", "int8-weights"),
    requires=("coremltools",),
    convert=convert,
    tolerances=TOLERANCES,
    static_shapes=True,
    run=run if _ON_MAC else None,
    check=check,
    session=session if _ON_MAC else None,
)

