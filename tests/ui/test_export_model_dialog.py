"""File ▸ Export Model: the export runs in the worker process while the editor stays responsive, then the
dialog shows the report (size, parity against torch, latency beside torch); Cancel leaves nothing; a bad
target is refused in the dialog before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

pytest.importorskip("onnxruntime")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(zoo.build("lenet5")),
                      store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _open(window: MainWindow, tmp_path: Path):
    window.commands.by_name["file.export_model"].trigger()
    dialog = window.export_model_dialog
    dialog.output.setText(str(tmp_path / "out" / "lenet5.onnx"))
    (tmp_path / "out").mkdir(exist_ok=True)
    return dialog


def test_export_model_runs_in_the_background_and_shows_the_report(qtbot, window, tmp_path) -> None:
    dialog = _open(window, tmp_path)
    assert dialog.format.currentData() == "onnx" and dialog.precision.currentData() == "fp32"
    assert dialog.weights.currentData() == "untrained"  # no runs of this graph in the store yet
    with qtbot.waitSignal(dialog.runner.finished, timeout=180_000) as finished:
        assert dialog.start()
        assert dialog.cancel_button.isVisible() and not dialog.export_button.isEnabled()
        qtbot.wait(50)  # the editor keeps handling events while the worker converts
        assert window.isVisible()
    assert finished.args[0]["event"] == "result", finished.args[0]
    assert (tmp_path / "out" / "lenet5.onnx").is_file()
    report = dialog.report
    assert report is not None and report.verification == "parity" and report.parity
    assert max(p["max_abs"] for p in report.parity) <= 1e-4
    text = dialog.result.toPlainText()
    assert "max |Δ|" in text and "Latency, batch 1" in text and "torch eager" in text
    assert dialog.show_button.isVisible()
    dialog.resize(720, 560)
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if docs.is_dir():
        dialog.grab().save(str(tmp_path / "export-dialog.png"))


def test_cancel_stops_the_worker_and_leaves_nothing(qtbot, window, tmp_path) -> None:
    dialog = _open(window, tmp_path)
    with qtbot.waitSignal(dialog.runner.finished, timeout=60_000) as finished:
        assert dialog.start()
        qtbot.wait(300)
        dialog.cancel_button.click()
    assert finished.args[0].get("cancelled") is True
    assert "cancelled" in dialog.status.text()
    assert list((tmp_path / "out").iterdir()) == []  # no export, no temporary folder


def test_a_missing_folder_is_refused_in_the_dialog_before_any_work(qtbot, window, tmp_path) -> None:
    dialog = _open(window, tmp_path)
    dialog.output.setText(str(tmp_path / "no such folder" / "m.onnx"))
    assert dialog.start() is False
    assert "no such folder" in dialog.error and not dialog.runner.running()
    assert dialog.export_button.isEnabled()
