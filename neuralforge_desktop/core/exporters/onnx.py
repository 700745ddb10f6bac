"""ONNX: a built torch model to an ``.onnx`` file that onnxruntime runs, with the graph's input and output names,
a dynamic batch axis (and sequence axes where the graph has them), and NeuralForge's metadata.

Two routes, fastest first. ``torch.onnx.export(dynamo=False)`` (TorchScript tracing, opset 17) takes 0.02–2 s for
every zoo template; ``dynamo=True`` (``torch.export``, opset 18) takes 3–30 s for the same. But tracing records
the sizes ``nn.MultiheadAttention`` computes from its input as constants, so a transformer traced at T = 200
only runs at T = 200. So a traced file is first run at other sizes of every dynamic axis (the job's ``probe``);
when it does not run there, or gives other output shapes than torch, the model is exported again through
``torch.export``, which keeps those sizes symbolic. Either way the file's axes carry the graph's names (N, T).

onnx and onnxruntime are imported inside the functions: this module is imported to list formats, in processes
that never export.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError, ExportFormat, Tolerance

LEGACY_OPSET = 17
DYNAMO_OPSET = 18
INPUTS_KEY = "neuralforge.inputs"  # metadata: every graph input in order (a traced file drops unused ones)


def convert(job: ConvertJob) -> None:
    job.report(0.0, f"tracing the model to ONNX (opset {LEGACY_OPSET})")
    try:
        _export_traced(job)
        opset = _finish(job, dynamo=False)
        problem = _dynamic_axes_problem(job)
    except Exception as exc:  # a model tracing cannot take: the second route may
        problem = f"tracing failed ({_first_line(exc)})"
    route = "torch.onnx.export (TorchScript tracing)"
    if problem is not None:
        job.report(0.4, f"the traced file fixed a size ({problem}); exporting through torch.export instead")
        _export_dynamo(job)
        opset = _finish(job, dynamo=True)
        second = _dynamic_axes_problem(job)
        if second is not None:
            raise ExportError(f"ONNX export: neither route keeps the dynamic axes "
                              f"{_axes_text(job.dynamic_axes)}: {second}")
        route = "torch.onnx.export (torch.export, dynamo)"
        job.facts["traced_first"] = problem
    job.facts.update(route=route, opset=opset, dynamic_axes={k: dict(v) for k, v in job.dynamic_axes.items() if v})
    job.facts["checked"] = ["onnx.checker.check_model passed"] + (
        [f"runs at other sizes of {_axes_text(job.dynamic_axes)} with torch's output shapes"] if job.probe else [])
    job.report(1.0, "ONNX file written and checked")


def _export_traced(job: ConvertJob) -> None:
    import torch

    axes = {name: dict(a) for name, a in job.dynamic_axes.items() if a}
    with warnings.catch_warnings():  # the tracer's deprecation and tracer warnings: the probe checks what they warn of
        warnings.simplefilter("ignore")
        torch.onnx.export(job.model, tuple(job.example), str(job.output), input_names=list(job.input_names),
                          output_names=list(job.output_names), dynamic_axes=axes, opset_version=LEGACY_OPSET,
                          dynamo=False, do_constant_folding=True)


def _export_dynamo(job: ConvertJob) -> None:
    import torch
    from torch.export import Dim

    shapes = tuple({axis: Dim.AUTO for axis in job.dynamic_axes.get(name, {})} for name in job.input_names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(job.model, tuple(job.example), dynamic_shapes=(shapes,),
                                        input_names=list(job.input_names), output_names=list(job.output_names),
                                        opset_version=DYNAMO_OPSET, dynamo=True, external_data=False,
                                        verbose=False, report=False)
    except Exception as exc:
        raise ExportError(f"ONNX export failed: {_first_line(exc)}") from None
    if program is None:
        raise ExportError("ONNX export failed: torch.export gave no program")
    program.save(str(job.output), external_data=False)


def _dynamic_axes_problem(job: ConvertJob) -> str | None:
    """Why the file does not run at the probe's sizes as torch does (None when it does, or there is no probe)."""
    import torch

    if job.probe is None:
        return None
    try:
        got = run(job.output, [t.numpy() for t in job.probe])
    except Exception as exc:  # onnxruntime refuses a reshape to a size fixed at export
        return f"it does not run at other sizes of {_axes_text(job.dynamic_axes)}: {_first_line(exc)}"
    with torch.inference_mode():
        expected = job.model(*job.probe)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for name, want, have in zip(job.output_names, expected, got, strict=False):
        if tuple(want.shape) != tuple(have.shape):
            return f"output '{name}' is {tuple(have.shape)} where torch gives {tuple(want.shape)}"
    return None


