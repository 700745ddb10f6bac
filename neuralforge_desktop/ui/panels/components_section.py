"""The palette's "Components" section: built-in and saved components to drag onto the canvas (or activate
with a double-click or Enter). Each one goes in as one Block node, built for the selected node's output.

Kept apart from the layer tree so the palette's catalog categories stay exactly as the catalog says; the
right-click menu imports a shared ``.nfcomp`` file into the library, exports or removes a saved one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.components import library
from neuralforge_desktop.core.components.component import Component, ComponentError
from neuralforge_desktop.ui.bridge import COMPONENT_MIME

NAME_ROLE = Qt.ItemDataRole.UserRole + 2  # component name on component items; None on group headings
FILE_FILTER = "NeuralForge components (*.nfcomp)"


def component_tooltip(component: Component) -> str:
    parts = [f"<b>{html.escape(component.title)}</b> <span style='color:gray'>({html.escape(component.name)})</span>"]
    if component.description:
        parts.append(html.escape(component.description))
    if component.params:
        rows = "".join(f"<br>{html.escape(p.name)} = {html.escape(str(p.default))}"
                       + (f" <span style='color:gray'>→ {html.escape(', '.join(p.targets))}</span>"
                          if p.targets else "") for p in component.params)
        parts.append("<i>Parameters</i>" + rows)
    parts.append("<span style='color:gray'>Goes in as one block; its widths follow the selected node's output. "
                 "Change the parameters in the block's layers.</span>")
    return "<table width='360'><tr><td>" + "<br><br>".join(parts) + "</td></tr></table>"


def component_mime(name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(COMPONENT_MIME, name.encode("utf-8"))
    mime.setText(name)
    return mime


class _ComponentTree(QTreeWidget):
    activated_name = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setIndentation(14)
        self.setStyleSheet("QTreeView::item { padding: 2px 0px; }")
        self.itemDoubleClicked.connect(lambda item, _col: self._activate(item))

    def mimeTypes(self) -> list[str]:  # Qt names this method
        return [COMPONENT_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData | None:  # Qt names this method
        names = [item.data(0, NAME_ROLE) for item in items if item.data(0, NAME_ROLE)]
        return component_mime(names[0]) if names else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt names this method
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self._activate(self.currentItem())
            return
        super().keyPressEvent(event)

    def _activate(self, item: QTreeWidgetItem) -> None:
        if item.data(0, NAME_ROLE):
            self.activated_name.emit(item.data(0, NAME_ROLE))


class ComponentsSection(QWidget):
    """A heading and the component tree (built-ins, then "Saved")."""

    component_activated = Signal(str)
    insert_requested = Signal(str, dict)  # a component and the exposed values chosen for it
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._heading = QLabel("Components", self)
        bold = QFont(self._heading.font())
        bold.setBold(True)
        self._heading.setFont(bold)
        self._tree = _ComponentTree(self)
        self._tree.activated_name.connect(self.component_activated)
        self._tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._tree.customContextMenuRequested.connect(self._menu)
        self._tree.setMaximumHeight(230)  # the layer list above keeps most of the height
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._heading)
        layout.addWidget(self._tree)
        self._filter = ""
        self.reload()

    def tree(self) -> QTreeWidget:
        return self._tree

    def names(self) -> list[str]:
        """Component names listed (after the search filter), in display order."""
        found = []
        for i in range(self._tree.topLevelItemCount()):
            head = self._tree.topLevelItem(i)
            for j in range(head.childCount()):
                if not head.child(j).isHidden():
                    found.append(head.child(j).data(0, NAME_ROLE))
        return found

    def reload(self) -> None:
        """Re-read the built-ins and the user's library (after saving, importing or removing one)."""
        tree = self._tree
        tree.clear()
        saved, problems = library.user_components()
        for title, components in (("Built-in", library.builtin_components()), ("Saved", saved)):
            if not components:
                continue
            head = QTreeWidgetItem([title])
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for component in components:
                item = QTreeWidgetItem([component.title])
                item.setData(0, NAME_ROLE, component.name)
                item.setToolTip(0, component_tooltip(component))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                head.addChild(item)
            tree.addTopLevelItem(head)
            head.setExpanded(True)
        if problems:
            self.message.emit(f"skipped {len(problems)} component file(s): {problems[0]}")
        self.set_filter(self._filter)

    def set_filter(self, text: str) -> None:
        """Show the components whose name, title or description holds every word of ``text``."""
        self._filter = text
        words = text.lower().split()
        shown = 0
        for i in range(self._tree.topLevelItemCount()):
            head = self._tree.topLevelItem(i)
            visible = 0
            for j in range(head.childCount()):
                child = head.child(j)
                hay = f"{child.data(0, NAME_ROLE)} {child.text(0)} {child.toolTip(0)} component".lower()
                hit = all(w in hay for w in words)
                child.setHidden(not hit)
                visible += hit
            head.setHidden(visible == 0)
            shown += visible
        self.setVisible(shown > 0 or not words)

    # -- the right-click menu --------------------------------------------------------------------------------
    def _menu(self, point: QPoint) -> None:
        item = self._tree.itemAt(point)
        name = item.data(0, NAME_ROLE) if item is not None else None
        saved = {c.name for c in library.user_components()[0]}
        menu = QMenu(self)
        if name:
            menu.addAction("Insert with Parameters…", lambda: self.ask_and_insert(name))
        menu.addAction("Import Component File…", self.import_file)
        if name in saved:
            menu.addAction("Export to File…", lambda: self.export_file(name))
            menu.addAction("Remove from Library", lambda: self.remove(name))
        menu.exec(self._tree.viewport().mapToGlobal(point))

    def ask_and_insert(self, name: str) -> None:
        from neuralforge_desktop.ui.dialogs.component_params import ComponentParamsDialog

        try:
            component = library.find_component(name)
        except ComponentError as exc:
            self.message.emit(str(exc))
            return
        dialog = ComponentParamsDialog(component, self)
        if dialog.exec():
            self.insert_requested.emit(name, dialog.values)

    def import_file(self, path: str | None = None) -> str:
        """Add a shared ``.nfcomp`` to the library (validated as data, never run); returns its name or ""."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import Component", "", FILE_FILTER)
            if not path:
                return ""
        try:
            component = library.load_component(path)
            library.add_to_library(component)
        except (ComponentError, OSError) as exc:
            self.message.emit(str(exc))
            return ""
        self.reload()
        self.message.emit(f"added component {component.name}")
        return component.name

    def export_file(self, name: str, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export Component", f"{name}.nfcomp", FILE_FILTER)
            if not path:
                return
        try:
            library.save_component(library.find_component(name), path)
        except (ComponentError, OSError) as exc:
            self.message.emit(str(exc))
            return
        self.message.emit(f"exported {name} to {path}")

    def remove(self, name: str) -> None:
        try:
            library.remove_from_library(name)
        except (ComponentError, OSError) as exc:
            self.message.emit(str(exc))
            return
        self.reload()
        self.message.emit(f"removed component {name}")
