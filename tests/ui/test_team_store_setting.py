"""The app opens the team store its preferences name (store/url): the Runs dock lists the runs on the PostgreSQL
server, written by different people; an empty setting keeps the default SQLite file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.onboarding.store_url import split_password
from neuralforge_desktop.ui.settings import Settings

from training_graphs import digits_mlp

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "team-store.png"


def _window(qtbot: Any, tmp_path: Path, url: str) -> MainWindow:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.store_url = url
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()))
    qtbot.addWidget(window)
    return window


def test_an_empty_store_url_keeps_the_default_file(qtbot: Any, tmp_path: Path) -> None:
    assert _window(qtbot, tmp_path, "").store_path is None


def test_the_runs_dock_lists_a_team_stores_runs_by_user(qtbot: Any, tmp_path: Path, pg_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    made = {}
    for user, names in (("alice", ("lr-sweep-1", "lr-sweep-2")), ("bob", ("wider-mlp", "dropout-0.3"))):
        monkeypatch.setenv("NEURALFORGE_USER", user)
        with Store(pg_url) as store:
            for k, name in enumerate(names):
                run = store.create_run("digits", name, params={"lr": 0.001 * (k + 1)}, environment={})
                j = len(made)  # each run its own curve
                store.log_series(run.id, "val/acc", range(1, 6), [0.78 + (0.02 + 0.005 * j) * i for i in range(5)])
                store.log_series(run.id, "val/loss", range(1, 6), [0.9 / (i + 1) + 0.05 * j for i in range(5)])
                store.log_series(run.id, "train/loss", range(1, 6), [0.8 / (i + 1 + j) + 0.03 for i in range(5)])
                store.set_status(run.id, "finished")
                made[run.id] = user
    window = _window(qtbot, tmp_path, pg_url)
    bare, password = split_password(pg_url)
    assert window.store_path == bare  # the password is kept in the app's password file, not in the settings
    window.settings.sync()
    assert password not in (tmp_path / "settings.ini").read_text()
    panel = window.make_runs_panel()
    assert set(panel.visible_run_ids()) == set(made)
    with Store(pg_url) as store:
        assert {r.id: r.user for r in store.list_runs()} == made
    if os.environ.get("NEURALFORGE_SCREENSHOTS"):
        panel.resize(1280, 800)
        panel.show()
        qtbot.waitExposed(panel)
        panel.table.selectAll()  # every team member's curves, side by side
        qtbot.wait(300)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        panel.grab().save(str(SCREENSHOT))
