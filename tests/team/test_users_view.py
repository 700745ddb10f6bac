"""Team ▸ Users and Roles…: projects with their members, grant and revoke from the view, and a refusal shown in
its status line, on a real store with real widgets (offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.team.identity import USER_ENV
from neuralforge_desktop.core.team.users import grant, members
from neuralforge_desktop.ui.team_access import UsersView


def _cells(view: UsersView) -> list[tuple[str, str]]:
    return [(view.members.item(r, 0).text(), view.members.item(r, 2).text()) for r in range(view.members.rowCount())]


def test_the_view_lists_members_grants_and_revokes(qtbot: Any, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(USER_ENV, "olivia")
    path = tmp_path / "store.db"
    with Store(path) as store:
        store.create_run("resnet", project="vision", environment={})
        store.create_run("scratch", project="sandbox", environment={})
        grant(store, "vic", "vision", "viewer")
    view = UsersView(path)
    qtbot.addWidget(view)
    assert [view.project_list.item(r).text() for r in range(view.project_list.count())] == [
        "sandbox  (open)", "vision  (2 members)"]
    assert "Open: everyone who opens this store" in view.summary.text() and _cells(view) == []

    view.project_list.setCurrentRow(1)
    assert _cells(view) == [("olivia", "admin"), ("vic", "viewer")] and "closed to its members" in view.summary.text()
    view.name_edit.setText("cora")
    view.role_box.setCurrentText("contributor")
    view.grant()
    assert view.status.text() == "cora is now contributor of project 'vision'"
    assert ("cora", "contributor") in _cells(view) and view.current_project() == "vision"
    view.members.selectRow([name for name, _ in _cells(view)].index("vic"))
    view.revoke()
    assert "vic is no longer viewer" in view.status.text() and "vic" not in dict(_cells(view))
    with Store(path) as store:
        assert {m.name: m.role for m in members(store, "vision")} == {"olivia": "admin", "cora": "contributor"}


def test_a_refused_grant_shows_the_message_in_the_status_line(qtbot: Any, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(USER_ENV, "olivia")
    path = tmp_path / "store.db"
    with Store(path) as store:
        store.create_run("resnet", project="vision", environment={})
        grant(store, "cora", "vision", "contributor")
    monkeypatch.setenv(USER_ENV, "cora")
    view = UsersView(path)
    qtbot.addWidget(view)
    view.grant("cora", "admin")
    assert view.status.text() == ("cora is a contributor of project 'vision' and granting or revoking roles needs "
                                  "admin; ask an admin: `neuralforge users grant cora vision admin`")
    assert "#c62828" in view.status.styleSheet()


def test_the_team_menu_opens_the_view(qtbot: Any, tmp_path: Path, monkeypatch) -> None:
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    qtbot.addWidget(window)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.commands.by_name["team.users"].trigger()
    assert window.users_view.isVisible() and window.users_view.store_path == tmp_path / "store.db"
    assert "No projects yet" in window.users_view.summary.text()
    window.users_view.close()