def _finish(job: ConvertJob, dynamo: bool) -> int:
    """Name the dynamic axes as the graph does, add the metadata, check the file; returns its opset."""
    import onnx

    model = onnx.load(str(job.output))
    if dynamo:
        _rename_dims(model, job.input_names, job.dynamic_axes)
    _positive_transpose_axes(model.graph)
    props = {**job.metadata, INPUTS_KEY: json.dumps(list(job.input_names))}
    kept = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        model.metadata_props.add(key=key, value=str(value))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the ONNX file does not pass onnx.checker: {_first_line(exc)}") from None
    onnx.save(model, str(job.output))
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def _positive_transpose_axes(graph: Any) -> None:
    """Tracing writes ``x.permute(0, -1, 1, 2)`` as a Transpose with ``perm=[0, -1, 1, 2]``, which ONNX forbids
    (onnxruntime refuses to load it). A perm lists every axis once, so its length is the rank: count from there."""
    for node in graph.node:
        if node.op_type == "Transpose":
            for attribute in node.attribute:
                if attribute.name == "perm" and any(p < 0 for p in attribute.ints):
                    rank = len(attribute.ints)
                    fixed = [p + rank if p < 0 else p for p in attribute.ints]
                    del attribute.ints[:]
                    attribute.ints.extend(fixed)


def _rename_dims(model: Any, input_names: Sequence[str], axes: Mapping[str, Mapping[int, str]]) -> None:
    """torch.export names dynamic sizes s0, s1 …; give every one the graph's name for it (N, T)."""
    names: dict[str, str] = {}
    for value in model.graph.input:
        if value.name in input_names:
            dims = value.type.tensor_type.shape.dim
            for axis, symbol in axes.get(value.name, {}).items():
                if axis < len(dims) and dims[axis].HasField("dim_param"):
                    names.setdefault(dims[axis].dim_param, symbol)
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in names:
                dim.dim_param = names[dim.dim_param]


# -- running the file ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _session(path: str, stamp: tuple[int, int]) -> tuple[Any, list[str], set[str]]:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 4  # errors raise as exceptions; its log would repeat them on stderr
    # Idle threads that spin for work take the CPU from whatever runs next: torch, timed in turns with this
    # session, ran 5–10× slower after a spinning run here.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    present = {i.name for i in session.get_inputs()}
    order = json.loads(meta[INPUTS_KEY]) if INPUTS_KEY in meta else [i.name for i in session.get_inputs()]
    return session, order, present


def _open(path: Path) -> tuple[Any, list[str], set[str]]:
    info = os.stat(path)
    return _session(str(path), (info.st_mtime_ns, info.st_size))


def run(path: Path, inputs: Sequence[Any]) -> list[Any]:
    """The file's outputs (numpy, in output order) for ``inputs`` (numpy, in the graph's input order)."""
    session, order, present = _open(path)
    feeds = {name: value for name, value in zip(order, inputs, strict=True) if name in present}
    return list(session.run(None, feeds))


def session(path: Path) -> Callable[[Sequence[Any]], list[Any]]:
    """One onnxruntime session, for timing: a callable running the inputs once."""
    sess, order, present = _open(path)
    names = [name for name in order if name in present]
    positions = [order.index(name) for name in names]

    def call(inputs: Sequence[Any]) -> list[Any]:
        return list(sess.run(None, {name: inputs[i] for name, i in zip(names, positions, strict=True)}))

    return call


def _axes_text(axes: Mapping[str, Mapping[int, str]]) -> str:
    symbols = sorted({s for a in axes.values() for s in a.values()})
    return ", ".join(symbols) or "(none)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


EXPORTER = ExportFormat(
    name="onnx",
    title="ONNX",
    suffix=".onnx",
    # fp16 is left out: onnxruntime's CPU provider lacks fp16 kernels for many ops (a halved ResNet-18 ran ~10×
    # slower than fp32 here) and a halved transformer crashed it; fp16 ONNX is for GPU runtimes, not this CPU.
    precisions=("fp32",),
    requires=("onnx", "onnxruntime"),
    convert=convert,
    tolerances={"fp32": Tolerance(max_abs=1e-4, mean_abs=1e-5, top1=0.99)},
    run=run,
    session=session,
)
