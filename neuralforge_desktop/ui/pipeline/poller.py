"""Reads pipeline runs from the store off the UI thread.

A daemon thread owns its own :class:`~neuralforge_desktop.core.store.sqlite_store.Store` (a Store is for one
thread at a time) and answers one request at a time: the newest request wins, so a slow read never queues up
polls. Answers reach the UI thread through a queued Qt signal; once the receiver is going away nothing more is
delivered (emitting on a deleted object would crash)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from neuralforge_desktop.ui.ui_thread import emitter


@dataclass(frozen=True)
class PipelineSnapshot:
    """What one poll read: the latest runs (for the chooser) and the one shown, or an error's text."""

    runs: list[Any]  # PipelineRun, newest first, without needing their stages
    shown: Any | None  # the PipelineRun shown (with its stages)
    error: str | None = None


class _PollThread:
    """The thread's side, a plain object so that the Qt side's destruction can still stop it."""

    def __init__(self, store_path: Path, limit: int, deliver: Callable[[PipelineSnapshot], None]) -> None:
        self.store_path = store_path
        self.limit = limit
        self._deliver = deliver
        self._wake = threading.Condition()
        self._wanted: tuple[str | None] | None = None  # (pipeline id, or None for the newest)
        self._stopping = False
        self.read_in: set[int] = set()  # thread ids reads ran in (tests check it is not the UI thread)
        self._thread = threading.Thread(target=self._run, name="pipeline-poll", daemon=True)
        self._thread.start()

    def request(self, pipeline_id: str | None) -> None:
        with self._wake:
            self._wanted = (pipeline_id,)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def _run(self) -> None:
        store = None
        try:
            while True:
                with self._wake:
                    while self._wanted is None and not self._stopping:
                        self._wake.wait()
                    if self._stopping:
                        return
                    assert self._wanted is not None
                    (pipeline_id,) = self._wanted
                    self._wanted = None
                self.read_in.add(threading.get_ident())
                try:
                    if store is None:
                        from neuralforge_desktop.core.store.sqlite_store import Store

                        store = Store(self.store_path)
                    result = _read(store, pipeline_id, self.limit)
                except Exception as exc:  # a store that cannot be read: the view says why and keeps polling
                    result = PipelineSnapshot([], None, f"{type(exc).__name__}: {exc}")
                with self._wake:  # stop() waits for a delivery under way, and none starts after it
                    if self._stopping:
                        return
                    self._deliver(result)
        finally:
            if store is not None:
                store.close()


class PipelinePoller(QObject):
    snapshot = Signal(object)  # PipelineSnapshot, on the UI thread

    def __init__(self, store_path: str | Path, parent: QObject | None = None, limit: int = 50) -> None:
        super().__init__(parent)
        self._worker = _PollThread(Path(store_path), limit, emitter(self, "snapshot"))
        # Emitting on a deleted object crashes: stop delivering before this object or the application goes.
        self.destroyed.connect(self._worker.stop)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._worker.stop)

    @property
    def read_in(self) -> set[int]:
        return self._worker.read_in

    def request(self, pipeline_id: str | None) -> None:
        """Read the runs and ``pipeline_id`` (the newest run when None), then emit :attr:`snapshot`."""
        self._worker.request(pipeline_id)

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
