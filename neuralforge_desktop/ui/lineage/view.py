"""The Lineage view: type a served prediction id, a registered version (NAME@V), a run id or a dataset (name or
fingerprint) and see where it came from, or what used it, as a graph. Clicking a node shows its details;
double-clicking opens it: a run in the Runs dock, a version in the Registry view, a graph file in the editor."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.lineage import Lineage, LineageNode, lineage_of, lineage_of_dataset
from neuralforge_desktop.ui.lineage.scene import NODE_ID_ROLE, NodeBox, draw

BACK, FORWARD = "Where it came from", "What used this dataset"


class LineageCanvas(QGraphicsView):
    """The drawing; a double-click on a box reports its node id."""

    node_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph_scene = QGraphicsScene(self)  # owned by the view: a scene without a parent is collected
        self.setScene(self.graph_scene)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # Qt names this method
        box = self.box_at(event.position().toPoint())
        if box is not None:
            self.node_activated.emit(box.data(NODE_ID_ROLE))
            return
        super().mouseDoubleClickEvent(event)

    def box_at(self, point: Any) -> NodeBox | None:
        item = self.itemAt(point)
        while item is not None and not isinstance(item, NodeBox):
            item = item.parentItem()
        return item


class LineageView(QWidget):
    """Shows one lineage at a time from the store at ``store_path``."""

    open_run = Signal(str)  # a run id
    open_version = Signal(str)  # NAME@V
    open_file = Signal(str)  # a graph file's path

    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_path = Path(store_path)
        self.lineage: Lineage | None = None
        self.boxes: dict[str, NodeBox] = {}
        self.setWindowTitle("Lineage")
        self.direction = QComboBox()
        self.direction.addItems([BACK, FORWARD])
        self.ref = QLineEdit()
        self.ref.setPlaceholderText("prediction id, NAME@V or run id (or a dataset name / fingerprint)")
        self.ref.returnPressed.connect(lambda: self.show_ref())
        show = QPushButton("Show")
        show.clicked.connect(lambda _checked=False: self.show_ref())
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.canvas = LineageCanvas()
        self.canvas.node_activated.connect(self.activate)
        self.canvas.scene().selectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Click a node to see its details; double-click it to open it.")
        row = QHBoxLayout()
        row.addWidget(self.direction)
        row.addWidget(self.ref, 1)
        row.addWidget(show)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.canvas)
        split.addWidget(self.details)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([1000, 260])  # the drawing first: the details pane's text would otherwise claim the width
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    def show_ref(self, ref: str | None = None, *, dataset: bool | None = None) -> bool:
        """Walk from ``ref`` (the text box's when None); ``dataset`` walks forward. False with the reason shown
        when the ref is unknown."""
        from neuralforge_desktop.core.store.sqlite_store import Store

        if ref is not None:
            self.ref.setText(ref)
        if dataset is not None:
            self.direction.setCurrentText(FORWARD if dataset else BACK)
        text = self.ref.text().strip()
        if not text:
            self.message.setText("Give a prediction id, NAME@V, a run id or a dataset.")
            return False
        try:
            with Store(self.store_path) as store:
                forward = self.direction.currentText() == FORWARD
                lineage = lineage_of_dataset(store, text) if forward else lineage_of(store, text)
        except (UserError, OSError) as exc:
            self.message.setText(str(exc))
            return False
        self.set_lineage(lineage)
        return True

    def set_lineage(self, lineage: Lineage) -> None:
        self.lineage = lineage
        self.boxes = draw(self.canvas.scene(), lineage)
        kinds = sorted({n.kind for n in lineage.nodes.values()})
        self.message.setText(f"{len(lineage.nodes)} nodes ({', '.join(kinds)}); double-click a run, version or "
                             "graph to open it.")
        self.details.clear()

    def node(self, node_id: str) -> LineageNode | None:
        return self.lineage.nodes.get(node_id) if self.lineage is not None else None

    def activate(self, node_id: str) -> None:
        """Open what the node stands for: a run, a registered version, or a graph file (the user's file when it
        still exists, else the store's copy)."""
        node = self.node(node_id)
        if node is None:
            return
        if node.kind == "run":
            self.open_run.emit(node.key)
        elif node.kind == "version":
            self.open_version.emit(node.key)
        elif node.kind in ("graph", "code"):
            for candidate in (node.details.get("file"), node.details.get("graph_file"),
                              node.details.get("stored_copy")):
                if candidate and Path(candidate).is_file():
                    self.open_file.emit(str(candidate))
                    return
            self.message.setText(f"{node.label}: no graph file to open here")

    def _show_selected(self) -> None:
        selected = [i for i in self.canvas.scene().selectedItems() if isinstance(i, NodeBox)]
        if selected:
            self.details.setPlainText(describe(selected[0].node))


def describe(node: LineageNode) -> str:
    """A node's details as the pane shows them: one line per fact, nested facts indented."""
    lines = [f"{node.kind}: {node.label}", ""]
    for key, value in node.details.items():
        if isinstance(value, dict):
            if value:
                lines.append(f"{key}:")
                lines.extend(f"  {k}: {json.dumps(v, default=str) if isinstance(v, dict | list) else v}"
                             for k, v in value.items())
        elif value not in (None, ""):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def open_lineage_view(window: Any, ref: str | None = None) -> LineageView:
    """View ▸ Lineage…: the lineage view of ``window``'s store in its own window, its nodes opening the run in the
    Runs dock, the version in the Registry view and the graph file in the editor."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = LineageView(store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.open_run.connect(lambda run_id: window.compare_runs([run_id]))
    view.open_version.connect(lambda ref_: _show_version(window, ref_))
    view.open_file.connect(window.files.open)
    view.resize(1300, 620)
    view.show()
    if ref:
        view.show_ref(ref)
    window.lineage_view = view
    return view


def _show_version(window: Any, ref: str) -> None:
    from neuralforge_desktop.ui.registry import open_registry_view

    name, _, number = ref.partition("@")
    registry = open_registry_view(window)
    names = [m.name for m in registry.models]
    if name in names:
        registry.model_list.setCurrentRow(names.index(name))
        if number.isdigit():
            registry.select_version(int(number))
