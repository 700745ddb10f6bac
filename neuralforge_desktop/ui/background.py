"""The document's derived values (cost estimate, lint, generated code) computed off the UI thread.

On a 10,000-node graph these take seconds together, and the panels that show them refresh after every edit;
computed on the UI thread they would freeze the canvas that long. Like the canvas's previews
(``ui/canvas/previews.py``), one worker thread takes the newest request per value, one at a time, and a
result is applied on the UI thread only if no edit happened since its request (see
:class:`~neuralforge_desktop.core.edit.document.DerivedJob`): stale results are dropped.

The worker is pure Python, so it shares the interpreter with the UI thread; the interpreter switches threads
every few milliseconds (``sys.getswitchinterval``), so the UI thread waits that long at worst, not seconds.
It is a daemon thread rather than a ``QThread``: panels and bridges come and go (tests make hundreds), and a
thread nobody has to stop cannot hold the application open or abort it at exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from neuralforge_desktop.core.edit.document import DerivedJob, Document
from neuralforge_desktop.ui.ui_thread import emitter

Callback = Callable[[Any], None]


class _Worker:
    """The thread's side: the newest job per key, computed one at a time, handed to ``deliver``."""

    def __init__(self, deliver: Callable[[DerivedJob, Any, bool], None]) -> None:
        self._deliver = deliver
        self._wake = threading.Condition()
        self._pending: dict[str, DerivedJob] = {}
        self._stopping = False
        self.computing_in: set[int] = set()  # thread ids jobs ran in (tests check it is not the UI thread)
        self._thread = threading.Thread(target=self._run, name="derived-values", daemon=True)
        self._thread.start()

    def submit(self, job: DerivedJob) -> None:
        with self._wake:
            self._pending.pop(job.key, None)  # one not started yet is stale: the newest request wins
            self._pending[job.key] = job
            self._wake.notify()

    def stop(self) -> None:
        """Deliver nothing more (the receiver is going away); a computation under way finishes unheard."""
        with self._wake:
            self._stopping = True
            self._pending.clear()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                key = next(iter(self._pending))
                job = self._pending.pop(key)
            self.computing_in.add(threading.get_ident())
            try:
                value, failed = job.compute(), False
            except Exception as exc:  # an edit raced with the reads, or a real bug: the UI thread decides
                value, failed = exc, True
            with self._wake:  # stop() waits for a delivery under way, and none starts after it
                if self._stopping:
                    return
                self._deliver(job, value, failed)


class BackgroundDerived(QObject):
    """Hands a bridge's document's derived values to panels, computed in the worker thread."""

    _computed = Signal(object, object, bool)  # job, value, failed; queued to the UI thread

    def __init__(self, document: Callable[[], Document], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._waiting: dict[str, list[Callback]] = {}
        self._computed.connect(self._arrived)
        self.dropped = 0  # stale results dropped so far (tests read it)
        self._worker = _Worker(emitter(self, "_computed"))
        # Emitting on a deleted object crashes: stop delivering before this object or the application goes.
        self.destroyed.connect(self._worker.stop)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._worker.stop)

    def shutdown(self) -> None:
        """Stop the worker (the window is closing); safe to call twice."""
        self._worker.stop()

    def worker_thread_ids(self) -> set[int]:
        return set(self._worker.computing_in)

    def awaiting(self) -> bool:
        """Whether a requested value has not been handed over yet."""
        return bool(self._waiting)

    def request(self, job: DerivedJob, on_result: Callback) -> None:
        """Call ``on_result(value)`` on the UI thread once ``job``'s value is known: now when cached,
        otherwise after the worker computed it (and only if the document is still at ``job``'s revision)."""
        hit, value = self._document().cached(job)
        if hit:
            on_result(value)
            return
        waiting = self._waiting.setdefault(job.key, [])
        if on_result not in waiting:
            waiting.append(on_result)
        self._worker.submit(job)

    def _arrived(self, job: DerivedJob, value: Any, failed: bool) -> None:
        document = self._document()
        if not document.is_current(job):
            self.dropped += 1  # an edit came after the request; its own request is on the way
            return
        if failed:
            value = document.run(job)  # again, here: a real error surfaces as it did before
        else:
            document.accept(job, value)
        for on_result in self._waiting.pop(job.key, []):
            try:
                on_result(value)
            except RuntimeError as exc:  # a panel closed while its value was computed
                if "already deleted" not in str(exc):
                    raise
