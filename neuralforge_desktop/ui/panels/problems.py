"""Problems: every error from shape inference and every lint warning, one line each; click to go there.

Errors come first (they block building the model), then warnings, each in graph order. Lint only runs on a
graph without errors (the document decides), so warnings appear once the errors are fixed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from neuralforge_desktop.core.diagnostics import Diagnostic
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.summary import top_level_id
from neuralforge_desktop.ui.panels.timing import AFTER_CANVAS_MS, start_after_canvas
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles, severity_icon

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 2


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class ProblemsPanel(QWidget):
    """All errors (red) and warnings (amber) of the document; ``count_changed(errors, warnings)``."""

    count_changed = Signal(int, int)

    def __init__(self, bridge: DocumentBridge, selection: SelectionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._selection = selection
        self._theme = DEFAULT_THEME
        self._counts: tuple[int, int] | None = None
        self._shown: list[tuple[str, str, str]] = []

        self._count = QLabel(self)
        self._list = QListWidget(self)
        self._list.setWordWrap(True)
        self._list.setUniformItemSizes(False)
        self._list.setAlternatingRowColors(False)
        self._list.setSpacing(1)
        self._list.itemClicked.connect(self._go_to)
        self._list.itemActivated.connect(self._go_to)
        head = QHBoxLayout()
        head.addWidget(self._count, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self._list, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Coalesce a burst of edits into one rebuild, and let the canvas paint the edit first: on a big graph
        # this refresh takes longer than a frame, and the canvas is what the user is looking at.
        self._timer.setInterval(AFTER_CANVAS_MS)
        self._timer.timeout.connect(self._refresh_in_background)
        bridge.changed.connect(lambda _change: start_after_canvas(self._timer))
        bridge.replaced.connect(lambda: start_after_canvas(self._timer))
        self.refresh()

    # -- public ------------------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        return self._counts or (0, 0)

    def list_widget(self) -> QListWidget:
        return self._list

    def problems(self) -> list[tuple[str, str, str]]:
        """(severity, node path, message) as listed."""
        return list(self._shown)

    def set_theme(self, name: str) -> None:
        self._theme = name
        self._shown = []  # force the icons to be rebuilt in the new colours
        self.refresh()

    def refresh(self) -> None:
        """Rebuild now, linting here if needed (after an edit the timer lints in the background instead)."""
        self._timer.stop()
        self._show(self._bridge.document.lint())

    # -- internals ---------------------------------------------------------------------------------------
    def _refresh_in_background(self) -> None:
        self._bridge.background.request(self._bridge.document.lint_job(), self._show)

    def _show(self, lint: list[Diagnostic]) -> None:
        document = self._bridge.document
        diagnostics: list[Diagnostic] = list(document.shapes.diagnostics) + list(lint)
        errors = [d for d in diagnostics if d.is_error]
        warnings = [d for d in diagnostics if not d.is_error]
        entries = [("error", d.node, d.message) for d in errors] + [("warning", d.node, d.message) for d in warnings]
        if entries != self._shown:
            self._fill(entries)
        self._show_counts(len(errors), len(warnings))

    def _fill(self, entries: list[tuple[str, str, str]]) -> None:
        self._shown = entries
        self._list.setUpdatesEnabled(False)
        self._list.clear()
        c = roles(self._theme)
        for severity, path, message in entries:
            item = QListWidgetItem(severity_icon(severity, self._theme), f"{path or 'graph'}: {message}")
            item.setData(PATH_ROLE, path)
            item.setData(SEVERITY_ROLE, severity)
            item.setToolTip(f"{severity.capitalize()} in {path or 'the graph'}\n\n{message}"
                            + ("\n\nClick to select the node." if path else ""))
            self._list.addItem(item)
        if not entries:
            item = QListWidgetItem("No problems: the graph is valid and follows the usual practices.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            item.setForeground(QBrush(QColor(c.ok)))
            self._list.addItem(item)
        self._list.setUpdatesEnabled(True)

    def _show_counts(self, errors: int, warnings: int) -> None:
        c = roles(self._theme)
        if errors or warnings:
            parts = []
            if errors:
                parts.append(f"<span style='color:{c.error}'>● {_plural(errors, 'error')}</span>")
            if warnings:
                parts.append(f"<span style='color:{c.warning}'>● {_plural(warnings, 'warning')}</span>")
            self._count.setText("&nbsp;&nbsp;".join(parts))
        else:
            self._count.setText(f"<span style='color:{c.ok}'>● no problems</span>")
        if self._counts != (errors, warnings):
            self._counts = (errors, warnings)
            self.count_changed.emit(errors, warnings)

    def _go_to(self, item: QListWidgetItem) -> None:
        path = item.data(PATH_ROLE)
        if not path:
            return
        nid = top_level_id(path)
        if nid in self._bridge.document.graph.nodes:
            self._selection.set([nid])

