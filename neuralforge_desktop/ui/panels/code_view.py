"""Live PyTorch code for the graph, with the selected node's lines highlighted.

Generating code walks the whole graph, so it is debounced (150 ms after the last change) and skipped while
the panel is hidden (a hidden dock refreshes when shown). After an edit the code, and the lines it changes in
what is shown, are worked out in the worker thread (``ui/background.py``); only those lines are swapped in, which
also keeps the scroll position while the user edits parameters of a node whose line stays put.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QShowEvent,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.edit.document import DerivedJob
from neuralforge_desktop.core.edit.edits import Edit
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.code_apply import CodeApplier
from neuralforge_desktop.ui.panels.code_highlight import PythonHighlighter
from neuralforge_desktop.ui.panels.code_lines import Hunk, ShownCode, changed_line_hunks, shown_code
from neuralforge_desktop.ui.panels.timing import start_after_canvas
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

DEBOUNCE_MS = 150


class CodeView(QWidget):
    """Generated source (or why there is none), Copy and Save…; with Edit on, the code can be changed and
    Apply (Ctrl+Enter) turns it back into the graph: the smallest set of edits, one undo step."""

    code_changed = Signal()  # the shown text was regenerated (tests and status bars listen)
    apply_finished = Signal(bool, str)  # after Apply: whether the graph changed, and what was said

    def __init__(self, bridge: DocumentBridge, selection: SelectionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._selection = selection
        self._theme = DEFAULT_THEME
        self._source = ""  # last good source; empty while the graph cannot become code
        self._class_name = ""
        self._node_lines: dict[str, list[tuple[int, int]]] = {}
        self._stale = True
        self._framework = "pytorch"
        self._requested = self._framework  # the language of the code being generated in the background
        self._code_job: DerivedJob | None = None

        self._title = QLabel(self)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # a narrow dock cuts it
        self._framework_box = QComboBox(self)
        self._framework_box.setObjectName("code_framework")
        self._framework_box.addItem("PyTorch", "pytorch")
        self._framework_box.addItem("Keras 3", "keras")
        self._framework_box.setToolTip("The language of the generated model: PyTorch (what NeuralForge trains) or "
                                       "Keras 3, the same model with PyTorch's tensor layout and a weight loader")
        self._framework_box.currentIndexChanged.connect(
            lambda _index: self.set_framework(self._framework_box.currentData()))
        self._copy = QPushButton("Copy", self)
        self._copy.setToolTip("Copy the whole file to the clipboard")
        self._copy.clicked.connect(self.copy_to_clipboard)
        self._save = QPushButton("Save…", self)
        self._save.setToolTip("Save as a .py file")
        self._save.clicked.connect(self._save_dialog)
        self._edit = QPushButton("Edit", self)
        self._edit.setCheckable(True)
        self._edit.setToolTip("Edit the PyTorch code; Apply (Ctrl+Enter) updates the canvas from it")
        self._edit.toggled.connect(self.set_editing)
        self._apply = QPushButton("Apply", self)
        self._apply.setToolTip("Update the canvas from the code (Ctrl+Enter): unchanged nodes stay where they are")
        self._apply.clicked.connect(self.apply_code)
        self._apply.hide()
        self._edit_sink: Callable[[Edit], None] | None = None
        self._applier: CodeApplier | None = None
        self._note = QLabel(self)  # what the last Apply did, or where the code is wrong
        self._note.setWordWrap(True)
        self._note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._note.hide()
        self._error_line = 0
        self._error = QLabel(self)
        self._error.setWordWrap(True)
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error.hide()

        self._editor = QPlainTextEdit(self)
        self._editor.setReadOnly(True)
        self._editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        self._editor.setFont(font)
        self._editor.setTabStopDistance(4 * self._editor.fontMetrics().horizontalAdvance(" "))
        self._highlighter = PythonHighlighter(self._editor.document(), self._theme)
        apply_keys = QShortcut(QKeySequence("Ctrl+Return"), self._editor)
        apply_keys.setContext(Qt.ShortcutContext.WidgetShortcut)
        apply_keys.activated.connect(self.apply_code)

        bar = QHBoxLayout()
        bar.addWidget(self._title, 1)
        bar.addWidget(self._framework_box)
        bar.addWidget(self._edit)
        bar.addWidget(self._apply)
        bar.addWidget(self._copy)
        bar.addWidget(self._save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(bar)
        layout.addWidget(self._error)
        layout.addWidget(self._note)
        layout.addWidget(self._editor, 1)
        self._filler = QWidget(self)  # takes the editor's room while only the error is shown
        self._filler.hide()
        layout.addWidget(self._filler, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._refresh_in_background)
        bridge.changed.connect(lambda _change: self._schedule())
        bridge.replaced.connect(self._schedule)
        selection.changed.connect(lambda _ids: self._highlight_selection())
        self.set_theme(self._theme)

    # -- public ------------------------------------------------------------------------------------------
    def source(self) -> str:
        return self._source

    def framework(self) -> str:
        return self._framework

    def set_framework(self, framework: str) -> None:
        """Show the model as ``framework`` ("pytorch" or "keras") source."""
        if framework == self._framework:
            return
        self._framework = framework
        self._framework_box.setCurrentIndex(self._framework_box.findData(framework))
        self._source = ""  # a different file: no line-by-line patching from the other language
        self.refresh()

    def text(self) -> str:
        """What the editor shows (the source, or the reason there is none)."""
        return self._editor.toPlainText()

    def editor(self) -> QPlainTextEdit:
        return self._editor

    def has_error(self) -> bool:
        return not self._error.isHidden()

    def highlighted_lines(self) -> list[int]:
        """1-based line numbers currently marked for the selected node."""
        found: list[int] = []
        for selection in self._editor.extraSelections():
            found.append(selection.cursor.blockNumber() + 1)
        return found

    # -- editing ---------------------------------------------------------------------------------------------
    def set_edit_sink(self, sink: Callable[[Edit], None]) -> None:
        """Where Apply sends its edit (the window's undo stack)."""
        self._edit_sink = sink

    def editing(self) -> bool:
        return self._edit.isChecked()

    def set_editing(self, on: bool) -> None:
        if self._edit.isChecked() != on:
            self._edit.setChecked(on)  # comes back here through toggled
            return
        if on and self._framework != "pytorch":
            self.set_framework("pytorch")  # what Apply reads is PyTorch code
        self._framework_box.setEnabled(not on)
        self._editor.setReadOnly(not on)
        self._editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction if on else
                                             Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self._apply.setVisible(on)
        self._note.hide()
        if not on:
            self._source = ""  # whatever was typed and not applied gives way to the graph's code
            self.refresh()

    def set_code_text(self, text: str) -> None:
        """Replace the editor's text (as typing would)."""
        self._editor.setPlainText(text)

    def apply_code(self) -> None:
        """Import the editor's code in the import process and apply the difference to the graph."""
        if not self.editing():
            return
        if self._applier is None:
            self._applier = CodeApplier(self)
            self._applier.imported.connect(self._imported)
            self._applier.failed.connect(self._apply_failed)
        self._say("Applying…", error=False)
        self._apply.setEnabled(False)
        self._applier.apply(self._editor.toPlainText())

    def shutdown(self) -> None:
        if self._applier is not None:
            self._applier.stop()

    def _imported(self, graph: Graph) -> None:
        from neuralforge_desktop.core.importers.sync import sync_plan

        self._apply.setEnabled(True)
        self._error_line = 0
        try:
            plan = sync_plan(self._bridge.document.graph, graph)
        except Exception as exc:  # a graph the diff cannot place: said, the canvas untouched
            self._apply_failed(f"could not apply: {exc}", 0)
            return
        if plan.empty:
            self._say("No change: the canvas already is this code.", error=False)
            self.apply_finished.emit(False, "no change")
            return
        if self._edit_sink is None:
            return
        try:
            self._edit_sink(plan.edit)
        except Exception as exc:
            self._apply_failed(f"could not apply: {exc}", 0)
            return
        summary = "; ".join(plan.lines[:6]) + (f"; … {len(plan.lines) - 6} more" if len(plan.lines) > 6 else "")
        self._say(f"Applied: {summary}", error=False)
        self._source = ""
        self.refresh()  # the graph's own code, in NeuralForge's layout, under what was typed
        self.apply_finished.emit(True, summary)

    def _apply_failed(self, message: str, line: int) -> None:
        self._apply.setEnabled(True)
        self._error_line = line
        self._say(("Not applied; the canvas is unchanged. " + message), error=True)
        if line:
            block = self._editor.document().findBlockByNumber(line - 1)
            if block.isValid():
                self._editor.setTextCursor(QTextCursor(block))
                self._editor.ensureCursorVisible()
        self._highlight_selection()
        self.apply_finished.emit(False, message)

    def error_line(self) -> int:
        return self._error_line

    def note(self) -> str:
        return self._note.text() if not self._note.isHidden() else ""

    def _say(self, text: str, error: bool) -> None:
        c = roles(self._theme)
        color = c.error if error else c.muted
        self._note.setStyleSheet(f"color: {color};")
        self._note.setText(text)
        self._note.show()

    def refresh(self) -> None:
        """Regenerate now, here (after an edit, or when shown, the code is generated in the background)."""
        if self._keeps_typed_text():
            return
        self._timer.stop()
        self._show_result(self._bridge.document.code(self._framework))

    def _keeps_typed_text(self) -> bool:
        if self.editing() and self._source and self._editor.toPlainText() != self._source:
            self._stale = True  # the user's unapplied text stays until Apply or Edit off
            return True
        return False

    def _refresh_in_background(self) -> None:
        """Generate the code, and the lines it changes in what is shown, in the worker thread."""
        if self._keeps_typed_text():
            return
        self._requested = self._framework
        code = self._bridge.document.code_job(self._framework)
        base = self._source
        job = DerivedJob(f"{code.key}:shown:{id(self)}", code.graph, code.revision,
                         lambda: shown_code(code.compute(), base))
        self._code_job = code
        self._bridge.background.request(job, self._code_arrived)

    def _code_arrived(self, shown: ShownCode) -> None:
        if self._requested != self._framework or self._keeps_typed_text():
            return  # the other language was chosen meanwhile (and shown), or the user typed over the code
        self._bridge.document.accept(self._code_job, shown.result)  # others asking for the code get this one
        self._timer.stop()
        self._show_result(shown.result, shown.hunks if shown.base == self._source else None)

    def _show_result(self, result: object, hunks: list[Hunk] | None = None) -> None:
        self._stale = False
        if isinstance(result, Exception):
            self._show_error(str(result), unsupported=type(result).__name__ == "KerasUnsupportedError")
        else:
            self._show_source(result.source, result.class_name, result.node_lines,  # type: ignore[attr-defined]
                              hunks)
        self._highlight_selection()
        self.code_changed.emit()

    def copy_to_clipboard(self) -> None:
        if self._source:
            QGuiApplication.clipboard().setText(self._source)

    def save_to(self, path: str | Path) -> Path:
        """Write the source atomically (a crash mid-save never leaves half a file)."""
        if not self._source:
            raise ValueError("there is no code to save while the graph has errors")
        target = Path(path)
        write_text_atomic(target, self._source)
        return target

    def default_file_name(self) -> str:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self._class_name or "model").lower()
        return f"{snake}.py"

    def set_theme(self, name: str) -> None:
        self._theme = name
        c = roles(name)
        self._title.setStyleSheet(f"color: {c.muted};")
        self._error.setStyleSheet(f"color: {c.error}; border: 1px solid {c.error}; border-radius: 4px; "
                                  "padding: 6px;")
        self._editor.setStyleSheet(f"QPlainTextEdit {{ background: {c.base}; color: {c.text}; "
                                   f"border: 1px solid {c.border}; selection-background-color: {c.selection}; }}")
        self._highlighter.set_theme(name)
        self._highlight_selection()

    # -- internals ---------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # Qt names this method
        super().showEvent(event)
        if self._stale:
            document = self._bridge.document
            if document.cached(document.code_job(self._framework))[0]:
                self.refresh()
            else:  # generating a 10,000-node graph's code takes seconds: not on the UI thread
                self._refresh_in_background()

    def _schedule(self) -> None:
        self._stale = True
        if self.isVisible():
            # Restarts: a burst of edits regenerates once, 150 ms after the last, and after the canvas's paint.
            start_after_canvas(self._timer)

    def _show_source(self, source: str, class_name: str, node_lines: dict[str, list[tuple[int, int]]],
                     hunks: list[Hunk] | None = None) -> None:
        """Show ``source``; ``hunks`` (from :func:`changed_line_hunks`, worked out elsewhere; empty: replace all
        the text) saves working them out here."""
        self._error.hide()
        self._node_lines = node_lines
        self._class_name = class_name
        self._title.setText(f"{'Keras 3' if self._framework == 'keras' else 'PyTorch'} · class {class_name}")
        self._copy.setEnabled(True)
        self._save.setEnabled(True)
        if self._highlighter.document() is not None and self._source and source != self._source and \
                self._replace_changed_lines(self._source, source, hunks):
            pass
        elif source != self._source or self._highlighter.document() is None:
            bar = self._editor.verticalScrollBar()
            position = bar.value()
            self._highlighter.setDocument(self._editor.document())
            self._editor.setPlainText(source)
            bar.setValue(position)
        self._source = source
        self._filler.hide()
        self._editor.show()

    def _replace_changed_lines(self, old: str, new: str, hunks: list[Hunk] | None = None) -> bool:
        """Swap only the lines that differ (an edit changes a few, in a few places): re-setting 2,000
        highlighted lines costs far more than generating them. Returns False when most lines changed."""
        if hunks is None:
            hunks = changed_line_hunks(old, new)
        if not hunks:
            return False  # a large rewrite, or one touching the last line: replacing everything is simpler
        after = new.split("\n")
        document = self._editor.document()
        bar = self._editor.verticalScrollBar()
        position = bar.value()
        cursor = QTextCursor(document)
        # One change per hunk, not one edit block: a block would report the whole span between the first and
        # last hunk as changed, and the highlighter would redo all of it.
        for i1, i2, j1, j2 in reversed(hunks):  # bottom up, so earlier block numbers stay valid
            cursor.setPosition(document.findBlockByNumber(i1).position())
            cursor.setPosition(document.findBlockByNumber(i2).position(), QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText("".join(line + "\n" for line in after[j1:j2]))
        bar.setValue(position)
        return True

    def _show_error(self, message: str, unsupported: bool = False) -> None:
        self._source = ""
        self._node_lines = {}
        self._title.setText(f"{'Keras 3' if self._framework == 'keras' else 'PyTorch'} · not available")
        if unsupported:
            self._error.setText("Part of this graph has no faithful Keras form, so there is no Keras code for it "
                                "(the PyTorch code is always available):\n" + message)
        else:
            self._error.setText("The graph has errors, so no code can be generated yet. Fix these first:\n" +
                                message.removeprefix("the graph has errors:").strip())
        self._error.show()
        self._copy.setEnabled(False)
        self._save.setEnabled(False)
        self._highlighter.setDocument(None)  # the message is not Python: no colouring
        self._editor.setPlainText(message)  # kept for copy-paste via text(); the banner shows it
        self._editor.hide()
        self._filler.show()

    def _highlight_selection(self) -> None:
        nid = self._selection.current
        ranges = self._node_lines.get(nid, []) if nid else []
        errors: list[QTextEdit.ExtraSelection] = []
        if self._error_line:
            block = self._editor.document().findBlockByNumber(self._error_line - 1)
            if block.isValid():
                bad = QTextEdit.ExtraSelection()
                bad.format.setBackground(QColor(roles(self._theme).error).lighter(170))
                bad.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                bad.cursor = QTextCursor(block)
                errors.append(bad)
        if not ranges or not self._source:
            self._editor.setExtraSelections(errors)
            return
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(roles(self._theme).code_line))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        document = self._editor.document()
        selections: list[QTextEdit.ExtraSelection] = []
        for start, end in ranges:
            for line in range(start, end + 1):
                block = document.findBlockByNumber(line - 1)
                if not block.isValid():
                    continue
                extra = QTextEdit.ExtraSelection()
                extra.format = fmt
                extra.cursor = QTextCursor(block)
                selections.append(extra)
        self._editor.setExtraSelections(selections + errors)
        self._scroll_to(ranges)

    def _scroll_to(self, ranges: list[tuple[int, int]]) -> None:
        """Bring the node's lines into view: the last line first, then the first, so both end up visible."""
        document = self._editor.document()
        for line in (ranges[-1][1], ranges[0][0]):
            block = document.findBlockByNumber(line - 1)
            if block.isValid():
                self._editor.setTextCursor(QTextCursor(block))
                self._editor.ensureCursorVisible()

    def _save_dialog(self) -> None:
        start = str((self._bridge.document.path.parent if self._bridge.document.path else Path.home())
                    / self.default_file_name())
        path, _ = QFileDialog.getSaveFileName(self, "Save generated code", start, "Python files (*.py)")
        if not path:
            return
        try:
            self.save_to(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Save generated code", f"Could not save {path}:\n{exc}")
