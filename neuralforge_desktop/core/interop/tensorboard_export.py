"""Runs as TensorBoard event files (``tensorboard --logdir DIR`` shows them).

One folder per run, ``DIR/<experiment>/<run name>-<run id>``, so TensorBoard lists the runs of an experiment
together and two runs of one name stay apart. Every metric point becomes a scalar summary at its step and
wall time; the run's params go in as one text summary (a Markdown table) so they travel with the curves.
Exporting a run again replaces its event file.
Written with TensorBoard's own event writer and protocol buffers (no TensorFlow, no torch needed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from neuralforge_desktop.core.store.entities import Run
from neuralforge_desktop.core.store.sqlite_store import Store

PARAMS_TAG = "params"


@dataclass(slots=True)
class TensorBoardSummary:
    folders: list[Path] = field(default_factory=list)
    points: int = 0


def safe_name(text: str) -> str:
    """A folder name from a run or experiment name: no separators, no dot-only names, nothing odd."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "run"
    return cleaned[:80]


def run_folder(directory: str | os.PathLike[str], run: Run) -> Path:
    return Path(directory) / safe_name(run.experiment) / f"{safe_name(run.name)}-{run.id}"


def _params_markdown(run: Run) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| param | value |", "| --- | --- |"]
    lines += [f"| {cell(k)} | {cell(v)} |" for k, v in sorted(run.params.items())]
    return "\n".join(lines)


def export_run(store: Store, run: Run, folder: Path) -> int:
    """Write one run's event file into ``folder``; returns the number of scalar points."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"events.out.tfevents.*.{run.id}"):
        old.unlink()  # exporting again replaces the run's events instead of doubling every curve
    writer = EventFileWriter(str(folder), filename_suffix=f".{run.id}")
    points = 0
    try:
        started = run.started if run.started is not None else run.created
        if run.params:
            text = TensorProto(dtype=7, string_val=[_params_markdown(run).encode("utf-8")],  # 7: DT_STRING
                               tensor_shape=TensorShapeProto())
            metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
            writer.add_event(Event(wall_time=started, step=0, summary=Summary(
                value=[Summary.Value(tag=PARAMS_TAG, tensor=text, metadata=metadata)])))
        for name in store.metric_names(run.id):
            series = store.metric_history(run.id, name)
            for step, value, stamp in zip(series.steps.tolist(), series.values.tolist(), series.timestamps.tolist(),
                                          strict=True):
                writer.add_event(Event(wall_time=stamp, step=step,
                                       summary=Summary(value=[Summary.Value(tag=name, simple_value=value)])))
            points += len(series)
    finally:
        writer.close()
    return points


def export_to_tensorboard(store: Store, directory: str | os.PathLike[str], runs: Iterable[Run]) -> TensorBoardSummary:
    """Write event files for ``runs`` under ``directory`` (created when missing)."""
    summary = TensorBoardSummary()
    for run in runs:
        folder = run_folder(directory, run)
        summary.points += export_run(store, run, folder)
        summary.folders.append(folder)
    return summary
