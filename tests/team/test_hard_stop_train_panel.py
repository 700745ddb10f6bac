"""The app's Train action under a hard-stop budget: Start says which project is over and by how much, and records
no run (below the budget, prepare_run goes ahead: see test_budgets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.budgets import set_budget
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


def test_start_is_refused_in_a_project_past_its_hard_stop(qtbot: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = tmp_path / "store.db"
    with Store(store_path) as store:
        spent = store.create_run("earlier", tags={"host": "gpu-box", "cost_per_gpu_hour": "5"}, environment={})
        set_budget(store, "default", 20.0, hard_stop=True)
        store.add_usage(spent.id, gpu_seconds=5 * 3600)  # $25 of $20
        runs_before = len(store.list_runs())
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(zoo.build("mnist-cnn")),
                        store_path=store_path)
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.show_training()
    panel = window.train_panel
    assert panel.dataset.set_dataset("mnist-10k")
    assert panel.start() is False
    assert "project 'default' has spent $25.00 of its $20.00 budget" in panel.message.text()
    assert "($5.00 over, hard stop on)" in panel.message.text() and panel.run_id is None
    with Store(store_path) as store:
        assert len(store.list_runs()) == runs_before
