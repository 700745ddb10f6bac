"""Training from the main window: the Train dock trains the graph being edited, live; the Runs dock lists it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from training_graphs import digits_mlp


@pytest.mark.slow
def test_train_dock_trains_the_open_graph_and_runs_dock_lists_it(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()),
                        store_path=tmp_path / "store.db")
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.show_training()
    panel = window.train_panel
    panel.set_config(TrainConfig(dataset="digits", epochs=2, batch_size=32, lr=3e-3, seed=1))
    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as finished:
        assert panel.start()
    run_id, status = finished.args
    assert status == "finished"
    assert panel.curves.series_count() > 0
    window.grab().save(str(tmp_path / "window-training.png"))
    window.show_runs()
    runs = window.runs_panel
    runs.refresh()
    assert run_id in runs.visible_run_ids()
    assert runs.cell_text(run_id, "status") == "finished"
    window.close()
    window.deleteLater()
