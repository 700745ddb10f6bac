"""Guard against reference-count bugs of PySide6 6.12 on CPython 3.11 (run once, when ``neuralforge_desktop.ui``
is first imported, before any other Qt call).

PySide6 6.12 hands back ``None`` from every Qt method that returns nothing, and ``True`` from every
``Signal.emit()``, without taking a reference. CPython 3.12+ makes these objects immortal, so there the bug is
harmless; on 3.11 each call takes one from their count and the interpreter aborts ("none_dealloc",
"bool_dealloc") once it reaches zero. The train panel emits a signal per worker event and pyqtgraph several
per repaint, so ``True`` runs out within minutes of training. Giving the three singletons a huge count is
what 3.12 does, and makes the bug inert.

The guard is installed only where it is needed and safe. Whether the binding leaks is measured rather than
read from its version: no fixed release is known to pin on, a patch release or a distribution's rebuild may
fix (or bring back) the bug, and the probe costs a few dozen Qt calls. On a ``Py_TRACE_REFS`` build the
reference count is not an object's first field, so the trick would write over something else: skipped there.
"""

from __future__ import annotations

import logging
import sys

_HEADROOM = 1 << 40  # a trillion leaked calls before it could matter
_PROBE_CALLS = 64  # far below the counts the singletons start with (None ~5,000, True ~600 at startup)
log = logging.getLogger(__name__)


def pyside_leaks_singletons() -> bool:
    """Whether void Qt calls and ``Signal.emit()`` each take a reference from ``None`` or ``True``."""
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        fired = Signal()

    probe = Probe()
    worst = 0
    for singleton, call in ((None, lambda: probe.setObjectName("probe")), (True, probe.fired.emit)):
        before = sys.getrefcount(singleton)
        for _ in range(_PROBE_CALLS):
            call()
        worst = max(worst, before - sys.getrefcount(singleton))
    return worst >= _PROBE_CALLS // 2  # a leak loses one per call; unrelated churn is a handful at most


def reason_not_to_guard() -> str | None:
    """Why the guard is not installed in this process, or None when it is needed."""
    if sys.implementation.name != "cpython":
        return f"{sys.implementation.name} does not count references this way"
    if sys.version_info >= (3, 12):
        return "CPython 3.12+ makes None, True and False immortal"
    if hasattr(sys, "getobjects"):
        return "a Py_TRACE_REFS build keeps the reference count after two list pointers"
    if not pyside_leaks_singletons():
        import PySide6

        return f"PySide6 {PySide6.__version__} keeps its references to None and True"
    return None


def make_singletons_immortal() -> bool:
    """Give None, True and False a huge reference count when the binding leaks them; True when installed."""
    reason = reason_not_to_guard()
    if reason is not None:
        log.debug("reference-count guard not needed: %s", reason)
        return False
    import ctypes

    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field of every object
        if count.value < _HEADROOM:
            count.value += _HEADROOM
    return True
