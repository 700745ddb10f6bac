"""The Train dock follows the open document: after another file is opened it no longer shows the previous
document's curves, run status or failure message."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.training.events import EpochEvent, FailedEvent, StartedEvent, StepEvent
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from training_graphs import digits_mlp

pytest.importorskip("pyqtgraph")


def test_opening_another_file_clears_the_previous_runs_curves_and_error(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()),
                        store_path=tmp_path / "store.db")
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.show_training()
    panel = window.train_panel
    # What the worker of a run that failed in its second epoch reports, as the event pump delivers it.
    run = "run-of-the-first-file"
    panel._run_id = run
    panel._run_info = {"run_id": run, "epochs": 3, "dataset": "digits"}
    for event in (StartedEvent(run_id=run, device="cpu", epochs=3, steps_per_epoch=10),
                  *(StepEvent(run_id=run, epoch=1 + s // 10, step=s, loss=2.0 / s) for s in range(1, 15)),
                  EpochEvent(run_id=run, epoch=1, step=10, metrics={"train/loss": 0.4, "val/acc": 0.8}),
                  FailedEvent(run_id=run, error="the data loader ran out of memory")):
        panel._on_event(event)
    panel._on_exit(1)
    assert panel.curves.point_count() > 0 and "ran out of memory" in panel.last_error
    assert panel.status_text() != "Not running"

    other = tmp_path / "other.nfg"
    graph = digits_mlp()
    graph.name = "other"
    save_graph(graph, other)
    assert window.files.open(other)
    assert window.bridge.document.path == other
    assert panel.curves.point_count() == 0 and panel.curves.series_count() == 0
    assert panel.last_error == "" and not panel.message.isVisible()
    assert panel.status_text() == "Not running" and panel.run_id is None
    assert panel.start_button.isEnabled() and run not in panel.state_label.text()
    window.close()
    window.deleteLater()
