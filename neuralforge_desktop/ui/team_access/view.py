"""Team ▸ Users and Roles…: the store's projects (those the acting user may see), each one's members and roles,
and grant and revoke, through :mod:`neuralforge_desktop.core.team.users` (what ``neuralforge users`` runs).

A refused change (the acting user is not an admin of the project) shows its message in the red status line, as
the Model Registry view shows its errors.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.access import ROLES, acting_user

COLUMNS = ("User", "Name", "Role", "Since", "Granted by")
OPEN_TEXT = ("Open: everyone who opens this store may read and write it. Grant a role to close it to its "
             "members (its owner, {owner}, stays admin).")


class UsersView(QWidget):
    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("users_view")
        self.setWindowTitle("Users and Roles")
        self.store_path = Path(store_path)
        self.projects: list[Any] = []
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.project_list = QListWidget()
        self.project_list.setObjectName("users_projects")
        self.project_list.currentRowChanged.connect(lambda _row: self._show_project())
        self.members = QTableWidget(0, len(COLUMNS))
        self.members.setObjectName("users_members")
        self.members.setHorizontalHeaderLabels(list(COLUMNS))
        self.members.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.members.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.members.verticalHeader().setVisible(False)
        self.members.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.members.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("user name")
        self.role_box = QComboBox()
        self.role_box.addItems(list(ROLES))
        self.grant_button = QPushButton("Grant")
        self.grant_button.setToolTip("Give the user this role in the selected project (replacing their role)")
        self.grant_button.clicked.connect(lambda: self.grant())
        self.revoke_button = QPushButton("Revoke Selected")
        self.revoke_button.setToolTip("Take the selected member's role away")
        self.revoke_button.clicked.connect(lambda: self.revoke())
        self.status = QLabel()
        self.status.setObjectName("users_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QHBoxLayout()
        form.addWidget(QLabel("Grant"))
        form.addWidget(self.name_edit, 1)
        form.addWidget(QLabel("the role"))
        form.addWidget(self.role_box)
        form.addWidget(self.grant_button)
        form.addSpacing(24)
        form.addWidget(self.revoke_button)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.summary)
        column.addWidget(self.members, 1)
        column.addLayout(form)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        self.acting = QLabel()
        left_column.addWidget(QLabel("<b>Projects</b>"))
        left_column.addWidget(self.project_list, 1)
        left_column.addWidget(self.acting)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

    # -- reading ---------------------------------------------------------------------------------------------
    def _store(self) -> Any:
        from neuralforge_desktop.core.store.sqlite_store import Store

        return Store(self.store_path)

    def refresh(self) -> None:
        from neuralforge_desktop.core.team.users import members

        chosen = self.current_project()
        with self._store() as store:
            self.projects = [(p, members(store, p.name)) for p in store.list_projects()]
        self.project_list.blockSignals(True)
        self.project_list.clear()
        for project, found in self.projects:
            self.project_list.addItem(f"{project.name}  ({len(found)} members)" if found else f"{project.name}  (open)")
        self.project_list.blockSignals(False)
        names = [p.name for p, _ in self.projects]
        self.project_list.setCurrentRow(names.index(chosen) if chosen in names else 0 if names else -1)
        self.acting.setText(f"Acting as <b>{acting_user()}</b>")
        self._show_project()

    def current_project(self) -> str | None:
        row = self.project_list.currentRow()
        return self.projects[row][0].name if 0 <= row < len(self.projects) else None

    def _show_project(self) -> None:
        row = self.project_list.currentRow()
        project, found = self.projects[row] if 0 <= row < len(self.projects) else (None, [])
        self.members.setRowCount(len(found))
        for r, member in enumerate(found):
            since = dt.datetime.fromtimestamp(member.granted).strftime("%Y-%m-%d %H:%M")
            for c, text in enumerate((member.name, member.display_name, member.role, since, member.granted_by)):
                self.members.setItem(r, c, QTableWidgetItem(text))
        if project is None:
            self.summary.setText("No projects yet: a project is made with its first run.")
        elif found:
            self.summary.setText(f"<b>{project.name}</b>: closed to its members. Owner: {project.owner or 'unknown'}. "
                                 "Viewers read; contributors also run and log; approvers also approve and promote; "
                                 "admins also delete any run and grant roles.")
        else:
            self.summary.setText(f"<b>{project.name}</b>: " + OPEN_TEXT.format(owner=project.owner or "unknown"))
        for widget in (self.grant_button, self.revoke_button, self.name_edit, self.role_box):
            widget.setEnabled(project is not None)

    # -- changes ---------------------------------------------------------------------------------------------
    def _say(self, text: str, ok: bool = True) -> None:
        self.status.setStyleSheet("" if ok else "color: #c62828;")
        self.status.setText(text)

    def grant(self, name: str | None = None, role: str | None = None) -> None:
        from neuralforge_desktop.core.team.users import grant

        project = self.current_project()
        name = (name if name is not None else self.name_edit.text()).strip()
        role = role or self.role_box.currentText()
        if project is None or not name:
            self._say("Type the user's name, choose a role, then Grant.", ok=False)
            return
        try:
            with self._store() as store:
                grant(store, name, project, role)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return
        self.name_edit.clear()
        self.refresh()
        self._say(f"{name} is now {role} of project {project!r}")

    def revoke(self) -> None:
        from neuralforge_desktop.core.team.users import revoke

        project, row = self.current_project(), self.members.currentRow()
        if project is None or row < 0:
            self._say("Select a member to revoke.", ok=False)
            return
        name = self.members.item(row, 0).text()
        try:
            with self._store() as store:
                had = revoke(store, name, project)
        except UserError as exc:
            self._say(str(exc), ok=False)
            return
        self.refresh()
        self._say(f"{name} is no longer {had} of project {project!r}")


def open_users_view(window: Any) -> UsersView:
    """The Users and Roles view of ``window``'s store in its own window (Team ▸ Users and Roles…)."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = UsersView(store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1100, 640)
    view.show()
    window.users_view = view
    return view
