"""Carry a training worker's events onto the UI thread.

``TrainingProcess.events()`` blocks on the worker's stdout, so it is read on a QThread. Each event is handed
to the UI thread through a queued signal and re-emitted there as ``EventPump.event``; the UI thread never
waits on the pipe. When the worker closes its stdout (it ended, crashed or was killed) the reader thread
waits for the exit status and ``EventPump.finished(returncode)`` follows the last event.

The public signal carries ``object`` (always a typed event from ``core.training.events``), passed through
untouched: events can hold whole confusion matrices, and nothing is gained by copying them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from neuralforge_desktop.core.training.events import Event, LogEvent

# Readers still running are kept here, not by their pump: a QThread object destroyed while its thread runs
# aborts the program, and a panel may be closed while a worker is still winding down.
_LIVE: set[_Reader] = set()


class _Reader(QThread):
    received = Signal(object)
    exited = Signal(int)

    def __init__(self, process: Any) -> None:
        super().__init__()
        self._process = process

    def run(self) -> None:
        try:
            for event in self._process.events():
                self.received.emit(event)
        except (OSError, ValueError) as exc:  # the pipe was closed under us (a kill racing the read)
            self.received.emit(LogEvent(text=f"event stream ended: {exc}"))
        try:
            code = self._process.wait()
        except OSError:
            code = -1
        self.exited.emit(int(code) if code is not None else -1)


class EventPump(QObject):
    """Reads ``process.events()`` off the UI thread; ``event(Event)`` per event, then ``finished(returncode)``.

    ``terminal`` is the finished/stopped/failed event once it has arrived (None if the worker died without
    one). Call :meth:`start` once; :meth:`wait` joins the reader (only after the worker was ended)."""

    event = Signal(object)  # one worker event, an Event (see core.training.events)
    finished = Signal(int)  # the worker's exit status, after its last event

    def __init__(self, process: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = process
        self.terminal: Event | None = None
        self.count = 0
        self.returncode: int | None = None
        self._reader = _Reader(process)
        # Both connections are queued (the reader emits from its own thread; this object lives in the UI
        # thread), and queued signals from one thread arrive in order: ``finished`` comes after every event.
        self._reader.received.connect(self._deliver)
        self._reader.exited.connect(self._done)
        self._reader.finished.connect(self._release)

    def start(self) -> EventPump:
        _LIVE.add(self._reader)
        self._reader.start()
        return self

    @property
    def running(self) -> bool:
        return self.returncode is None and self._reader.isRunning()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Join the reader thread (it ends once the worker's stdout closes); True if it has ended."""
        return self._reader.wait(max(0, int(timeout_ms)))

    def _deliver(self, event: Event) -> None:
        self.count += 1
        if event.TERMINAL:
            self.terminal = event
        self.event.emit(event)

    def _done(self, code: int) -> None:
        self.returncode = code
        self.finished.emit(code)

    def _release(self) -> None:
        _LIVE.discard(self._reader)
