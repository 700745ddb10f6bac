"""Save as Component: name the selected block (or the selected layers, grouped on a copy) and pick which
inner parameters become its exposed parameters. Rows given the same "expose as" name become one parameter
that sets all of them (``width`` → ``conv1.out_channels`` and ``conv2.out_channels``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.components import library
from neuralforge_desktop.core.components.component import (
    Component,
    ComponentError,
    ExposedParam,
    block_from_selection,
    candidate_targets,
    from_block,
)
from neuralforge_desktop.core.ir.graph import Graph, GraphError, Node


class SaveComponentDialog(QDialog):
    def __init__(self, block: Node, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save as Component")
        self.block = block
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("my_block (letters, digits, _ and -)")
        self.title_edit = QLineEdit(block.label, self)
        self.description_edit = QLineEdit(self)
        self.table = QTreeWidget(self)
        self.table.setHeaderLabels(["Inner parameter", "Value", "Expose as"])
        self.table.setRootIsDecorated(False)
        assert block.body is not None
        for target, value in candidate_targets(block.body):
            item = QTreeWidgetItem([target, str(value), target.rpartition(".")[2]])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable)
            item.setCheckState(0, Qt.CheckState.Unchecked)
            item.setData(1, Qt.ItemDataRole.UserRole, value)
            self.table.addTopLevelItem(item)
        self.table.resizeColumnToContents(0)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Title", self.title_edit)
        form.addRow("Description", self.description_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Tick the parameters to expose; rows with the same name become one parameter.",
                                self))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(560, 520)
        self.saved: Component | None = None

    def expose(self, name: str, targets: list[str]) -> None:
        """Tick ``targets`` and name them ``name`` (what a user does by hand; tests use it too)."""
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item.text(0) in targets:
                item.setCheckState(0, Qt.CheckState.Checked)
                item.setText(2, name)

    def exposed(self) -> list[ExposedParam]:
        grouped: dict[str, tuple[list[str], Any]] = {}
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item.checkState(0) != Qt.CheckState.Checked:
                continue
            name = item.text(2).strip() or item.text(0).rpartition(".")[2]
            targets, _ = grouped.setdefault(name, ([], item.data(1, Qt.ItemDataRole.UserRole)))
            targets.append(item.text(0))
        return [ExposedParam(name, default, tuple(targets)) for name, (targets, default) in grouped.items()]

    def _save(self) -> None:
        try:
            component = from_block(self.block, self.name_edit.text().strip(), self.exposed(),
                                   title=self.title_edit.text().strip(),
                                   description=self.description_edit.text().strip())
            library.add_to_library(component)
        except (ComponentError, OSError) as exc:
            self.error.setText(str(exc))
            return
        self.saved = component
        self.accept()


def open_save_dialog(parent: QWidget, graph: Graph, shapes: Any, ids: list[str]) -> SaveComponentDialog | str:
    """The dialog for the selection, or why there is none (nothing selected, not groupable)."""
    if not ids:
        return "select a block or the layers to save as a component"
    try:
        block = block_from_selection(graph, shapes, ids)
    except GraphError as exc:
        return str(exc)
    return SaveComponentDialog(block, parent)
