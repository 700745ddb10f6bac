"""Reference cycles are collected on the UI thread only: a worker thread that collected a cycle holding a Qt
object would destroy it off the UI thread and crash the app (ui/ui_gc.py)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtWidgets import QWidget

from neuralforge_desktop.ui import ui_gc
from neuralforge_desktop.ui.app import create_application


class _Cycle:
    def __init__(self) -> None:
        self.me = self
        self.widget = QWidget()  # a parentless widget, destroyed with its wrapper


def test_the_app_switches_automatic_collection_off(qapp) -> None:
    gc.enable()
    try:
        create_application()
        assert not gc.isenabled()  # from here on, no thread collects by itself
    finally:
        gc.disable()


def test_a_busy_worker_thread_never_collects_and_the_ui_thread_does(qapp, qtbot) -> None:
    create_application()
    ui_gc._install()  # what the app does a moment after start-up
    collected_in: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            collected_in.append(threading.get_ident())

    cycle = _Cycle()
    alive = weakref.ref(cycle)
    del cycle
    gc.callbacks.append(record)
    stop = threading.Event()

    def churn() -> None:  # allocates cycles far past every threshold, as a worker computing values does
        while not stop.is_set():
            junk = [{} for _ in range(5000)]
            for item in junk:
                item["self"] = item

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    try:
        qtbot.wait(300)
        assert alive() is not None or collected_in  # only a collection can have freed it …
        assert threading.get_ident() != worker.ident
        qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # … and the UI thread's timer does
    finally:
        stop.set()
        worker.join()
        gc.callbacks.remove(record)
    assert collected_in
    assert set(collected_in) == {threading.get_ident()}  # every collection ran on the UI thread
