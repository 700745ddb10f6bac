"""Hands a worker thread's result to the UI thread without the worker touching the receiving Qt object.

A worker that emits a signal of the view it works for races with the view's deletion on the UI thread: a
``shiboken6.isValid`` check before the emit can pass an instant before the view goes, and the emit then reads
a freed object and crashes the process. Here the worker emits on one relay that lives as long as the
application and holds its receiver weakly; the relay's slot runs on the UI thread, the only thread that
deletes widgets, and calls the receiver only if it is still there at that moment.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

_Resolve = Callable[[], Any]  # the receiving object, or None once it has gone
_Item = tuple[_Resolve, Callable[..., Any], tuple[Any, ...]]


class _Relay(QObject):
    carry = Signal(object)  # an _Item, queued to the UI thread

    def __init__(self) -> None:
        super().__init__()
        self.carry.connect(self._call, Qt.ConnectionType.QueuedConnection)

    def _call(self, item: _Item) -> None:
        resolve, call, args = item
        owner = resolve()
        if owner is None or (isinstance(owner, QObject) and not shiboken6.isValid(owner)):
            return  # deleted after the worker handed this over: nobody to tell
        call(owner, *args)


_relay: _Relay | None = None
_relay_lock = threading.Lock()


def _send(item: _Item) -> None:
    global _relay
    app = QCoreApplication.instance()
    if app is None:
        return  # the application is gone (or never came): nothing can be shown
    with _relay_lock:
        if _relay is None or not shiboken6.isValid(_relay):
            relay = _Relay()
            if relay.thread() is not app.thread():  # made in a worker: its slot must run on the UI thread
                relay.moveToThread(app.thread())
            _relay = relay
        relay = _relay
    relay.carry.emit(item)


def call_on_ui_thread(method: Callable[..., Any], *args: Any) -> None:
    """Call the bound ``method(*args)`` soon on the UI thread, unless its object has gone by then.

    The object is held weakly, so a worker's pending result never keeps a closed view alive, nor lets its last
    reference (and with it the widget) go on the worker thread.
    """
    owner = getattr(method, "__self__", None)
    function = getattr(method, "__func__", None)
    if owner is None or function is None:
        raise TypeError(f"call_on_ui_thread needs a bound method, not {method!r}")
    _send((weakref.ref(owner), function, args))


def emit_on_ui_thread(owner: QObject, signal: str, *args: Any) -> None:
    """Emit ``owner``'s signal named ``signal`` with ``args`` soon on the UI thread, unless ``owner`` has gone."""
    emitter(owner, signal)(*args)


def emitter(owner: QObject, signal: str) -> Callable[..., None]:
    """A function any thread may call to emit ``owner``'s ``signal`` on the UI thread (while ``owner`` lives);
    it holds ``owner`` weakly, so a long-lived worker given it never keeps ``owner`` alive."""
    resolve = weakref.ref(owner)

    def emit(*args: Any) -> None:
        _send((resolve, lambda alive, *values: getattr(alive, signal).emit(*values), args))

    return emit
