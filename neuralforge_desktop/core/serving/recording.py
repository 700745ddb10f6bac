"""Where the router records each request: the monitoring recorder, behind one small function.

The router receives a *factory* (a picklable callable made on the driver) and calls it inside its replica,
because a recorder holds a store connection and a buffer that belong to the process that writes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class Recorder(Protocol):
    """What the router needs of a recorder (the monitoring package's ``RequestRecorder`` has this shape)."""

    def record(self, *, version: str, latency_ms: float, ok: bool, status: int, request_key: str | None,
               inputs: list[Any] | None, predictions: list[Any] | None) -> str: ...

    def flush(self) -> None: ...

    def feedback(self, prediction_id: str, label: Any) -> bool: ...


RecorderFactory = Callable[[], Recorder]


def store_recorder_factory(store_path: Path, model_name: str, *, sample_rate: float = 0.1) -> RecorderFactory:
    """A factory of the monitoring recorder writing to the store at ``store_path`` (which must be reachable
    from the node that runs the router)."""
    return functools.partial(_open_store_recorder, str(store_path), model_name, sample_rate)


def _open_store_recorder(store_path: str, model_name: str, sample_rate: float) -> Recorder:
    from neuralforge_desktop.core.monitoring.recorder import RequestRecorder

    recorder: Recorder = RequestRecorder(store_path, model_name, sample_rate=sample_rate)
    return recorder
