"""Guard against reference-count bugs of PySide6 6.12 on CPython 3.11 (run once, when ``neuralforge_desktop.ui``
is first imported, before any Qt call).

PySide6 6.12 hands back ``None`` from every Qt method that returns nothing, and ``True`` from every
``Signal.emit()``, without taking a reference. CPython 3.12+ makes these objects immortal, so there the bug is
harmless; on 3.11 each call takes one from their count and the interpreter aborts ("none_dealloc",
"bool_dealloc") once it reaches zero. The train panel emits a signal per worker event and pyqtgraph several
per repaint, so ``True`` runs out within minutes of training. Giving the three singletons a huge count is
what 3.12 does, and makes the bug inert.
"""

from __future__ import annotations

import sys

_HEADROOM = 1 << 40  # a trillion leaked calls before it could matter


def make_singletons_immortal() -> None:
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    import ctypes

    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field of every object
        if count.value < _HEADROOM:
            count.value += _HEADROOM
