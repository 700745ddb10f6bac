"""Train ▸ Experiment Notes…: the experiment notebook in the app.

Pick an experiment, or the run chosen in the Runs panel; its notes are listed oldest first (a run's
experiment also lists the notes on its runs). A note is written in Markdown on the left and shown rendered
on the right as you type; Save adds or changes it, Delete removes it. Everything goes through the store's
notes methods, so the CLI (``neuralforge notes``) and reports see the same notes.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.notes import NOTE_KINDS, Note
from neuralforge_desktop.core.store.sqlite_store import Store

NOTE_ROLE = Qt.ItemDataRole.UserRole


def _summary(note: Note) -> str:
    first = next((line.strip("# ").strip() for line in note.text.splitlines() if line.strip()), "")
    first = first.replace("**", "").replace("`", "")  # the list shows plain words; the preview shows Markdown
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(note.created))
    where = "  (run)" if note.run_id else ""
    return f"{when}  {note.kind}{where}\n{first[:70]}"


class NotesPanel(QDialog):
    """Notes on one experiment or run. ``run_id``: start on that run (else the first experiment)."""

    notes_changed = Signal()

    def __init__(self, store_path: str | os.PathLike[str] | None = None, *, run_id: str | None = None,
                 experiment: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Experiment Notes")
        self.setObjectName("notes_panel")
        self.resize(860, 520)
        self.store = Store(store_path)
        self.target = QComboBox()
        self.target.setObjectName("notes_target")
        self.notes = QListWidget()
        self.notes.setObjectName("notes_list")
        self.notes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.notes.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.notes.setSpacing(3)
        self.kind = QComboBox()
        self.kind.addItems(list(NOTE_KINDS))
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("notes_editor")
        self.editor.setPlaceholderText("Markdown: a hypothesis to test, what a run showed, what to try next…")
        self.preview = QTextBrowser()
        self.preview.setObjectName("notes_preview")
        self.preview.setOpenExternalLinks(False)  # a link in a note is shown, never followed from here
        self.new_button = QPushButton("&New")
        self.save_button = QPushButton("&Save")
        self.delete_button = QPushButton("&Delete")
        self._editing: int | None = None
        self._layout()
        self._fill_targets(run_id, experiment)
        self.target.currentIndexChanged.connect(lambda _i: self.reload())
        self.notes.currentItemChanged.connect(lambda item, _old: self._open(item))
        self.editor.textChanged.connect(self._render)
        self.new_button.clicked.connect(self.start_new)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete_current)
        self.reload()

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Notes on"))
        top.addWidget(self.target, 1)
        editor_side = QWidget()
        column = QVBoxLayout(editor_side)
        column.setContentsMargins(0, 0, 0, 0)
        kind_row = QHBoxLayout()
        kind_row.addWidget(QLabel("Kind"))
        kind_row.addWidget(self.kind)
        kind_row.addStretch(1)
        column.addLayout(kind_row)
        text_split = QSplitter(Qt.Orientation.Horizontal)
        text_split.addWidget(self.editor)
        text_split.addWidget(self.preview)
        column.addWidget(text_split, 1)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.notes)
        split.addWidget(editor_side)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    def _fill_targets(self, run_id: str | None, experiment: str | None) -> None:
        chosen = 0
        if run_id is not None:
            run = self.store.get_run(run_id)
            self.target.addItem(f"Run {run.name} ({run.id})", ("run", run.id))
            experiment = experiment or run.experiment_id
        for exp in self.store.list_experiments():
            if experiment in (exp.id, exp.name) and run_id is None:
                chosen = self.target.count()
            self.target.addItem(f"Experiment {exp.name}", ("experiment", exp.id))
        self.target.setCurrentIndex(chosen)

    def current_target(self) -> dict[str, str] | None:
        data = self.target.currentData()
        if not data:
            return None
        kind, ident = data
        return {"run_id": ident} if kind == "run" else {"experiment": ident}

    def reload(self, select: int | None = None) -> None:
        """Re-read the notes of the current experiment or run (keeping ``select`` chosen when given)."""
        self.notes.blockSignals(True)
        self.notes.clear()
        where = self.current_target()
        found = []
        if where is not None:
            found = self.store.list_notes(**where, include_runs="experiment" in where)  # type: ignore[arg-type]
        for note in found:
            item = QListWidgetItem(_summary(note))
            item.setData(NOTE_ROLE, note.id)
            self.notes.addItem(item)
            if note.id == select:
                self.notes.setCurrentItem(item)
        self.notes.blockSignals(False)
        self.save_button.setEnabled(where is not None)
        if select is None:
            self.start_new()
        self.delete_button.setEnabled(self._editing is not None)

    def start_new(self) -> None:
        self._editing = None
        self.notes.clearSelection()
        self.editor.setPlainText("")
        self.kind.setCurrentText("note")
        self.delete_button.setEnabled(False)

    def _open(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        note = self.store.get_note(int(item.data(NOTE_ROLE)))
        self._editing = note.id
        self.kind.setCurrentText(note.kind)
        self.editor.setPlainText(note.text)
        self.delete_button.setEnabled(True)

    def _render(self) -> None:
        self.preview.setMarkdown(self.editor.toPlainText())

    def save(self) -> Note | None:
        text, kind = self.editor.toPlainText(), self.kind.currentText()
        where = self.current_target()
        if not text.strip() or where is None:
            QMessageBox.information(self, "Experiment Notes", "Write something first.")
            return None
        try:
            if self._editing is None:
                note = self.store.add_note(text, kind=kind, **where)  # type: ignore[arg-type]
            else:
                note = self.store.edit_note(self._editing, text=text, kind=kind)  # type: ignore[arg-type]
        except UserError as exc:  # e.g. a viewer of the project: the message names the role needed
            QMessageBox.warning(self, "Experiment Notes", str(exc))
            return None
        self._editing = note.id
        self.reload(select=note.id)
        self.notes_changed.emit()
        return note

    def delete_current(self) -> None:
        if self._editing is None:
            return
        try:
            self.store.delete_note(self._editing)
        except UserError as exc:
            QMessageBox.warning(self, "Experiment Notes", str(exc))
            return
        self._editing = None
        self.reload()
        self.notes_changed.emit()

    def done(self, result: int) -> None:
        self.store.close()
        super().done(result)
