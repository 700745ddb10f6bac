"""Network work for the UI (connecting to a host, probing it, bootstrapping it) off the UI thread.

A :class:`HostJob` runs one function in a QThread; what it returns or raises comes back on the UI thread as
``done(result)`` or ``failed(exception)``, and lines it reports as ``progress(text)``. The window never waits on
the network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

_LIVE: set[HostJob] = set()  # running jobs, kept alive until their thread ends (see event_pump.py for why)

Work = Callable[[Callable[[str], None]], Any]  # receives a "say" function for progress lines


class HostJob(QThread):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str)

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self.finished.connect(lambda: _LIVE.discard(self))

    def run(self) -> None:
        try:
            result = self._work(self.progress.emit)
        except Exception as exc:  # reported to the dialog, which shows it
            self.failed.emit(exc)
            return
        self.done.emit(result)

    def begin(self) -> HostJob:
        _LIVE.add(self)
        self.start()
        return self
