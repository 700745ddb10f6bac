"""Train ▸ Experiment Notes…: notes are written in Markdown, previewed rendered, saved to the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.training.notes_panel import NotesPanel


def test_notes_are_added_previewed_edited_and_deleted(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        run = store.create_run("digits", "baseline", environment={})
        store.add_note("an older note", experiment="digits", created=1.0)
    panel = NotesPanel(path, experiment="digits")
    qtbot.addWidget(panel)
    assert panel.current_target() == {"experiment": run.experiment_id} and panel.notes.count() == 1

    panel.kind.setCurrentText("hypothesis")
    panel.editor.setPlainText("# Idea\n\nA **wider** first layer helps.")
    assert "wider" in panel.preview.toPlainText() and "**" not in panel.preview.toPlainText()  # rendered
    assert panel.preview.document().toMarkdown().count("**wider**") == 1
    saved = panel.save()
    assert saved is not None and panel.notes.count() == 2 and panel.delete_button.isEnabled()

    panel.editor.setPlainText("# Idea\n\nA wider first layer helps, up to 256 units.")
    panel.save()
    with Store(path) as store:
        notes = store.list_notes(experiment="digits")
    assert [(n.kind, n.text.splitlines()[-1]) for n in notes] == [
        ("note", "an older note"), ("hypothesis", "A wider first layer helps, up to 256 units.")]

    panel.delete_current()
    assert panel.notes.count() == 1
    panel.done(0)


def test_the_window_opens_notes_on_the_run_chosen_in_the_runs_panel(qtbot: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QSettings

    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    path = tmp_path / "store.db"
    with Store(path) as store:
        run = store.create_run("digits", "baseline", environment={})
        store.add_note("seen on this run", run_id=run.id)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=path)
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.show_runs()
    window.runs_panel.refresh()
    window.runs_panel.select_runs([run.id])
    window.commands["train.notes"].trigger()
    panel = window.notes_dialog
    assert panel.current_target() == {"run_id": run.id}
    assert panel.notes.count() == 1 and "seen on this run" in panel.notes.item(0).text()
    panel.target.setCurrentIndex(1)  # the run's experiment lists the run's notes too
    assert panel.current_target() == {"experiment": run.experiment_id} and panel.notes.count() == 1
    panel.close()
