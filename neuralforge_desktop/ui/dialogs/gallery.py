"""New from template: the zoo's architectures grouped by task, each with a drawn preview of its graph, its size,
its cost, what goes in and comes out, and its description.

The dialog opens at once: previews and numbers are worked out one template per turn of the event loop (the
selected one first) and kept for the rest of the session, so the next opening shows them all immediately.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.zoo.entry import TASKS, ZooEntry
from neuralforge_desktop.core.zoo.summary import TemplateSummary, summarize
from neuralforge_desktop.ui.theme import DEFAULT_THEME, canvas_theme, roles

TASK_TITLES = {"vision": "Vision", "nlp": "NLP", "generative": "Generative", "tabular": "Tabular",
               "sequence": "Sequence"}
_NAME_ROLE = Qt.ItemDataRole.UserRole
THUMB = QSize(128, 72)  # in the list
PREVIEW = QSize(520, 270)  # beside it, for the selected template

# Kept for the session: (name, theme, width, height, device pixel ratio) → pixmap; name → summary.
_previews: dict[tuple[str, str, int, int, float], QPixmap] = {}
_summaries: dict[str, TemplateSummary] = {}


def format_params(count: int | None) -> str:
    if count is None:
        return "?"
    for size, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " K")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)


def format_macs(count: int | None) -> str:
    if count is None:
        return "unknown"
    for size, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if count >= size:
            return f"{count / size:.2f}{suffix}"
    return str(count)


def template_summary(name: str) -> TemplateSummary:
    """The template's numbers (cached for the session)."""
    found = _summaries.get(name)
    if found is None:
        found = _summaries[name] = summarize(zoo.get_model(name))
    return found


def template_preview(name: str, size: QSize, theme: str, ratio: float = 1.0) -> QPixmap:
    """The template's graph drawn at ``size`` (cached for the session)."""
    key = (name, theme, size.width(), size.height(), ratio)
    found = _previews.get(key)
    if found is None:
        from neuralforge_desktop.ui.canvas.thumbnail import render_graph

        found = _previews[key] = render_graph(zoo.build(name), size, theme, ratio, labels=size.width() >= 400)
    return found


def param_count(entry: ZooEntry) -> int | None:
    """The template's parameter count: counted from its graph, or its published reference when it does not
    infer."""
    return template_summary(entry.name).params or entry.reference_params


class GalleryDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self.theme = theme
        self.setWindowTitle("New from template")
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else QSize(1000, 620)
        self.resize(min(1000, room.width() - 40), min(620, room.height() - 60))  # fits a 1280×720 screen
        heading = QLabel("Start from an architecture template")
        heading.setProperty("role", "heading")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Template", "Parameters"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIconSize(THUMB)
        self.tree.setUniformRowHeights(False)
        self.tree.setMinimumWidth(380)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.tree, 4)
        body.addWidget(self._build_details(), 5)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)
        self._blank = QPixmap(THUMB)
        self._blank.fill(canvas_theme(theme).background)
        self._pending: list[str] = []
        self._worker = QTimer(self)
        self._worker.setSingleShot(True)
        self._worker.setInterval(0)
        self._worker.timeout.connect(self._work)
        self._populate()
        self.tree.currentItemChanged.connect(self._on_current)
        # A bound method, not a lambda holding the dialog: that would outlive the dialog's C++ side at exit.
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.select(zoo.list_models()[0].name)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, _NAME_ROLE):
            self.accept()

    def _build_details(self) -> QWidget:
        panel = QWidget()
        box = QVBoxLayout(panel)
        box.setContentsMargins(8, 0, 0, 0)
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet(f"border: 1px solid {roles(self.theme).border};")
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.facts: dict[str, QLabel] = {}
        for key in ("Parameters", "MACs", "Input", "Output"):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.facts[key] = value
            label = QLabel(key)
            label.setStyleSheet(f"color: {roles(self.theme).muted};")
            form.addRow(label, value)
        self.reference = QLabel()
        self.reference.setWordWrap(True)
        self.reference.setStyleSheet(f"color: {roles(self.theme).muted};")
        for widget in (self.preview, self.title, self.details):
            box.addWidget(widget)
        box.addLayout(form)
        box.addWidget(self.reference)
        box.addStretch(1)
        return panel

    def _populate(self) -> None:
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for task in TASKS:
            entries = zoo.list_models(task)
            if not entries:
                continue
            group = QTreeWidgetItem([f"{TASK_TITLES.get(task, task.title())}  ({len(entries)})"])
            group.setFont(0, bold)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading, not something to create
            group.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(group)
            for entry in entries:
                known = _summaries.get(entry.name)
                count = known.params if known is not None else entry.reference_params
                item = QTreeWidgetItem([entry.title, format_params(count) if count else "…"])
                item.setData(0, _NAME_ROLE, entry.name)
                item.setToolTip(0, entry.description)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cached = _previews.get(self._thumb_key(entry.name))
                item.setIcon(0, QIcon(cached if cached is not None else self._blank))
                if cached is None or known is None:
                    self._pending.append(entry.name)
                group.addChild(item)
            group.setExpanded(True)
        if self._pending:
            self._worker.start()

    def _thumb_key(self, name: str) -> tuple[str, str, int, int, float]:
        return (name, self.theme, THUMB.width(), THUMB.height(), self.devicePixelRatioF())

    def _work(self) -> None:
        """One template's preview and numbers per turn of the event loop: the dialog stays responsive."""
        if not self._pending:
            return
        name = self._pending.pop(0)
        self._fill_item(name)
        if name == self.selected_name():
            self._show_details(name)
        if self._pending:
            self._worker.start()

    def _fill_item(self, name: str) -> None:
        item = self._item(name)
        if item is None:
            return
        summary = template_summary(name)
        item.setText(1, format_params(summary.params or zoo.get_model(name).reference_params))
        item.setIcon(0, QIcon(template_preview(name, THUMB, self.theme, self.devicePixelRatioF())))

    def pending(self) -> list[str]:
        """Templates whose preview or numbers are still to be worked out."""
        return list(self._pending)

    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i).child(j) for i in range(self.tree.topLevelItemCount())
                for j in range(self.tree.topLevelItem(i).childCount())]

    def _item(self, name: str) -> QTreeWidgetItem | None:
        return next((item for item in self._items() if item.data(0, _NAME_ROLE) == name), None)

    def template_names(self) -> list[str]:
        return [item.data(0, _NAME_ROLE) for item in self._items()]

    def task_groups(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def select(self, name: str) -> None:
        item = self._item(name)
        if item is None:
            raise KeyError(name)
        self.tree.setCurrentItem(item)

    def selected_name(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, _NAME_ROLE) if item is not None else None

    def _on_current(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        name = item.data(0, _NAME_ROLE) if item is not None else None
        self.create_button.setEnabled(bool(name))
        if not name:
            return
        entry = zoo.get_model(name)
        self.title.setText(entry.title)
        self.details.setText(entry.description)
        self.reference.setText(f"Reference: {entry.reference}." if entry.reference else "")
        if name in _summaries:
            self._show_facts(name)
        if self._preview_key(name) in _previews:
            self._show_preview(name)
        if name in _summaries and self._preview_key(name) in _previews:
            return
        # Not worked out yet: say so, and work this one out next (before the rest of the list).
        if name not in _summaries:
            for label in self.facts.values():
                label.setText("…")
        if self._preview_key(name) not in _previews:
            self.preview.clear()
            self.preview.setText("drawing the graph…")
        if name in self._pending:
            self._pending.remove(name)
        self._pending.insert(0, name)
        self._worker.start()

    def _preview_key(self, name: str) -> tuple[str, str, int, int, float]:
        return (name, self.theme, PREVIEW.width(), PREVIEW.height(), self.devicePixelRatioF())

    def _show_details(self, name: str) -> None:
        self._show_preview(name)
        self._show_facts(name)

    def _show_preview(self, name: str) -> None:
        self.preview.setPixmap(template_preview(name, PREVIEW, self.theme, self.devicePixelRatioF()))

    def _show_facts(self, name: str) -> None:
        entry = zoo.get_model(name)
        summary = template_summary(name)
        params = summary.params or entry.reference_params
        self.facts["Parameters"].setText(f"{params:,}  ({format_params(params)})" if params else "unknown")
        sizes = ", ".join(f"{k} = {v}" for k, v in summary.bindings if k != "N")
        macs = f"{format_macs(summary.macs)} per sample" if summary.macs is not None else "unknown"
        self.facts["MACs"].setText(f"{macs} (at {sizes})" if sizes and summary.macs is not None else macs)
        self.facts["Input"].setText(", ".join(summary.inputs) or "—")
        self.facts["Output"].setText(", ".join(summary.outputs) or "—")

    def facts_text(self) -> dict[str, str]:
        """What the details beside the list say (tests read it)."""
        return {key: label.text() for key, label in self.facts.items()}
