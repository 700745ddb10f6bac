"""Post-training quantisation of a trained run: dynamic int8, static int8 and float16.

The parent's weights are exported to a float file of the target runtime by the exporter (:mod:`..exporters`),
which is the "before" model; the quantised file is made from it:

* onnxruntime: ``onnxruntime.quantization`` makes the int8 files. Dynamic int8 quantises the matrix products
  (fully connected, attention, recurrent cells); convolutions stay float, because onnxruntime's dynamic int8
  convolution (``ConvInteger``) ran 3–4× slower than float on this CPU (MNIST CNN, batch 1). Static int8 stores
  weights (per channel) and activations as int8 in QDQ form, calibrated by min/max over training examples read by a
  ``CalibrationDataReader``; unsigned activations with signed weights, onnxruntime's recommended pairing on x86.
  Float16 uses the float16 converter of onnxconverter-common (the copy shipped inside onnxruntime when the package
  itself is not installed), keeping float32 inputs and outputs.
* LiteRT: the TFLite exporter's own precisions (``int8-weights``, ``int8``, ``fp16``), which quantise with
  ai-edge-quantizer and litert-torch's PT2E quantiser.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.optimize.flow import export_float, finish, place_file, work_dir
from neuralforge_desktop.core.optimize.lineage import ParentRun, child_run, load_parent
from neuralforge_desktop.core.optimize.measure import EvaluationData, training_samples
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.sqlite_store import Store

DYNAMIC_OPS = ["MatMul", "Gemm", "Attention", "LSTM", "GRU"]
CALIBRATION_BATCH = 16
LITERT_PRECISIONS = {"quantize-dynamic-int8": "int8-weights", "quantize-static-int8": "int8", "fp16": "fp16"}
SUFFIXES = {"onnxruntime": ".onnx", "litert": ".tflite"}

# (float file, quantised file to write, parent run, options) → notes about what was done
Quantizer = Callable[[Path, Path, ParentRun, OptimizeOptions], list[str]]


def optimize_dynamic_int8(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    return post_training(store, run_id, options, "quantize-dynamic-int8", "int8-dynamic", _dynamic_int8)


def optimize_static_int8(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    return post_training(store, run_id, options, "quantize-static-int8", "int8-static", _static_int8)


def optimize_fp16(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    return post_training(store, run_id, options, "fp16", "fp16", _float16)


def post_training(store: Store, run_id: str, options: OptimizeOptions, method: str, label: str,
                  quantizer: Quantizer) -> OptimizeResult:
    """Export the parent's float model, quantise it, measure both, and record the new run."""
    options.validate()
    parent = load_parent(store, run_id)
    settings: dict[str, Any] = {"method": method, "runtime": options.runtime}
    if method == "quantize-static-int8":
        settings["calibration_samples"] = options.calibration_samples
    with child_run(store, parent, method, settings) as (new_run, folder), work_dir(options, folder) as (work, out):
        suffix = SUFFIXES[options.runtime]
        before = export_float(parent, work / f"{parent.graph.name}-fp32{suffix}", options.runtime)
        after = work / f"{parent.graph.name}-{label}{suffix}"
        if options.runtime == "litert":
            export_float(parent, after, options.runtime, precision=LITERT_PRECISIONS[method])
            notes = [f"made by the TFLite exporter at precision {LITERT_PRECISIONS[method]}"]
            if method == "quantize-static-int8":  # the exporter's own calibration, as `neuralforge export` does it
                notes.append("calibrated by the exporter on up to 32 examples of the run's validation split, not on "
                             "--calibration-samples training examples")
        else:
            notes = quantizer(before, after, parent, options)
            stamp_precision(after, label)
        files = {"before": place_file(before, out), "after": place_file(after, out)}
        return finish(store, parent, new_run, options, method, files, notes, settings)
    raise AssertionError("unreachable")  # the block returns or raises; mypy cannot tell


# -- onnxruntime ---------------------------------------------------------------------------------------------
def stamp_precision(path: Path, precision: str) -> None:
    """The file's ``neuralforge.precision`` metadata, copied from the float file, says what it now holds."""
    import onnx

    model = onnx.load(os.fspath(path))
    for prop in model.metadata_props:
        if prop.key == "neuralforge.precision":
            prop.value = precision
    onnx.save(model, os.fspath(path))


def _dynamic_int8(source: Path, output: Path, parent: ParentRun, options: OptimizeOptions) -> list[str]:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    quantize_dynamic(os.fspath(source), os.fspath(output), weight_type=QuantType.QInt8,
                     op_types_to_quantize=DYNAMIC_OPS)
    return ["int8 weights for the matrix products; convolutions stay float32 (onnxruntime's dynamic int8 "
            "convolution is slower than float on CPUs)"]


def _static_int8(source: Path, output: Path, parent: ParentRun, options: OptimizeOptions) -> list[str]:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    from neuralforge_desktop.core.exporters.onnx import INPUTS_KEY

    samples = training_samples(parent.graph.copy(), parent.config, options.calibration_samples)
    names = _input_names(source, INPUTS_KEY)

    class TrainingExamples(CalibrationDataReader):
        """Batches of the run's training examples, fed once each to the calibrator."""

        def __init__(self) -> None:
            self.batches = iter(_batches(samples, names))

        def get_next(self) -> dict[str, Any] | None:
            return next(self.batches, None)

    prepared = output.with_name(f"prepared-{output.name}")
    quant_pre_process(os.fspath(source), os.fspath(prepared))  # shape inference and graph fusions first
    quantize_static(os.fspath(prepared), os.fspath(output), TrainingExamples(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
    prepared.unlink()
    return [f"calibrated (min/max) on {samples.description}"]


def _input_names(path: Path, inputs_key: str) -> list[str]:
    """The file's input names in the graph's input order."""
    import json

    import onnx

    model = onnx.load(os.fspath(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    present = [i.name for i in model.graph.input]
    order = json.loads(meta[inputs_key]) if inputs_key in meta else present
    return [name for name in order if name in present]


def _batches(samples: EvaluationData, names: list[str]) -> Iterator[dict[str, Any]]:
    import numpy as np

    for start in range(0, len(samples), CALIBRATION_BATCH):
        yield {name: np.ascontiguousarray(a[start:start + CALIBRATION_BATCH])
               for name, a in zip(names, samples.inputs, strict=False)}


def _float16(source: Path, output: Path, parent: ParentRun, options: OptimizeOptions) -> list[str]:
    import onnx

    try:
        from onnxconverter_common.float16 import convert_float_to_float16  # type: ignore[import-not-found]
        origin = "onnxconverter-common"
    except ModuleNotFoundError:
        from onnxruntime.transformers.float16 import convert_float_to_float16  # type: ignore[import-untyped]
        origin = "onnxruntime's copy of onnxconverter-common"
    import onnx_ir
    from onnx_ir.passes.common import TopologicalSortPass

    model = convert_float_to_float16(onnx.load(os.fspath(source)), keep_io_types=True)
    # The converter appends the casts of the float32 inputs after the nodes that read them; onnxruntime runs that,
    # but the ONNX standard (and onnx.checker) wants the nodes in topological order.
    ordered = onnx_ir.from_proto(model)
    TopologicalSortPass()(ordered)
    model = onnx_ir.to_proto(ordered)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(output))
    return [f"float16 weights ({origin}); inputs and outputs stay float32. onnxruntime's CPU provider lacks "
            f"float16 kernels for many ops, so it may insert casts: float16 files are for GPU and NPU runtimes"]
