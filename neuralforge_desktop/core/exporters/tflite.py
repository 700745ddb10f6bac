"""TensorFlow Lite export (``.tflite``), converted from the torch model itself, without TensorFlow.

Routes, chosen by measurement:

* **fp32**: ``litert_torch.convert``. It exports the module with ``torch.export`` and lowers it to TFLite builtin
  ops, so what runs on the phone is what torch ran, not a rebuilt copy (the Keras route needs weights copied
  layout by layout). Shapes are static, fixed at conversion; int64 inputs become int32.
* **fp16**: the fp32 file, then ``ai_edge_quantizer``'s float casting: weights of fully connected, convolution and
  embedding ops are stored as float16 and dequantized at load; the arithmetic stays float32 (TFLite's usual
  float16 quantisation).
* **int8-weights** (dynamic range): the fp32 file, then ``ai_edge_quantizer``'s ``dynamic_wi8_afp32`` recipe:
  int8 weights per channel, activations quantised on the fly at run time. It gave the same figures as
  litert-torch's own dynamic PT2E quantiser to the last bit, in a hundredth of the time.
* **int8** (full integer): torch's PT2E quantisation with litert-torch's ``PT2EQuantizer`` (per-channel int8
  weights, int8 activations calibrated with histogram observers on ``job.representative``), then
  ``litert_torch.convert``. On the trained MNIST CNN its mean error against torch was about 12× smaller than
  ``ai_edge_quantizer``'s static recipe calibrated on the same samples, because the histogram observers clip
  outliers where min/max calibration lets them stretch the scale. Inputs and outputs of quantised ops become
  int8 with a scale and zero point, which :func:`run` applies; ops the quantiser has no int8 kernel for
  (embedding lookups, recurrent cells, concatenation …) stay float in the same file.

Batch: a mobile model runs one sample at a time, so when the job marks axis 0 of every input as the batch axis
the model is converted for batch 1; otherwise at the example's shapes. :func:`run` feeds a larger batch through
in slices of the converted batch size.

Tolerances (:data:`TOLERANCES`). Verification divides differences by the outputs' largest magnitude when that is
above 1 (a logit of 20 allows twenty times the figure); the figures below are such scaled differences, measured on
the MNIST CNN trained 3 epochs on MNIST-10k (97.6 % validation accuracy, logits up to 23) over its 1,000
validation digits and 32 seeded random inputs, and on the LSTM and transformer text templates (T = 200) over 16
random token sequences:

* fp32: max 1e-4, mean 1e-5. Measured: at most 4.3e-7 max, 5e-8 mean.
* fp16: max 5e-3, mean 1e-3. Float16 weights keep 11 significant bits: measured 2.3e-4 max (CNN, random
  inputs), 5e-5 (LSTM), 3e-5 (transformer); 4e-5 mean.
* int8-weights: max 0.05, mean 0.01. Measured 0.010 max (CNN, random inputs), 0.0038 on real digits, 0.002
  (LSTM), 0.0015 (transformer); top-1 agreement 100 % on the digits.
* int8: max 0.5, mean 0.15, top-1 agreement ≥ 98 %. On real digits (the distribution it was calibrated on)
  measured 0.019 max, 0.002 mean and 100 % top-1 agreement (≥ 99.8 % on every CNN tried). Seeded random
  inputs fall outside the calibrated activation ranges and are clipped: 0.37 max and 0.11 mean on the CNN,
  which is what the loose bounds allow for. Top-1 agreement is what this precision is judged by, and it is
  meaningful on real samples: on an untrained model's near-tied logits one flip in 16 random inputs (94 %) is
  noise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError, ExportFormat, Tolerance
from neuralforge_desktop.core.exporters.common import batch_axis_leads, conversion_example, first_line

TOLERANCES: dict[str, Tolerance] = {
    "fp32": Tolerance(max_abs=1e-4, mean_abs=1e-5),
    "fp16": Tolerance(max_abs=5e-3, mean_abs=1e-3),
    "int8-weights": Tolerance(max_abs=0.05, mean_abs=0.01),
    "int8": Tolerance(max_abs=0.5, mean_abs=0.15, top1=0.98),
}
MAX_CALIBRATION_SAMPLES = 1000  # more samples barely move histogram ranges, and each one is a forward pass
CALIBRATION_BATCH = 32
METADATA_KEY = "neuralforge"  # the flatbuffer metadata entry holding job.metadata as JSON
# the entry holding the graph's input and output names in order: the converter sorts the signature's by name
IO_KEY = "neuralforge.io"
SIGNATURE = "serving_default"
ROUTES = {
    "fp32": "litert-torch",
    "fp16": "litert-torch, then ai-edge-quantizer float16 weights",
    "int8-weights": "litert-torch, then ai-edge-quantizer dynamic range (dynamic_wi8_afp32)",
    "int8": "PT2E int8 (litert-torch PT2EQuantizer, per-channel weights, histogram-calibrated activations), "
            "then litert-torch",
}


# -- conversion ------------------------------------------------------------------------------------------------

def convert(job: ConvertJob) -> None:
    """Write ``job.model`` as a TFLite flatbuffer at ``job.output`` in ``job.precision``."""
    if job.precision not in TOLERANCES:
        raise ExportError(f"TFLite has no precision {job.precision!r}; choose one of {', '.join(TOLERANCES)}")
    if job.precision == "int8" and job.representative is None:
        raise ExportError("TFLite int8: full integer quantisation needs calibration samples "
                          "(the run's dataset or --calibration DATASET)")
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")  # litert-torch prints a progress tree otherwise
    import torch

    named = named_module(job.model, job.input_names, job.output_names)
    example = conversion_example(job)
    metadata = {METADATA_KEY: {key: str(value) for key, value in job.metadata.items()},
                IO_KEY: {"inputs": list(job.input_names), "outputs": list(job.output_names)}}
    with torch.no_grad():
        if job.precision == "int8":
            job.report(0.1, "calibrating int8 ranges")
            content = _full_integer(job, example, metadata)
        else:
            job.report(0.1, "converting to TFLite")
            content = _litert(named, example, metadata)
            if job.precision != "fp32":
                job.report(0.7, f"quantising weights ({job.precision})")
                content = quantize_weights(content, job.precision)
    job.report(0.9, "writing the .tflite file")
    Path(job.output).write_bytes(content)
    job.facts.update(route=ROUTES[job.precision], shapes={n: list(t.shape) for n, t in example.items()},
                     ops=op_histogram(content))
    job.report(1.0, "converted")


def named_module(model: Any, input_names: Sequence[str], output_names: Sequence[str]) -> Any:
    """``model`` taking keyword inputs and returning a dict, so the file's signature carries the graph's input
    and output names (litert-torch names positional inputs ``args_0`` …)."""
    from torch import nn

    class Named(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, **inputs: Any) -> dict[str, Any]:
            out = self.model(*[inputs[name] for name in input_names])
            outs = out if isinstance(out, tuple) else (out,)
            if len(outs) != len(output_names):
                raise ExportError(f"the model returns {len(outs)} outputs, the graph names {len(output_names)}")
            return dict(zip(output_names, outs, strict=True))

    named = Named()
    named.training = False  # the wrapped model is already in eval mode (and an exported one refuses .eval())
    return named


def _litert(named: Any, example: Mapping[str, Any], metadata: Mapping[str, Any], quant_config: Any = None) -> bytes:
    import litert_torch

    try:
        edge = litert_torch.convert(named, sample_kwargs=dict(example), quant_config=quant_config)
    except ExportError:
        raise
    except Exception as exc:  # the converter's own errors name the torch op it could not lower
        raise ExportError(f"TFLite conversion failed: {first_line(exc)}") from exc
    # before quantisation: the quantiser keeps metadata, and it may move weights out of the flatbuffer's tables
    return with_metadata(bytes(edge.model_content()), metadata)


# ai_edge_quantizer recipe for float16 weights: float casting of the weight tensors it supports
_FP16_RECIPE = [{
    "regex": ".*", "operation": "*", "algorithm_key": "float_casting",
    "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"}, "compute_precision": "FLOAT",
                  "explicit_dequantize": True},
}]


def quantize_weights(content: bytes, precision: str) -> bytes:
    """An fp32 file's weights as float16 (``"fp16"``) or int8 with dynamic-range activations
    (``"int8-weights"``); metadata is kept."""
    from ai_edge_quantizer import quantizer, recipe

    chosen = _FP16_RECIPE if precision == "fp16" else recipe.dynamic_wi8_afp32()
    try:
        result = quantizer.Quantizer(bytearray(content), chosen).quantize(enable_progress_report=False)
    except Exception as exc:
        raise ExportError(f"TFLite {precision} quantisation failed: {first_line(exc)}") from exc
    if result.quantized_model is None:
        raise ExportError(f"TFLite {precision} quantisation produced no model")
    return bytes(result.quantized_model)


def _full_integer(job: ConvertJob, example: Mapping[str, Any], metadata: Mapping[str, Any]) -> bytes:
    from litert_torch.quantize import pt2e_quantizer, quant_config
    from torchao.quantization.pt2e import quantize_pt2e

    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True))
    try:
        prepared = quantize_pt2e.prepare_pt2e(_export_for_calibration(job.model, example, job), quantizer)
    except Exception as exc:
        raise ExportError(f"TFLite int8: the model could not be prepared for quantisation: {first_line(exc)}") \
            from exc
    seen = 0
    for batch in calibration_batches(job, example):
        prepared(*batch)
        seen += 1
        job.report(0.1 + 0.5 * min(1.0, seen / 32), "calibrating int8 ranges")
    if not seen:
        raise ExportError("TFLite int8: the calibration data yielded no samples")
    quantized = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
    job.report(0.7, "converting to TFLite (int8)")
    named = named_module(quantized, job.input_names, job.output_names)
    return _litert(named, example, metadata, quant_config.QuantConfig(pt2e_quantizer=quantizer))


def _export_for_calibration(model: Any, example: Mapping[str, Any], job: ConvertJob) -> Any:
    """The exported graph the observers are inserted into: with a dynamic batch when the batch axis leads, so
    calibration runs in batches of :data:`CALIBRATION_BATCH` while the file is converted for batch 1."""
    import torch

    tensors = tuple(example.values())
    if batch_axis_leads(job):
        batch = torch.export.Dim("batch", min=1, max=4096)
        two = tuple(torch.cat([t, t]) for t in tensors)  # export fixes a dimension of size 1
        try:
            # the model's forward takes ``*inputs``: one tuple argument, one spec per tensor in it
            spec = (tuple({0: batch} for _ in two),)
            return torch.export.export(model, two, dynamic_shapes=spec).module()
        except Exception:  # a model whose code fixes the batch size: calibrate one sample at a time
            pass
    return torch.export.export(model, tensors).module()


def calibration_batches(job: ConvertJob, example: Mapping[str, Any]) -> Iterator[list[Any]]:
    """Input tensor batches (in input order) for calibration, from ``job.representative``: cast to the example's dtypes,
    cut to at most :data:`MAX_CALIBRATION_SAMPLES` samples, in slices the exported graph accepts."""
    import numpy as np
    import torch

    assert job.representative is not None
    names = list(example)
    leads = batch_axis_leads(job)
    left = MAX_CALIBRATION_SAMPLES
    for sample in job.representative():
        if len(sample) != len(names):
            raise ExportError(f"TFLite int8: a calibration sample has {len(sample)} inputs, the model takes "
                              f"{len(names)} ({', '.join(names)})")
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(example[n].dtype) for n, a in zip(names, sample,
                                                                                                strict=True)]
        if not leads:
            yield tensors
            left -= 1
        else:
            size = min(len(tensors[0]), left)
            for start in range(0, size, CALIBRATION_BATCH):
                yield [t[start:min(start + CALIBRATION_BATCH, size)] for t in tensors]
            left -= size
        if left <= 0:
            return


# -- flatbuffer facts ------------------------------------------------------------------------------------------

def _model(content: bytes) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    return schema.Model.GetRootAs(content, 0)


def signature_names(content: bytes) -> tuple[list[str], list[str]]:
    """Input and output names in the graph's order: as stored at conversion (:data:`IO_KEY`), or for a file made
    elsewhere, as its signature lists them."""
    stored = read_metadata(content, IO_KEY)
    if stored:
        return [str(n) for n in stored["inputs"]], [str(n) for n in stored["outputs"]]
    model = _model(content)
    if model.SignatureDefsLength() == 0:
        raise ExportError("the .tflite file has no signature")
    sig = model.SignatureDefs(0)
    inputs = [sig.Inputs(i).Name().decode() for i in range(sig.InputsLength())]
    outputs = [sig.Outputs(i).Name().decode() for i in range(sig.OutputsLength())]
    return inputs, outputs


def op_histogram(content: bytes) -> dict[str, int]:
    """Operator name → count over every subgraph; custom ops as ``CUSTOM:name`` (``Flex…`` needs select-TF ops)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = _model(content)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(f"CUSTOM:{(code.CustomCode() or b'').decode()}")
        else:
            codes.append(names.get(builtin, str(builtin)))
    counts: dict[str, int] = {}
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            name = codes[graph.Operators(o).OpcodeIndex()]
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def with_metadata(content: bytes, entries: Mapping[str, Any]) -> bytes:
    """``content`` with each entry (name → a JSON value) stored in the flatbuffer's metadata."""
    if not entries:
        return content
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(content), 0)
    if any(buffer.offset > 1 for buffer in model.buffers or []):
        # weights stored after the flatbuffer (files over 2 GB): repacking the tables would drop them
        raise ExportError("TFLite: the model is too large for metadata to be added (weights over 2 GB)")
    model.metadata = list(model.metadata or [])
    for name, value in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(json.dumps(value, sort_keys=True).encode(), dtype=np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        model.metadata.append(entry)
    builder = flatbuffers.Builder(len(content) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_metadata(content: bytes, name: str = METADATA_KEY) -> dict[str, Any]:
    """The metadata entry ``name`` :func:`with_metadata` stored (``{}`` when there is none)."""
    model = _model(content)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"").decode() == name:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return dict(json.loads(bytes(data).decode()))
    return {}


# -- running ---------------------------------------------------------------------------------------------------

def session(path: Path) -> Callable[[Sequence[Any]], list[Any]]:
    """A LiteRT interpreter for the file, kept loaded: inputs in the graph's input order → outputs in its output
    order, as float arrays where the file quantised them."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    content = Path(path).read_bytes()
    input_names, output_names = signature_names(content)
    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_runner(SIGNATURE)
    in_details = runner.get_input_details()
    out_details = runner.get_output_details()
    shapes = {name: tuple(int(d) for d in in_details[name]["shape"]) for name in input_names}

    def once(arrays: Sequence[Any]) -> list[Any]:
        feed = {name: _to_input(np.asarray(a), in_details[name]) for name, a in zip(input_names, arrays, strict=True)}
        out = runner(**feed)
        return [_from_output(out[name], out_details[name]) for name in output_names]

    def run_inputs(inputs: Sequence[Any]) -> list[Any]:
        if len(inputs) != len(input_names):
            raise ExportError(f"the TFLite model takes {len(input_names)} inputs ({', '.join(input_names)}), "
                              f"got {len(inputs)}")
        arrays = [np.asarray(a) for a in inputs]
        if all(a.shape == shapes[n] for n, a in zip(input_names, arrays, strict=True)):
            return once(arrays)
        return _in_slices(once, arrays, input_names, shapes)

    return run_inputs


def run(path: Path, inputs: Sequence[Any]) -> list[Any]:
    """Run the file once on ``inputs`` (numpy arrays in the graph's input order)."""
    return session(path)(inputs)


def _to_input(array: Any, detail: Mapping[str, Any]) -> Any:
    import numpy as np

    scale, zero_point = detail["quantization"]
    dtype = np.dtype(detail["dtype"])
    if scale and np.issubdtype(dtype, np.integer) and not np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(dtype)
        array = np.clip(np.round(array / scale) + zero_point, info.min, info.max)
    return np.ascontiguousarray(array.astype(dtype))


def _from_output(array: Any, detail: Mapping[str, Any]) -> Any:
    import numpy as np

    scale, zero_point = detail["quantization"]
    if scale and np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        return ((array.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return array


def _in_slices(once: Callable[[Sequence[Any]], list[Any]], arrays: list[Any], names: Sequence[str],
               shapes: Mapping[str, tuple[int, ...]]) -> list[Any]:
    """Run a batch larger (or smaller) than the converted one in slices of the converted batch size, padding the
    last slice with copies of its last sample."""
    import numpy as np

    sizes = {a.shape[0] if a.ndim else -1 for a in arrays}
    fixed = {shapes[n][0] if shapes[n] else -1 for n in names}
    same_rest = all(a.shape[1:] == shapes[n][1:] for n, a in zip(names, arrays, strict=True))
    if len(sizes) != 1 or len(fixed) != 1 or not same_rest or -1 in sizes | fixed:
        got = ", ".join(f"{n} {tuple(a.shape)}" for n, a in zip(names, arrays, strict=True))
        want = ", ".join(f"{n} {shapes[n]}" for n in names)
        raise ExportError(f"the TFLite model was converted for inputs {want}; got {got}")
    total, step = sizes.pop(), fixed.pop()
    pieces: list[list[Any]] = []
    for start in range(0, total, step):
        chunk = [a[start:start + step] for a in arrays]
        used = len(chunk[0])
        if used < step:
            chunk = [np.concatenate([c, np.repeat(c[-1:], step - used, axis=0)]) for c in chunk]
        outs = once(chunk)
        for out in outs:
            if out.ndim == 0 or out.shape[0] != step:
                raise ExportError(f"the TFLite model was converted for batch {step} and an output does not lead "
                                  f"with the batch axis ({tuple(out.shape)}): feed exactly batch {step}")
        pieces.append([out[:used] for out in outs])
    return [np.concatenate([p[i] for p in pieces]) for i in range(len(pieces[0]))]


EXPORTER = ExportFormat(
    name="tflite",
    title="TensorFlow Lite",
    suffix=".tflite",
    precisions=("fp32", "fp16", "int8-weights", "int8"),
    requires=("litert_torch", "ai_edge_litert", "ai_edge_quantizer"),
    convert=convert,
    tolerances=TOLERANCES,
    static_shapes=True,
    run=run,
    session=session,
)
