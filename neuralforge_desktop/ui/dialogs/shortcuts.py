"""Help → Keyboard Shortcuts: generated from the menu bar's actions, so it can never disagree with them."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu, action, shortcuts) for every menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def visit(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                visit(action.menu(), f"{path} › {_plain(action.text())}")
                continue
            if action.isSeparator():
                continue
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
            if keys:
                rows.append((path, _plain(action.text()), "  or  ".join(keys)))

    for top in menu_bar.actions():
        if top.menu() is not None:
            visit(top.menu(), _plain(top.text()))
    return rows


def _plain(text: str) -> str:
    # "&Save" → "Save", "Undo Add node" stays, "&&" is a literal ampersand.
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…").strip()


class ShortcutsDialog(QDialog):
    def __init__(self, menu_bar: QMenuBar, extra: list[tuple[str, str, str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(680, 660)
        self.rows = shortcut_rows(menu_bar) + list(extra or [])
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by action or key…")
        self.filter.setClearButtonEnabled(True)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # gestures are described in words
        self.table.setWordWrap(False)
        for row, values in enumerate(self.rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.filter.textChanged.connect(self._apply_filter)

    def shortcut_for(self, action_text: str) -> str | None:
        for _menu, text, keys in self.rows:
            if text == action_text:
                return keys
        return None

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row, values in enumerate(self.rows):
            self.table.setRowHidden(row, bool(needle) and not any(needle in v.lower() for v in values))

