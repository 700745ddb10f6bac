"""Small helpers the format modules share: the shapes a file is converted at, and short error text."""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.exporters.base import ConvertJob

BATCH_AXIS_NAMES = ("batch", "n")  # names ConvertJob.dynamic_axes gives a batch axis


def batch_axis_leads(job: ConvertJob) -> bool:
    """Whether axis 0 of every input is the batch axis, as the job's dynamic axes say."""
    return bool(job.input_names) and all(
        str(job.dynamic_axes.get(name, {}).get(0, "")).lower() in BATCH_AXIS_NAMES for name in job.input_names)


def conversion_example(job: ConvertJob) -> dict[str, Any]:
    """Input name → the example tensor a fixed-shape format is converted at: one sample where axis 0 is the
    batch axis (phones and Macs predict one sample at a time), the job's example as it is otherwise."""
    one = batch_axis_leads(job)
    return {name: (tensor[:1] if one else tensor) for name, tensor in zip(job.input_names, job.example, strict=True)}


def first_line(exc: BaseException) -> str:
    """The exception's type and the first line of its message: converters' messages run to pages."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]
