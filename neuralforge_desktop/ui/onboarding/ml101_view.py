"""Help ▸ ML 101: the explained examples of ``core/ml101.py`` in a window beside the canvas.

A list of the ideas on the left; on the right the chosen one's graph drawn as the canvas draws it (shapes on
its wires), what its layer does in plain words and as a formula (the catalog's Concept Mode text), why it
matters, and "Open on canvas", which makes the example a new document to edit and train.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ml101 import EXAMPLES, Example
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

PREVIEW = QSize(620, 230)
ROWS_AREA = (760.0, 300.0)  # scene units a preview's wrapped rows should fit: three or four cards a row


def preview_pixmap(graph: Graph, size: QSize, theme: str, ratio: float) -> QPixmap:
    """``graph`` drawn as the canvas draws it, in rows of about three layers with every wire and the shapes on
    the wires (the template gallery's thumbnails leave the wires between rows out; these graphs are small
    enough to show them all), as large as fits in ``size``."""
    import shiboken6

    from neuralforge_desktop.core.edit.document import Document
    from neuralforge_desktop.core.ir.layout import layout_positions
    from neuralforge_desktop.ui.bridge import DocumentBridge
    from neuralforge_desktop.ui.canvas.scene import GraphScene
    from neuralforge_desktop.ui.theme import canvas_theme

    bridge = DocumentBridge(Document(graph))
    scene = GraphScene(bridge)
    scene.style.theme = canvas_theme(theme)
    scene.restyle(geometry=False)
    positions = layout_positions(graph, sizes=scene.node_sizes(), orientation="wrapped", area=ROWS_AREA)
    for node_id, position in positions.items():
        graph.nodes[node_id].position = position
    scene.rebuild()
    scene.set_detail(labels=True, far=False)
    scene.style.exporting = True  # full detail whatever the scale, no hover
    pixmap = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(scene.style.theme.background)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    source = scene.content_rect().adjusted(-40.0, -24.0, 40.0, 24.0)
    scene.render(painter, QRectF(0.0, 0.0, size.width(), size.height()), source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    shiboken6.delete(scene)  # freed now: one preview is drawn per example shown
    shiboken6.delete(bridge)
    return pixmap


def shape_path(item: Example) -> str:
    """The shapes along the example's main path, input to output: "N×1×28×28 → N×8×28×28 → …"."""
    graph = item.graph()
    shapes = ShapeInference(graph).run()
    texts: list[str] = []
    for node_id in graph.topo_order():
        spec = shapes.spec(node_id)
        if spec is not None and graph.nodes[node_id].params.get("role") != "target":
            texts.append(str(spec))
    return " → ".join(texts)


class Ml101View(QDialog):
    def __init__(self, window: MainWindow | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(window)
        self.setObjectName("Ml101View")
        self.setWindowTitle("ML 101 — NeuralForge")
        self.main_window = window
        self.theme = theme
        c = roles(theme)
        self.list = QListWidget()
        self.list.setObjectName("ml101_list")
        for item in EXAMPLES:
            self.list.addItem(item.title.split(":")[0])
        self.list.setFixedWidth(170)
        self.list.setStyleSheet("QListWidget::item { padding: 7px 6px; }")
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 17px; font-weight: 700;")
        self.title.setWordWrap(True)
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet(f"border: 1px solid {c.border}; border-radius: 6px;")
        self.shapes = QLabel()
        self.shapes.setWordWrap(True)
        self.shapes.setStyleSheet(f"color: {c.muted};")
        self.plain = QLabel()
        self.plain.setWordWrap(True)
        self.formula = QLabel()
        self.why = QLabel()
        self.why.setWordWrap(True)
        self.open_button = QPushButton("Open on canvas")
        self.open_button.setToolTip("Make this example a new graph on the canvas, to change and train")
        self.open_button.clicked.connect(self.open_on_canvas)

        body = QWidget()
        right = QVBoxLayout(body)
        right.setSpacing(8)
        right.addWidget(self.title)
        right.addWidget(self.preview)
        right.addWidget(self.shapes)
        for heading, widget in (("What it does", self.plain), ("As a formula", self.formula),
                                ("Why it matters", self.why)):
            label = QLabel(heading)
            label.setStyleSheet(f"color: {c.muted}; font-weight: 600; margin-top: 4px;")
            right.addWidget(label)
            right.addWidget(widget)
        right.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.list)
        top.addWidget(scroll, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self.show_example)
        self.list.setCurrentRow(0)
        self.resize(880, 640)

    @property
    def example(self) -> Example:
        return EXAMPLES[max(0, self.list.currentRow())]

    def show_example(self, row: int) -> None:
        if row < 0:
            return
        from neuralforge_desktop.ui.formula import formula_pixmap

        item = EXAMPLES[row]
        c = roles(self.theme)
        self.title.setText(item.title)
        ratio = self.devicePixelRatioF()
        self.preview.setPixmap(preview_pixmap(item.graph(), PREVIEW, self.theme, ratio))
        self.shapes.setText(f"Shapes, input to output: {shape_path(item)}")
        self.plain.setText(f"{item.layer}: {item.plain[0].upper()}{item.plain[1:]}.")
        self.formula.setPixmap(formula_pixmap(item.math, 15, QColor(c.text), 600, ratio))
        self.why.setText(item.why)

    def open_on_canvas(self) -> bool:
        """The example as a new document in the main window (the current graph is offered for saving)."""
        window = self.main_window
        if window is None:
            return False
        item = self.example
        opened = window.files.new_from_graph(item.graph(), f"ML 101 example “{item.title.split(':')[0]}”")
        if opened:
            window.raise_()
            window.activateWindow()
        return opened


def open_ml101_view(window: MainWindow) -> Ml101View:
    view = Ml101View(window, window.theme)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.show()  # non-modal: it stays open beside the canvas
    window.ml101_view = view  # type: ignore[attr-defined]
    return view
