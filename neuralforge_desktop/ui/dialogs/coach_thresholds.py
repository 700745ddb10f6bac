"""Coach ▸ Thresholds…: every number the Coach's rules compare against, its default and the reason for it, editable.
Saved to ``coach.json`` in NeuralForge's data folder (only the values that differ from the defaults), which the
CLI's ``neuralforge coach`` and training read too."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.training.coach.thresholds import (
    Thresholds,
    ThresholdsError,
    default_thresholds_path,
    load_thresholds,
    reasons,
    save_thresholds,
)

NAME, VALUE, DEFAULT, WHY = range(4)


class CoachThresholdsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, path: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Coach Thresholds")
        self.path = path or default_thresholds_path()
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f")
        try:
            current = load_thresholds(self.path)
        except ThresholdsError as exc:  # a broken file: show the defaults and say why; saving replaces it
            current = Thresholds()
            self.error.setText(str(exc))
        defaults, why = Thresholds(), reasons()
        names = [f.name for f in fields(Thresholds)]
        self.table = QTableWidget(len(names), 4, self)
        self.table.setHorizontalHeaderLabels(["Threshold", "Value", "Default", "Why this value"])
        self.table.verticalHeader().setVisible(False)
        for row, name in enumerate(names):
            fixed = [(NAME, name), (DEFAULT, f"{getattr(defaults, name):g}"), (WHY, why.get(name, ""))]
            for column, text in fixed:
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(why.get(name, ""))
                self.table.setItem(row, column, item)
            self.table.setItem(row, VALUE, QTableWidgetItem(f"{getattr(current, name):g}"))
        header = self.table.horizontalHeader()
        for column in (NAME, VALUE, DEFAULT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHY, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        where = QLabel(f"Saved in {self.path} (only the values you change); the command line reads it too.", self)
        where.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                   parent=self)
        reset = QPushButton("Reset to Defaults", self)
        buttons.addButton(reset, QDialogButtonBox.ButtonRole.ResetRole)
        reset.clicked.connect(self.reset)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(where)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(980, 640)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Row heights follow the reasons' wrapping, which follows the "why" column's width once laid out.
        QTimer.singleShot(0, self.table.resizeRowsToContents)

    def values(self) -> dict[str, float]:
        """The table's values (name → number); a ThresholdsError names one that is not a number."""
        out: dict[str, float] = {}
        for row in range(self.table.rowCount()):
            name = self.table.item(row, NAME).text()
            text = self.table.item(row, VALUE).text().strip()
            try:
                out[name] = float(text)
            except ValueError:
                raise ThresholdsError(f"{name}: {text!r} is not a number") from None
        return out

    def reset(self) -> None:
        for row in range(self.table.rowCount()):
            self.table.item(row, VALUE).setText(self.table.item(row, DEFAULT).text())

    def save(self) -> bool:
        """Validate and write; on a bad value say which and keep the dialog open."""
        try:
            thresholds = Thresholds().with_overrides(self.values(), "the table")
            save_thresholds(thresholds, self.path)
        except (ThresholdsError, OSError) as exc:
            self.error.setText(str(exc))
            return False
        self.accept()
        return True
