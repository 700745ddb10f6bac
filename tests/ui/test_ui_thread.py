"""Workers hand results to views through the UI-thread relay: delivered while the view lives, dropped (never a
crash) once it has gone, and never delivered on the worker's own thread."""

from __future__ import annotations

import threading
import time

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Signal
from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui.ui_thread import call_on_ui_thread, emit_on_ui_thread, emitter


class View(QWidget):
    arrived = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, object, int]] = []
        self.arrived.connect(lambda value: self.seen.append(("signal", value, threading.get_ident())))

    def take(self, value: object) -> None:
        self.seen.append(("slot", value, threading.get_ident()))


def _in_thread(work) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def _delete(widget: QWidget) -> None:
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(widget, QEvent.Type.DeferredDelete)


def test_a_result_reaches_a_live_view_on_the_ui_thread(qtbot):
    view = View()
    qtbot.addWidget(view)
    _in_thread(lambda: (emit_on_ui_thread(view, "arrived", 1), call_on_ui_thread(view.take, 2),
                        emitter(view, "arrived")(3)))
    assert view.seen == []  # nothing runs on the worker's thread
    qtbot.waitUntil(lambda: len(view.seen) == 3)
    assert [(kind, value) for kind, value, _ in view.seen] == [("signal", 1), ("slot", 2), ("signal", 3)]
    assert {thread for _, _, thread in view.seen} == {threading.get_ident()}


def test_a_result_for_a_view_deleted_meanwhile_is_dropped(qtbot):
    view = View()
    seen = view.seen
    _in_thread(lambda: (emit_on_ui_thread(view, "arrived", 1), call_on_ui_thread(view.take, 2)))
    _delete(view)  # the user closed the view before the UI thread got to the results
    assert not shiboken6.isValid(view)
    QCoreApplication.processEvents()
    qtbot.wait(20)
    assert seen == []


def test_many_workers_racing_with_closing_views_never_crash(qtbot):
    """What crashed the process before: a worker checking the view is alive, then emitting as it is deleted."""
    delivered: list[object] = []
    for _ in range(20):
        views = [View() for _ in range(8)]
        for view in views:
            view.arrived.connect(delivered.append)
        stop = threading.Event()

        def hammer(targets=tuple(views), stop=stop) -> None:
            while not stop.is_set():
                for target in targets:
                    emit_on_ui_thread(target, "arrived", 1)
                time.sleep(0.0002)  # a steady stream, not millions of queued events

        workers = [threading.Thread(target=hammer) for _ in range(2)]
        for worker in workers:
            worker.start()
        for view in views:
            QCoreApplication.processEvents()
            _delete(view)
        stop.set()
        for worker in workers:
            worker.join()
        QCoreApplication.processEvents()
    assert delivered  # the live views did get results
