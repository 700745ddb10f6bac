"""New from template: the zoo's architectures grouped by task, each with its title, size and description."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.zoo.entry import TASKS, ZooEntry

TASK_TITLES = {"vision": "Vision", "nlp": "NLP", "generative": "Generative", "tabular": "Tabular",
               "sequence": "Sequence"}
_NAME_ROLE = Qt.ItemDataRole.UserRole


def format_params(count: int | None) -> str:
    if count is None:
        return "?"
    for size, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " K")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)


def param_count(entry: ZooEntry) -> int | None:
    """The template's parameter count: its published reference, or counted from the graph when it has none."""
    if entry.reference_params is not None:
        return entry.reference_params
    from neuralforge_desktop.core.edit.document import Document

    try:
        return int(Document(zoo.build(entry.name)).cost().params)
    except Exception:  # a template that does not infer yet still opens; only its size is unknown
        return None


class GalleryDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.resize(820, 520)
        heading = QLabel("Start from an architecture template")
        heading.setProperty("role", "heading")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Template", "Parameters", "Description"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setProperty("role", "muted")
        self.details.setMinimumHeight(48)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self._populate()
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.accept() if item.data(0, _NAME_ROLE) else None)
        self.select(zoo.list_models()[0].name)

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
                # The full description, elided to the column; the tooltip and the box below show all of it.
                item = QTreeWidgetItem([entry.title, format_params(param_count(entry)), entry.description])
                item.setData(0, _NAME_ROLE, entry.name)
                item.setToolTip(2, entry.description)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                group.addChild(item)
            group.setExpanded(True)

    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i).child(j) for i in range(self.tree.topLevelItemCount())
                for j in range(self.tree.topLevelItem(i).childCount())]

    def template_names(self) -> list[str]:
        return [item.data(0, _NAME_ROLE) for item in self._items()]

    def task_groups(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def select(self, name: str) -> None:
        for item in self._items():
            if item.data(0, _NAME_ROLE) == name:
                self.tree.setCurrentItem(item)
                return
        raise KeyError(name)

    def selected_name(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, _NAME_ROLE) if item is not None else None

    def _on_current(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        name = item.data(0, _NAME_ROLE) if item is not None else None
        self.create_button.setEnabled(bool(name))
        if name:
            entry = zoo.get_model(name)
            reference = f"  Reference: {entry.reference}." if entry.reference else ""
            self.details.setText(f"<b>{entry.title}</b> — {entry.description}{reference}")
