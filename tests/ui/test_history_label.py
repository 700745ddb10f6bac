"""The History panel's first entry names where the document's history starts, not "<opened>"."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


def _first_history_row(window: MainWindow) -> str:
    model = window.history.model()
    return str(model.data(model.index(0, 0)))


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.show()
    qtbot.waitExposed(window)
    yield window
    if shiboken6.isValid(window):
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_history_starts_with_the_opened_file_or_start(window: MainWindow, tmp_path: Path) -> None:
    assert _first_history_row(window) == "Start: untitled"
    path = tmp_path / "mnist.nfg"
    save_graph(zoo.build("mnist-cnn"), path)
    assert window.files.open(path)
    assert _first_history_row(window) == "Opened mnist.nfg"
    assert window.files.new_from_template("resnet18")
    assert _first_history_row(window).startswith("Start: ")
    assert "<opened>" not in _first_history_row(window)
