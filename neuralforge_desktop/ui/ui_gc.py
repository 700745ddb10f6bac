"""Python's cyclic garbage collector runs on the UI thread only.

Python collects reference cycles in whichever thread happens to allocate when a generation passes its
threshold, and the editor's worker threads (derived values, readers, previews) allocate all the time. A Qt
object caught in a cycle is then destroyed on that worker thread while the UI thread is using Qt, and the
process crashes at random. A 30-line script (one thread allocating, the UI thread dropping widgets held in
cycles) segfaulted in 2 runs of 2; with collection moved to the UI thread it ran through 3 of 3.

So automatic collection is switched off as soon as the application exists, and pyqtgraph's
``GarbageCollector`` (made for this very problem) collects on a UI-thread timer instead. pyqtgraph is
imported a moment after start-up, not before the first paint: cycles made in that second wait for it.
"""

from __future__ import annotations

import gc
from typing import Any

INTERVAL_S = 1.0  # how often the UI thread checks whether a generation is due (pyqtgraph's default)
INSTALL_AFTER_MS = 1500  # after the window's first paint

_collector: Any = None  # pyqtgraph's GarbageCollector, once installed


def collect_on_ui_thread(*, later: bool = True) -> None:
    """Stop automatic collection now and collect on the UI thread from then on. Call on the UI thread once
    the QApplication exists; ``later`` defers importing pyqtgraph until after start-up."""
    gc.disable()
    if _collector is not None:
        return
    if later:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(INSTALL_AFTER_MS, _install)
    else:
        _install()


def _install() -> None:
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=INTERVAL_S)  # its timer lives on this (the UI) thread
    gc.disable()


def collect_due() -> None:
    """Collect the generations that are due now, on the calling (UI) thread; nothing before installation."""
    if _collector is not None:
        _collector.check()


def installed() -> bool:
    return _collector is not None
