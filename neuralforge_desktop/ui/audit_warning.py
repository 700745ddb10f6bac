"""On start, check the store's audit chain off the UI thread and warn in the status bar when it is broken.

Verifying reads every entry and checks a signature per entry (about 0.3 ms each), so a long log would hold
the window for seconds: the walk runs in a daemon thread, and only its one-line answer comes back to the UI
thread (a queued signal). An intact chain, a missing store file or a store that cannot be read say nothing:
this is a warning about tampering, not a second error report for problems the store shows elsewhere.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QMainWindow

from neuralforge_desktop.ui.ui_thread import emitter

_log = logging.getLogger(__name__)


def broken_chain_message(store_path: Path) -> str | None:
    """The warning for ``store_path``'s audit log, or None when it is intact (or there is no store)."""
    from neuralforge_desktop.core.audit import verify
    from neuralforge_desktop.core.store.sqlite_store import Store

    if not store_path.is_file():
        return None
    try:
        with Store(store_path) as store:
            report = verify(store)
    except Exception as exc:  # an unreadable store is reported by the panels that use it
        _log.warning("could not check the audit log of %s: %s", store_path, exc)
        return None
    if report.first_break is None:
        return None
    return f"Audit log broken at {report.first_break.describe()}; run `neuralforge audit verify`"


class AuditWarning(QObject):
    """Runs the check in a thread and, when the chain is broken, shows ``label`` in the window's status bar."""

    found = Signal(str)  # emitted from the worker thread; delivered queued on the UI thread

    def __init__(self, window: QMainWindow, store_path: Path) -> None:
        super().__init__(window)
        self._window = window
        self.store_path = store_path
        self.label: QLabel | None = None
        self.finished = threading.Event()  # set when the check is over (tests wait on it)
        self.found.connect(self._show)

    def start(self) -> None:
        threading.Thread(target=_check, args=(self.store_path, self.finished, emitter(self, "found")),
                         name="audit-check", daemon=True).start()

    def _show(self, message: str) -> None:
        label = QLabel(f"⚠ {message.split(';')[0]}")
        label.setObjectName("auditWarning")
        label.setProperty("role", "errors")
        label.setProperty("active", "true")
        label.setToolTip(message)
        self._window.statusBar().addPermanentWidget(label)
        self._window.statusBar().showMessage(message, 15000)
        self.label = label


def _check(store_path: Path, finished: threading.Event, found: Callable[[str], None]) -> None:
    """The checking thread: it holds nothing of the window's but ``found`` (an emitter, holding it weakly)."""
    try:
        message = broken_chain_message(store_path)
        if message is not None:
            found(message)  # not shown if the window closed while we were checking
    finally:
        finished.set()


def check_audit_log(window: QMainWindow, store_path: str | Path | None) -> AuditWarning:
    """Start the check for the store the window uses (None: the default store)."""
    if store_path is None:
        from neuralforge_desktop.core.store.sqlite_store import default_store_path

        store_path = default_store_path()
    warning = AuditWarning(window, Path(store_path))
    warning.start()
    return warning
