"""The app checks its store's audit chain when it starts, off the UI thread, and names the broken entry in the
status bar (offscreen Qt, tests/conftest.py)."""

from __future__ import annotations

import sqlite3
import threading

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.audit_warning import broken_chain_message, check_audit_log
from tests.audit.conftest import fill


def _store_with_entries(path) -> None:
    with Store(path) as store:
        fill(store)


def test_a_broken_chain_is_named_in_the_status_bar(make_window, qtbot, tmp_path):
    window = make_window()
    path = tmp_path / "store.db"
    _store_with_entries(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_log SET who = 'someone-else' WHERE seq = 3")
    warning = check_audit_log(window, path)
    qtbot.waitUntil(lambda: warning.label is not None, timeout=10_000)
    assert warning.label is not None
    assert "Audit log broken at entry #3 (graph.saved /g.nfg): hash mismatch" in warning.label.text()
    assert warning.label.isVisible() and "neuralforge audit verify" in warning.label.toolTip()
    assert "entry #3" in window.statusBar().currentMessage()


def test_the_check_runs_off_the_ui_thread_and_an_intact_chain_says_nothing(make_window, qtbot, tmp_path,
                                                                          monkeypatch):
    from neuralforge_desktop.ui import audit_warning

    window = make_window()
    path = tmp_path / "store.db"
    _store_with_entries(path)
    threads: list[int] = []
    real = audit_warning.broken_chain_message
    monkeypatch.setattr(audit_warning, "broken_chain_message",
                        lambda p: threads.append(threading.get_ident()) or real(p))
    warning = check_audit_log(window, path)
    assert warning.finished.wait(10)
    qtbot.wait(50)  # a queued warning, if any, would be delivered now
    assert warning.label is None
    assert threads and threads[0] != threading.get_ident()


def test_no_store_file_means_no_warning_and_no_file_made(tmp_path):
    assert broken_chain_message(tmp_path / "absent.db") is None
    assert not (tmp_path / "absent.db").exists()
