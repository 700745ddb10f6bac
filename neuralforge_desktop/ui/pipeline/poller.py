"""Reads pipeline runs from the store off the UI thread.

A :class:`~neuralforge_desktop.ui.latest_request.LatestRequest` thread owns its own Store (a Store is for one
thread at a time) and answers one request at a time: the newest request wins, so a slow read never queues up
polls. Answers reach the UI thread through an emitter that holds the poller weakly; once the poller is going
away nothing more is delivered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from neuralforge_desktop.ui.latest_request import LatestRequest
from neuralforge_desktop.ui.ui_thread import emitter


@dataclass(frozen=True)
class PipelineSnapshot:
    """What one poll read: the latest runs (for the chooser) and the one shown, or an error's text."""

    runs: list[Any]  # PipelineRun, newest first, without needing their stages
    shown: Any | None  # the PipelineRun shown (with its stages)
    error: str | None = None


class _Reader:
    """The thread's side: one Store, opened in the poll thread on the first request and closed there at the
    end (a Store is for one thread at a time)."""

    def __init__(self, store_path: Path, limit: int) -> None:
        self.store_path, self.limit = store_path, limit
        self._store: Any = None

    def read(self, what: dict[str, Any]) -> PipelineSnapshot:
        if self._store is None:
            from neuralforge_desktop.core.store.sqlite_store import Store

            self._store = Store(self.store_path)
        return _read(self._store, what["pipeline"], self.limit)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _snapshot_to(deliver: Callable[[PipelineSnapshot], None]) -> Callable[[dict[str, Any], Any], None]:
    def hand_over(_what: dict[str, Any], result: Any) -> None:
        if isinstance(result, Exception):  # a store that cannot be read: the view says why and keeps polling
            result = PipelineSnapshot([], None, f"{type(result).__name__}: {result}")
        deliver(result)

    return hand_over


class PipelinePoller(QObject):
    snapshot = Signal(object)  # PipelineSnapshot, on the UI thread

    def __init__(self, store_path: str | Path, parent: QObject | None = None, limit: int = 50) -> None:
        super().__init__(parent)
        reader = _Reader(Path(store_path), limit)
        self._worker = LatestRequest("pipeline-poll", reader.read, _snapshot_to(emitter(self, "snapshot")),
                                     reader.close)
        # Stop delivering before this object or the application goes (nothing is emitted to a deleted one).
        self.destroyed.connect(self._worker.stop)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._worker.stop)

    @property
    def read_in(self) -> set[int]:
        return self._worker.worked_in

    def request(self, pipeline_id: str | None) -> None:
        """Read the runs and ``pipeline_id`` (the newest run when None), then emit :attr:`snapshot`."""
        self._worker.request({"pipeline": pipeline_id})

    def stop(self) -> None:
        """Deliver nothing more (the view is closing); safe to call twice."""
        self._worker.stop()


def _read(store: Any, pipeline_id: str | None, limit: int) -> PipelineSnapshot:
    store.mark_dead_pipeline_runs()
    runs = store.list_pipeline_runs(limit=limit)
    shown = None
    if pipeline_id is not None:
        shown = next((r for r in runs if r.id == pipeline_id), None) or store.get_pipeline_run(pipeline_id)
    elif runs:
        shown = runs[0]
    return PipelineSnapshot(runs, shown)
