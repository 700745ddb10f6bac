"""Start tells what does not match the dataset before training, and its Fix button edits the graph (undoably)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QPushButton

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from training_graphs import wide_mlp_without_loss


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(wide_mlp_without_loss()),
                     store_path=tmp_path / "store.db")
    monkeypatch.setattr(win.files, "ask_save_changes", lambda: "discard")
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    win.deleteLater()


def test_start_names_the_width_mismatch_and_fix_sets_the_width(window, qtbot, tmp_path):
    window.show_training()
    panel = window.train_panel
    assert panel.dataset.set_dataset("mnist-10k")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)

    assert panel.state == "idle" and panel.run_id is None  # nothing started
    assert panel.message.isVisibleTo(panel), panel.message.text()
    assert "Linear 'fc2' gives 128 outputs but mnist-10k has 10 classes" in panel.message.text()
    assert "no loss node: CrossEntropyLoss will be used for classification" in panel.message.text()
    fixes = [b for b in panel.findChildren(QPushButton) if b.text().startswith("Fix")]
    assert [b.text() for b in fixes] == ["Fix: set fc2 out_features to 10"]
    panel.grab().save(str(tmp_path / "preflight.png"))

    qtbot.mouseClick(fixes[0], Qt.MouseButton.LeftButton)
    graph = window.bridge.document.graph
    assert graph.node("fc2").params["out_features"] == 10
    assert "128" not in panel.message.text() and "Press Start" in panel.message.text()
    assert window.edits.canUndo()
    window.edits.undo()  # the fix is one step on the undo stack
    assert window.bridge.document.graph.node("fc2").params["out_features"] == 128
