"""What every export format provides, so one registry, one worker and one verification serve them all.

A format module (``onnx.py``, ``tflite.py``, ``coreml.py``) defines one :class:`ExportFormat`. The export
pipeline (weights loaded and checked, the model built, written to a temporary path and moved into place only
when verification passed) is shared; a format only converts a built torch model (:attr:`ExportFormat.convert`)
and, where it can run here, runs the exported file on numpy inputs (:attr:`ExportFormat.run`) or, where it
cannot (CoreML on Linux), checks the file's structure (:attr:`ExportFormat.check`).

Heavy frameworks are imported inside those functions only, and they are only called in the export worker
process: torch, TensorFlow and coremltools are slow to import and do not always agree to share a process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError

Progress = Callable[[float, str], None]  # (fraction done, what is happening)

# Precisions a format may offer. "int8" is full integer quantisation (weights and activations, calibrated on
# a representative dataset); "int8-weights" quantises the weights only (TFLite's dynamic range, CoreML's
# weight compression), needing no data.
PRECISIONS = ("fp32", "fp16", "int8-weights", "int8")


class ExportError(UserError):
    """An export that could not be made or did not verify; the message names what and, for parity, the figures."""


@dataclass(frozen=True)
class Tolerance:
    """How far an export may differ from torch on the same inputs and still pass verification."""

    max_abs: float  # largest absolute difference of any output element
    mean_abs: float  # mean absolute difference over all output elements
    top1: float = 0.0  # classifiers: the least share of samples whose arg-max agrees (0: not checked)


@dataclass
class ConvertJob:
    """One conversion: a built torch model in eval mode and everything a format needs to write it."""

    model: Any  # torch.nn.Module, eval mode, weights loaded
    example: tuple[Any, ...]  # torch tensors, one per graph input, in input_names order
    input_names: Sequence[str]  # from the graph's Input nodes
    output_names: Sequence[str]  # from the graph's Output nodes
    output: Path  # where to write (a temporary path: the pipeline moves it into place after verification)
    precision: str = "fp32"
    # dynamic axes per input (and output) name: axis index → symbolic name ("N", "T"), as the graph's shapes say
    # and only where torch runs the model at other sizes of that axis
    dynamic_axes: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    # the same kind of inputs at other sizes of every dynamic axis (torch runs them): a format may check that its
    # file keeps those axes dynamic
    probe: tuple[Any, ...] | None = None
    # full int8: yields input tuples (numpy arrays, in input_names order) of real samples
    representative: Callable[[], Iterator[tuple[Any, ...]]] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)  # graph name, run id, checksum, version
    class_labels: Sequence[str] | None = None  # classifiers: one label per output class
    progress: Progress | None = None
    # what the conversion decided (route, opset, axes it had to fix…), copied into the export report
    facts: dict[str, Any] = field(default_factory=dict)

    def report(self, fraction: float, text: str) -> None:
        if self.progress is not None:
            self.progress(fraction, text)


@dataclass(frozen=True)
class ExportFormat:
    """One export target."""

    name: str  # "onnx" | "tflite" | "coreml"
    title: str  # "ONNX", "TensorFlow Lite", "Core ML"
    suffix: str  # ".onnx", ".tflite", ".mlpackage" (a folder)
    precisions: tuple[str, ...]
    requires: tuple[str, ...]  # importable modules it needs (a clear error names the install extra)
    convert: Callable[[ConvertJob], None]
    tolerances: Mapping[str, Tolerance]  # per precision
    # run the exported file: (path, inputs in input order as numpy arrays) → outputs in output order. The pipeline
    # verifies at another batch size (3) and sequence length (T − 1) than the job's example, on up to 32 real
    # examples at once, and times batches 1 and 32: a file with fixed sizes runs such inputs in slices it takes.
    run: Callable[[Path, Sequence[Any]], list[Any]] | None = None
    # structural check where the file cannot run here: (path, job) → facts (names, shapes, dtypes, op counts);
    # raises ExportError when the file does not match the job
    check: Callable[[Path, ConvertJob], dict[str, Any]] | None = None
    # a timing session for the latency report: path → a callable running the inputs once
    session: Callable[[Path], Callable[[Sequence[Any]], list[Any]]] | None = None
    # the file is made at fixed sizes (batch aside: ``run`` feeds a larger batch in slices), so it is verified
    # at the graph's own sequence sizes rather than at other ones
    static_shapes: bool = False
