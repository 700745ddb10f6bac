"""A daemon thread that works on the newest request only, and holds no Qt object.

A worker thread must not keep a view (or any QObject) alive: when such a thread ends, it drops its reference
there, and if that was the last one the object is destroyed on the worker thread, which Qt does not survive.
So the thread's side is a plain object; what it computes goes back through a ``deliver`` callable, normally an
:func:`~neuralforge_desktop.ui.ui_thread.emitter`, which holds the receiver weakly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Work = Callable[[dict[str, Any]], Any]
Deliver = Callable[[dict[str, Any], Any], None]


class LatestRequest:
    """Runs ``work(request)`` in its own daemon thread, one request at a time; a request made while another is
    being worked on replaces any older one still waiting. ``deliver(request, result)`` gets the result, or the
    exception ``work`` raised. ``close`` (if given) is called on the thread when it ends, to release what
    ``work`` opened there (a Store is for one thread)."""

    def __init__(self, name: str, work: Work, deliver: Deliver, close: Callable[[], None] | None = None) -> None:
        self._work, self._deliver, self._close = work, deliver, close
        self._wake = threading.Condition()
        self._pending: dict[str, Any] | None = None
        self._stopping = False
        self.busy = False
        self.worked_in: set[int] = set()  # thread ids requests ran in (tests check it is not the UI thread)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def request(self, what: dict[str, Any]) -> None:
        with self._wake:
            self._pending = what  # an older request not started yet is stale
            self._wake.notify()

    def stop(self) -> None:
        """Deliver nothing more; a request under way finishes unheard. Once this returns, no delivery is under way."""
        with self._wake:
            self._stopping = True
            self._pending = None
            self._wake.notify()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end after :meth:`stop` (tests); True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                with self._wake:
                    while self._pending is None and not self._stopping:
                        self._wake.wait()
                    if self._stopping:
                        return
                    what, self._pending = self._pending, None
                    self.busy = True
                self.worked_in.add(threading.get_ident())
                result: Any
                try:
                    result = self._work(what)
                except Exception as exc:  # the receiver shows it; the next request tries again
                    result = exc
                with self._wake:  # stop() waits for a delivery under way, and none starts after it
                    self.busy = False
                    if self._stopping:
                        return
                    self._deliver(what, result)
        finally:
            if self._close is not None:
                self._close()
