"""When panels that follow the document refresh after an edit or a newly opened graph.

A panel's refresh on a big graph (the cost estimate, generated code) takes longer than a frame, and the
canvas is what the user is looking at, so panels start their refresh only after the canvas has painted.
Posted paint requests are delivered in the event loop's pass after the change; a timer started from a
zero-delay timer in that pass fires in a later one, so the paint goes first even when the change itself (say,
opening a file) took longer than the panel's delay.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer

AFTER_CANVAS_MS = 30  # on top of that pass: short enough to read as immediate


def start_after_canvas(timer: QTimer) -> None:
    """Start ``timer`` (a panel's coalescing single-shot timer) once the event loop has had a pass."""
    QTimer.singleShot(0, timer, timer.start)
