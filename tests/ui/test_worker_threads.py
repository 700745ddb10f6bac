"""Worker threads never keep a view alive: a view closed while its worker is busy goes at once, on the UI thread
(a worker that dropped the last reference would destroy it on its own thread, which crashes the process), and
the late result is dropped. Also the newest-request worker the views share."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.ui.latest_request import LatestRequest
from neuralforge_desktop.ui.ui_thread import emitter


class _Blocked:
    """Stands in for a slow report: waits until released, counting the calls that got in."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def __call__(self, *args, **kwargs):
        self.threads.append(threading.current_thread())
        self.entered.set()
        assert self.release.wait(30)
        raise RuntimeError("released")


def _close_and_collect(holder: list) -> weakref.ref:
    view = holder.pop()  # the only reference, so that only a worker could keep the view alive
    ref = weakref.ref(view)
    view.close()
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del view
    gc.collect()
    return ref


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    Store(path).close()
    return path


def _assert_gone_while_busy(qtbot, blocked: _Blocked, make_view) -> None:
    holder = [make_view()]
    assert blocked.entered.wait(30)
    ref = _close_and_collect(holder)
    assert ref() is None  # gone although its worker is still busy
    blocked.release.set()
    for thread in blocked.threads:
        thread.join(30)
        assert not thread.is_alive()
    qtbot.wait(50)  # the late result reaches the relay, which finds nobody: no crash


def test_a_portfolio_closed_while_reading_is_freed_at_once(qtbot, store_path, monkeypatch):
    from neuralforge_desktop.core.team import portfolio
    from neuralforge_desktop.ui.portfolio.view import PortfolioView

    blocked = _Blocked()
    monkeypatch.setattr(portfolio, "compute_portfolio", blocked)
    _assert_gone_while_busy(qtbot, blocked, lambda: PortfolioView(store_path))


def test_a_cost_view_closed_while_loading_is_freed_at_once(qtbot, store_path, monkeypatch):
    from neuralforge_desktop.ui.cost import view as cost_view

    blocked = _Blocked()
    monkeypatch.setattr(cost_view, "load_reports", blocked)
    hosts = store_path.parent / "hosts.json"
    _assert_gone_while_busy(qtbot, blocked, lambda: cost_view.CostView(store_path, hosts_path=hosts))


class _Receiver(QObject):
    arrived = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[dict, object]] = []
        self.arrived.connect(lambda what, result: self.results.append((what, result)))


def test_the_newest_request_wins_and_results_arrive_on_the_ui_thread(qtbot):
    gate = threading.Event()
    worked: list[dict] = []

    def work(what: dict) -> int:
        worked.append(what)
        if what["n"] == 1:
            assert gate.wait(30)  # requests 2 and 3 are made while 1 is worked on
        if what["n"] == 4:
            raise ValueError("bad request")
        return what["n"] * 10

    receiver = _Receiver()
    worker = LatestRequest("test-latest", work, emitter(receiver, "arrived"))
    worker.request({"n": 1})
    qtbot.waitUntil(lambda: worker.busy, timeout=5000)
    worker.request({"n": 2})
    worker.request({"n": 3})  # replaces 2, which never starts
    gate.set()
    qtbot.waitUntil(lambda: len(receiver.results) == 2, timeout=5000)
    worker.request({"n": 4})
    qtbot.waitUntil(lambda: len(receiver.results) == 3, timeout=5000)
    assert [w["n"] for w in worked] == [1, 3, 4]
    assert receiver.results[:2] == [({"n": 1}, 10), ({"n": 3}, 30)]
    assert isinstance(receiver.results[2][1], ValueError)  # the error is delivered, and the worker goes on
    assert threading.get_ident() not in worker.worked_in
    worker.stop()
    assert worker.join(5)


def test_stop_delivers_nothing_more_and_closes_on_the_worker_thread(qtbot):
    entered, gate = threading.Event(), threading.Event()
    closed_in: list[int] = []

    def work(what: dict) -> str:
        entered.set()
        assert gate.wait(30)
        return "late"

    receiver = _Receiver()
    worker = LatestRequest("test-stop", work, emitter(receiver, "arrived"),
                           close=lambda: closed_in.append(threading.get_ident()))
    worker.request({"n": 1})
    assert entered.wait(5)
    worker.stop()
    gate.set()
    assert worker.join(5)
    qtbot.wait(50)
    assert receiver.results == []
    assert closed_in and closed_in[0] in worker.worked_in
