"""The Tab / double-click search popup: type a few letters, press Enter, the layer appears at the cursor."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from neuralforge_desktop.core.catalog.mathtext import to_plain
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import LayerDef


def rank(layers: list[LayerDef], query: str) -> list[LayerDef]:
    """Layers matching ``query``: type-name prefixes first, then words anywhere in name, title or category."""
    q = query.strip().lower()
    if not q:
        return sorted(layers, key=lambda d: (not d.simple, d.category, d.type))
    scored: list[tuple[int, str, LayerDef]] = []
    for layer in layers:
        name = layer.type.lower()
        haystack = f"{name} {layer.title.lower()} {layer.category.lower()} {layer.description.lower()}"
        if name.startswith(q):
            score = 0
        elif q in name:
            score = 1
        elif all(part in haystack for part in q.split()):
            score = 2
        else:
            continue
        scored.append((score, name, layer))
    return [layer for _, _, layer in sorted(scored, key=lambda t: (t[0], len(t[1]), t[1]))]


class QuickAddPopup(QFrame):
    """A frameless popup with a search field over the catalog; ``chosen`` gets the picked type name."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self._chosen: Callable[[str], None] | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("quickAdd")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Add layer…  (type to search, Enter to add)")
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)  # no per-row measuring: the list is rebuilt on every keystroke
        layout.addWidget(self.field)
        layout.addWidget(self.list)
        self.resize(300, 340)
        self._layers = list(catalog())
        self.field.textChanged.connect(self._filter)
        self.field.installEventFilter(self)
        self.list.itemActivated.connect(lambda item: self.choose(item.data(Qt.ItemDataRole.UserRole)))
        self.list.itemClicked.connect(lambda item: self.choose(item.data(Qt.ItemDataRole.UserRole)))
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        for layer in rank(self._layers, text):
            item = QListWidgetItem(f"{layer.type}   ·  {layer.category}")
            item.setData(Qt.ItemDataRole.UserRole, layer.type)
            item.setToolTip(f"{layer.description}\n{to_plain(layer.math)}")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def matches(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self.choose(item.data(Qt.ItemDataRole.UserRole))
                return True
            if key == Qt.Key.Key_Escape:
                self.close()
                return True
        return super().eventFilter(watched, event)

    def choose(self, type_name: str) -> None:
        self.close()
        chosen, self._chosen = self._chosen, None
        if chosen is not None:
            chosen(type_name)

    def open_at(self, global_pos: QPoint, chosen: Callable[[str], None]) -> None:
        """Show at ``global_pos`` with an empty search; ``chosen`` receives the picked type name."""
        self._chosen = chosen
        self.field.clear()
        self.move(global_pos)
        self.show()
        self.field.setFocus(Qt.FocusReason.PopupFocusReason)
