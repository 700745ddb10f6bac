"""The training event stream: JSON lines that the CLI, the app and the remote dispatcher all consume.

Every event is a JSON object with ``"event"`` (started, step, epoch, checkpoint, paused, resumed, finished,
stopped, failed), ``"run_id"`` and ``"time"`` (Unix seconds), plus the fields below.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

EVENT_KINDS = ("started", "step", "epoch", "checkpoint", "paused", "resumed", "finished", "stopped", "failed")
TERMINAL = ("finished", "stopped", "failed")

Sink = Callable[[dict[str, Any]], None]


def make_event(kind: str, run_id: str, **fields: Any) -> dict[str, Any]:
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return {"event": kind, "run_id": run_id, "time": time.time(), **fields}


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), allow_nan=False, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} in an event")


def stdout_sink(stream: IO[str] | None = None) -> Sink:
    out = stream or sys.stdout

    def sink(event: dict[str, Any]) -> None:
        out.write(encode(event) + "\n")
        out.flush()

    return sink


def read_events(lines: IO[str] | Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse events; lines that are not events (a library printing to stdout) are passed on as ``log``."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        try:
            event = json.loads(text)
        except json.JSONDecodeError:
            yield {"event": "log", "text": text}
            continue
        if isinstance(event, dict) and "event" in event:
            yield event
        else:
            yield {"event": "log", "text": text}
