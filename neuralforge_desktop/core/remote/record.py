"""A remote worker has no store: the store lives on the user's machine. So on the host the trainer writes to a
:class:`StoreRecorder`, which appends each store call as one JSON line to ``store.jsonl`` in the run folder, and
the user's machine replays those lines into its own store (:func:`replay`) as they arrive. The trainer's code
is the same for a local and a remote run, so a remote run lands in the store exactly as a local one would.

Only the calls the trainer makes are recorded, with plain JSON arguments (a diagnostics record as its JSON); a
file given to ``log_artifact`` is recorded by its path relative to the run folder (the replaying side fetches
it first). Replaying never runs anything from the line: each line names one of a fixed set of store methods."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

RECORD_FILE = "store.jsonl"
OFFSET_TAG = "remote_offset"  # how many bytes of store.jsonl the local store holds (kept with the points)


class StoreRecorder:
    """The store the trainer sees on a remote host: every call becomes a line of ``store.jsonl``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / RECORD_FILE
        self._file: TextIO = self.path.open("a", encoding="utf-8")

    def _write(self, call: str, **args: Any) -> None:
        self._file.write(json.dumps({"call": call, "time": time.time(), **args}, allow_nan=True) + "\n")
        self._file.flush()

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int,
                    timestamp: float | None = None) -> None:
        self._write("log_metrics", metrics={k: float(v) for k, v in metrics.items()}, step=int(step))

    def set_status(self, run_id: str, status: str, end: float | None = None, *, reason: str | None = None) -> None:
        self._write("set_status", status=status, reason=reason)

    def add_usage(self, run_id: str, cpu_seconds: float = 0.0, gpu_seconds: float = 0.0) -> None:
        self._write("add_usage", cpu_seconds=float(cpu_seconds), gpu_seconds=float(gpu_seconds))

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._write("set_tags", tags=dict(tags))

    def update_run(self, run_id: str, *, checksum: str | None = None,
                   environment: Mapping[str, Any] | None = None, **_: Any) -> None:
        self._write("update_run", checksum=checksum, environment=dict(environment or {}))

    def log_artifact(self, run_id: str, source: Any, name: str | None = None, kind: str = "file") -> None:
        relative = Path(source).resolve().relative_to(self.run_dir.resolve()).as_posix()
        self._write("log_artifact", path=relative, name=name or Path(source).name, kind=kind)

    def log_diagnostic(self, run_id: str, kind: str, record: Any) -> None:
        from neuralforge_desktop.core.training.coach.records import record_to_json

        self._write("log_diagnostic", kind=kind, record=record_to_json(record))

    def diagnostic_records(self, run_id: str, kind: str | None = None) -> list[tuple[str, Any]]:
        """None here: the records are in the user's store, so a run resumed on a host starts its live Coach's
        statistics afresh (the store keeps them all)."""
        return []

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


Fetch = Callable[[str], Path]  # a path relative to the run folder → the local copy, fetched and checked


class ReplayError(ValueError):
    pass


def parse_lines(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The whole lines at the start of ``data`` (a line still being written is left for later) and how many
    bytes they take."""
    end = data.rfind(b"\n") + 1
    records = []
    for raw in data[:end].splitlines():
        if raw.strip():
            try:
                record = json.loads(raw)
            except ValueError as exc:
                raise ReplayError(f"{RECORD_FILE}: a damaged line: {raw[:80]!r}") from exc
            if not isinstance(record, dict) or not isinstance(record.get("call"), str):
                raise ReplayError(f"{RECORD_FILE}: not a store call: {raw[:80]!r}")
            records.append(record)
    return records, end


def replay(store: Any, run_id: str, data: bytes, offset: int, fetch: Fetch,
           on_status: Callable[[str], None] | None = None) -> int:
    """Apply the whole lines of ``data`` (the bytes of ``store.jsonl`` from ``offset``) to ``store``; returns
    the new offset. Metric points go in with their offset in one transaction, so a point is stored exactly
    once even if this process dies halfway and the same bytes are read again; every other call is written,
    then its offset."""
    records, used = parse_lines(data)
    points: list[tuple[str, float, int, float]] = []
    points_end = offset
    for record, end in zip(records, _line_ends(data[:used], offset), strict=True):
        if record["call"] == "log_metrics":
            stamp = float(record.get("time") or time.time())
            points.extend((str(name), float(value), int(record["step"]), stamp)
                          for name, value in dict(record["metrics"]).items())
            points_end = end
            continue
        if points:
            store.log_batch(run_id, metrics=points, tags={OFFSET_TAG: points_end})
            points = []
        _apply(store, run_id, record, fetch, on_status)
        store.set_tags(run_id, {OFFSET_TAG: end})
    if points:
        store.log_batch(run_id, metrics=points, tags={OFFSET_TAG: points_end})
    return offset + used


def _line_ends(data: bytes, offset: int) -> list[int]:
    """The offset just past each non-blank line of ``data`` (which starts at ``offset``)."""
    ends = []
    start = 0
    while (index := data.find(b"\n", start)) >= 0:
        if data[start:index].strip():
            ends.append(offset + index + 1)
        start = index + 1
    return ends


def _apply(store: Any, run_id: str, record: dict[str, Any], fetch: Fetch,
           on_status: Callable[[str], None] | None) -> None:
    call = record["call"]
    if call == "set_status":
        store.set_status(run_id, str(record["status"]), reason=record.get("reason"))
        if on_status is not None:
            on_status(str(record["status"]))
    elif call == "add_usage":
        store.add_usage(run_id, cpu_seconds=float(record.get("cpu_seconds") or 0.0),
                        gpu_seconds=float(record.get("gpu_seconds") or 0.0))
    elif call == "set_tags":
        store.set_tags(run_id, dict(record["tags"]))
    elif call == "update_run":
        store.update_run(run_id, checksum=record.get("checksum"), environment=record.get("environment") or None)
    elif call == "log_diagnostic":
        from neuralforge_desktop.core.training.coach.records import RECORD_KINDS, record_from_json

        kind = str(record["kind"])
        if kind not in RECORD_KINDS:
            raise ReplayError(f"{RECORD_FILE}: unknown diagnostics record {kind!r}")
        try:
            store.log_diagnostic(run_id, kind, record_from_json(kind, dict(record["record"])))
        except (TypeError, KeyError, ValueError) as exc:
            raise ReplayError(f"{RECORD_FILE}: a damaged {kind} record ({exc})") from None
    elif call == "log_artifact":
        local = fetch(str(record["path"]))
        store.log_artifact(run_id, local, str(record["name"]), kind=str(record.get("kind") or "file"))
    else:
        raise ReplayError(f"{RECORD_FILE}: unknown store call {call!r}")
