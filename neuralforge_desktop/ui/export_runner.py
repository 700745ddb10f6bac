"""Runs one model export in the background for the app: the same worker process as ``neuralforge export``
(:class:`~neuralforge_desktop.core.exporters.process.ExportProcess`), its events read on a plain thread and
handed to the UI thread as signals. The editor never imports torch, TensorFlow or coremltools, and never waits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters.pipeline import ExportRequest
from neuralforge_desktop.core.exporters.process import ExportProcess
from neuralforge_desktop.ui.ui_thread import emitter


class ExportRunner(QObject):
    """``progress(fraction, text)`` while the worker works; ``finished(event)`` once, with the worker's last
    event: ``{"event": "result", "report": {…}}`` or ``{"event": "error", "error": "…"}`` (also for a request
    refused before the worker starts, and ``"cancelled": True`` after :meth:`cancel`)."""

    progress = Signal(float, str)
    finished = Signal(dict)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: ExportProcess | None = None
        self._thread: threading.Thread | None = None
        self._cancelled = threading.Event()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: ExportRequest) -> bool:
        """Start the export; False (and ``finished`` with the error) when the request is refused at once."""
        if self.running():
            return False
        self._cancelled = threading.Event()
        try:
            self._process = ExportProcess(request).start()
        except UserError as exc:
            self.finished.emit({"event": "error", "error": str(exc), "user_error": True})
            return False
        # The thread holds nothing of this object's but emitters (weakly): a closed dialog is not kept alive
        self._thread = threading.Thread(target=_read_events, name="export-events", daemon=True,
                                        args=(self._process, self._cancelled, emitter(self, "progress"),
                                              emitter(self, "finished")))
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop the worker now; nothing it was writing stays behind."""
        process = self._process
        if process is not None and self.running():
            self._cancelled.set()
            process.kill()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reading thread is done (tests); True when it is."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running()


def _read_events(process: ExportProcess, cancelled: threading.Event, progress: Callable[[float, str], None],
                 finished: Callable[[dict[str, Any]], None]) -> None:
    last: dict[str, Any] = {}
    try:
        for event in process.events():
            if event.get("event") == "progress":
                progress(float(event.get("fraction", 0.0)), str(event.get("text", "")))
            else:
                last = event
    except Exception as exc:  # the reader must always end with one finished signal
        last = {"event": "error", "error": f"reading the export worker failed: {exc}"}
    if cancelled.is_set():
        last = {"event": "error", "error": "cancelled: nothing was written", "cancelled": True}
    finished(last or {"event": "error", "error": "the export worker ended without a result"})
