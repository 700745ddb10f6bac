"""The layer palette: categories of layer types to drag onto the canvas (or activate with Enter).

Off by default, "Show all" keeps to the simplified palette students start with (``LayerDef.simple``); on,
every layer is listed, plugin layers marked. Everything shown comes from the catalog, so a new layer or
plugin appears here without touching this file.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.catalog.mathtext import to_plain
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.catalog.user_layers import PLUGIN as USER_PLUGIN
from neuralforge_desktop.ui.bridge import LAYER_MIME
from neuralforge_desktop.ui.panels.components_section import ComponentsSection
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1  # layer type name on layer items; None on category items


def layer_tooltip(layer: LayerDef) -> str:
    """Rich tooltip: what it does in plain words, the formula, then the longer help."""
    parts = [f"<b>{html.escape(layer.display_name)}</b>"]
    if layer.display_name != layer.type:
        parts[0] += f" <span style='color:gray'>({html.escape(layer.type)})</span>"
    if layer.description:
        parts.append(html.escape(layer.description))
    if layer.math:
        parts.append(f"<i>{html.escape(to_plain(layer.math))}</i>")
    if layer.help:
        parts.append(f"<span style='color:gray'>{html.escape(layer.help)}</span>")
    if layer.plugin == USER_PLUGIN:
        parts.append("<i>Your custom layer: Python code you added (Edit ▸ New Custom Layer or neuralforge layers "
                     "add), which runs with your permissions. Graph, checkpoint and dataset files never run code.</i>")
    elif layer.plugin:
        # Plugins are the one place NeuralForge runs code by the user's consent; say so where they appear.
        parts.append(f"<i>From plugin {html.escape(layer.plugin)}: Python code you installed, which runs with "
                     "your permissions. Graph, checkpoint and dataset files never run code.</i>")
    # A fixed-width table keeps long help text wrapped instead of one very wide line.
    return "<table width='360'><tr><td>" + "<br><br>".join(parts) + "</td></tr></table>"


def matches(layer: LayerDef, words: Sequence[str]) -> bool:
    """Every search word must appear in the name, title, category, description or Keras name."""
    haystack = " ".join((layer.type, layer.title, layer.category, layer.description, layer.keras_name)).lower()
    return all(word in haystack for word in words)


class _LayerTree(QTreeWidget):
    """The tree; owns drag payloads and Enter so the palette reacts the same on every platform style."""

    activated_type = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setAnimated(False)
        self.setIndentation(14)
        self.setStyleSheet("QTreeView::item { padding: 2px 0px; }")  # denser lists are hard to hit with a drag
        self.itemDoubleClicked.connect(self._double_clicked)

    def mimeTypes(self) -> list[str]:  # Qt names this method
        return [LAYER_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData | None:  # Qt names this method
        types = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if not types:
            return None
        return layer_mime(types[0])

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt names this method
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            item = self.currentItem()
            if item is not None and item.data(0, TYPE_ROLE):
                self.activated_type.emit(item.data(0, TYPE_ROLE))
                return
        super().keyPressEvent(event)

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if item.data(0, TYPE_ROLE):
            self.activated_type.emit(item.data(0, TYPE_ROLE))


def layer_mime(type_name: str) -> QMimeData:
    """The drag payload the canvas accepts: the type name under LAYER_MIME (plain text for other targets)."""
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


class Palette(QWidget):
    """Search field, "Show all" switch and the category → layer tree."""

    layer_activated = Signal(str)  # double-click or Enter on a layer: the window adds it to the canvas
    component_activated = Signal(str)  # the same on a component: the window inserts it as a block

    def __init__(self, parent: QWidget | None = None, *, cat: Catalog | None = None) -> None:
        super().__init__(parent)
        self._catalog = cat or catalog()
        self._show_all = False
        self._theme = DEFAULT_THEME

        self._search = QLineEdit(self)
        self._search.setPlaceholderText("Search layers…")
        self._search.setClearButtonEnabled(True)
        self._search.textChanged.connect(self._apply_filter)
        self._search.returnPressed.connect(self._activate_first_match)

        self._all_box = QCheckBox("Show all", self)
        self._all_box.setToolTip("Off: the essential layers for getting started. On: every layer, plugins included.")
        self._all_box.toggled.connect(self.set_show_all)

        self._tree = _LayerTree(self)
        self._tree.activated_type.connect(self.layer_activated)

        self._status = QLabel(self)
        self._status.setWordWrap(True)

        self.components = ComponentsSection(self)
        self.components.component_activated.connect(self.component_activated)
        self._search.textChanged.connect(self.components.set_filter)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self._search, 1)
        top.addWidget(self._all_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self._tree, 1)
        layout.addWidget(self.components)
        layout.addWidget(self._status)
        self.set_theme(self._theme)
        self._populate()

    # -- public ------------------------------------------------------------------------------------------
    def show_all(self) -> bool:
        return self._show_all

    def set_show_all(self, on: bool) -> None:
        on = bool(on)
        if self._all_box.isChecked() != on:
            self._all_box.setChecked(on)  # re-enters through toggled
            return
        if on != self._show_all:
            self._show_all = on
            self._populate()

    def search_text(self) -> str:
        return self._search.text()

    def set_search_text(self, text: str) -> None:
        self._search.setText(text)

    def visible_types(self) -> list[str]:
        """Layer types currently listed (after mode and search), in display order."""
        found: list[str] = []
        for i in range(self._tree.topLevelItemCount()):
            category = self._tree.topLevelItem(i)
            if category.isHidden():
                continue
            for j in range(category.childCount()):
                child = category.child(j)
                if not child.isHidden():
                    found.append(child.data(0, TYPE_ROLE))
        return found

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        for i in range(self._tree.topLevelItemCount()):
            category = self._tree.topLevelItem(i)
            for j in range(category.childCount()):
                if category.child(j).data(0, TYPE_ROLE) == type_name:
                    return category.child(j)
        return None

    def tree(self) -> QTreeWidget:
        return self._tree

    def reload(self) -> None:
        """Re-read the catalog (after a plugin is installed or removed)."""
        self._populate()

    def set_theme(self, name: str) -> None:
        self._theme = name
        c = roles(name)
        self._status.setStyleSheet(f"color: {c.muted};")
        self._populate_colors()

    # -- building ----------------------------------------------------------------------------------------
    def _populate(self) -> None:
        tree = self._tree
        tree.setUpdatesEnabled(False)
        tree.clear()
        bold = QFont(tree.font())
        bold.setBold(True)
        for category, layers in self._catalog.categories().items():
            shown = [layer for layer in layers if self._show_all or layer.simple]
            if not shown:
                continue
            head = QTreeWidgetItem([category])
            head.setFont(0, bold)
            head.setData(0, TYPE_ROLE, None)
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not draggable, not selectable: only a heading
            for layer in shown:
                mark = "  · yours" if layer.plugin == USER_PLUGIN else "  · plugin" if layer.plugin else ""
                label = layer.display_name + mark
                item = QTreeWidgetItem([label])
                item.setData(0, TYPE_ROLE, layer.type)
                item.setToolTip(0, layer_tooltip(layer))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                if layer.plugin:
                    font = QFont(tree.font())
                    font.setItalic(True)
                    item.setFont(0, font)
                head.addChild(item)
            tree.addTopLevelItem(head)
            head.setExpanded(True)
        self._populate_colors()
        tree.setUpdatesEnabled(True)
        self._apply_filter(self._search.text())

    def _populate_colors(self) -> None:
        if not hasattr(self, "_tree"):
            return
        c = roles(self._theme)
        for i in range(self._tree.topLevelItemCount()):
            head = self._tree.topLevelItem(i)
            head.setForeground(0, _brush(c.muted))
            for j in range(head.childCount()):
                child = head.child(j)
                layer = self._catalog.find(child.data(0, TYPE_ROLE))
                if layer is not None and layer.plugin:
                    child.setForeground(0, _brush(c.accent))

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        shown = 0
        for i in range(self._tree.topLevelItemCount()):
            head = self._tree.topLevelItem(i)
            visible = 0
            for j in range(head.childCount()):
                child = head.child(j)
                layer = self._catalog.find(child.data(0, TYPE_ROLE))
                hit = layer is not None and (not words or matches(layer, words))
                child.setHidden(not hit)
                visible += hit
            head.setHidden(visible == 0)
            if words and visible:
                head.setExpanded(True)
            shown += visible
        self._update_status(words, shown)

    def _update_status(self, words: list[str], shown: int) -> None:
        if not words:
            total = len(self._catalog)
            self._status.setText("" if self._show_all else
                                 f"{shown} essential layers · tick “Show all” for all {total}")
            return
        if shown or self._show_all:
            self._status.setText("" if shown else "No layer matches.")
            return
        # In the simplified palette, say how many hits "Show all" would reveal instead of a bare "none".
        hidden = sum(1 for layer in self._catalog if matches(layer, words))
        self._status.setText(f"No essential layer matches; {hidden} with “Show all”." if hidden
                             else "No layer matches.")

    def _activate_first_match(self) -> None:
        types = self.visible_types()
        if types:
            self.layer_activated.emit(types[0])


def _brush(color: str) -> QBrush:
    return QBrush(QColor(color))
