"""The Compare window's Architecture tab: two runs' graphs side by side on read-only canvases, nodes added
(green), removed (red) and changed (amber) outlined, and the list of changes.

The canvases are the app's own diagram scenes (``diagram_scene``, as the diagram export draws them) in plain
views that allow no edits; the highlights are overlay items of this module drawn around the node items, so the
canvas code needs no hook."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.theme import DEFAULT_THEME

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
DIFF_COLORS = {ADDED: "#2fa84f", REMOVED: "#e0473c", CHANGED: "#e8a317"}
_LINE_KINDS = {"+": ADDED, "-": REMOVED, "~": CHANGED}
OUTLINE_MARGIN = 6.0
WRAP_WIDTH = 1000.0  # scene units a pane's layout wraps at (its height follows the pane's shape)
RELAYOUT_CHANGE = 0.25  # a resize that changes the pane's shape by more than this lays the graph out again
WRAP_COLUMN_GAP = 70.0  # room for the shape labels on the wires between columns


class DiffCanvas(QGraphicsView):
    """One graph, read-only, with diff outlines. ``highlights``: node id → kind."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setInteractive(False)  # a document to look at: nothing here can be moved or edited
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # always fitted whole
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.highlights: dict[str, str] = {}
        self.outlines: dict[str, QGraphicsRectItem] = {}
        self.graph_scene: Any = None
        self._shown: tuple[Any, dict[str, str], str, float] | None = None  # what to lay out again on a resize

    def _aspect(self) -> float:
        """The pane's height over its width, clamped to what a wrapped layout can use."""
        return min(max(max(self.viewport().height(), 1) / max(self.viewport().width(), 1), 0.4), 2.5)

    def show_graph(self, graph: Any, highlights: dict[str, str], theme: str) -> None:
        import copy

        from neuralforge_desktop.core.ir.layout import Spacing, layout_positions
        from neuralforge_desktop.ui.canvas.export import ExportOptions, diagram_scene

        # Wrapped to the pane's shape (the export's wrapping aims at a 16:10 slide, far wider than a half window).
        laid_out = copy.deepcopy(graph)
        aspect = self._aspect()
        self._shown = (graph, highlights, theme, aspect)
        positions = layout_positions(laid_out, orientation="wrapped", spacing=Spacing(column=WRAP_COLUMN_GAP),
                                     area=(WRAP_WIDTH, WRAP_WIDTH * aspect))
        for node_id, position in positions.items():
            laid_out.node(node_id).position = position
        old = self.graph_scene
        self.graph_scene = diagram_scene(laid_out, ExportOptions(background="theme", layout="canvas", theme=theme))
        self.graph_scene.setParent(self)
        self.setScene(self.graph_scene)
        self.setBackgroundBrush(QBrush(self.graph_scene.style.theme.background))
        if old is not None:
            old.deleteLater()
        self.highlights, self.outlines = dict(highlights), {}
        for node_id, kind in self.highlights.items():
            item = self.graph_scene.nodes.get(node_id)
            if item is None:
                continue
            color = QColor(DIFF_COLORS[kind])
            fill = QColor(color)
            fill.setAlpha(50)
            rect = item.sceneBoundingRect().adjusted(-OUTLINE_MARGIN, -OUTLINE_MARGIN, OUTLINE_MARGIN,
                                                     OUTLINE_MARGIN)
            outline = QGraphicsRectItem(rect)
            outline.setPen(QPen(color, 3.0))
            outline.setBrush(QBrush(fill))
            outline.setZValue(item.zValue() - 1)  # under the card, so its text stays readable; the rim shows
            outline.setToolTip(f"{node_id}: {kind}")
            self.graph_scene.addItem(outline)
            self.outlines[node_id] = outline
        self.fit()

    def fit(self) -> None:
        if self.graph_scene is not None:
            rect = self.graph_scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
            self.fitInView(rect if rect.isValid() else QRectF(0, 0, 1, 1), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._shown is not None and abs(self._aspect() / self._shown[3] - 1) > RELAYOUT_CHANGE:
            graph, highlights, theme, _ = self._shown
            self.show_graph(graph, highlights, theme)  # a pane of another shape wraps the graph differently
        else:
            self.fit()


class ArchitectureDiff(QWidget):
    """Run A's graph beside run B's, with the changes from A to B listed below."""

    def __init__(self, store: Any, runs: list[Any], theme: str = DEFAULT_THEME, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store, self._runs, self._theme = store, list(runs), theme
        self._graphs: dict[str, Any] = {}
        self.diff: Any = None
        layout = QVBoxLayout(self)
        pick = QHBoxLayout()
        self.base_choice, self.other_choice = QComboBox(), QComboBox()
        for combo in (self.base_choice, self.other_choice):
            for run in self._runs:
                combo.addItem(f"{run.name} ({run.id[:6]})", run.id)
        self.other_choice.setCurrentIndex(min(1, len(self._runs) - 1))
        pick.addWidget(QLabel("From"))
        pick.addWidget(self.base_choice, 1)
        pick.addWidget(QLabel("to"))
        pick.addWidget(self.other_choice, 1)
        self.summary = QLabel()
        pick.addWidget(self.summary, 1)
        layout.addLayout(pick)
        splitter = QSplitter(Qt.Orientation.Vertical)
        canvases = QSplitter(Qt.Orientation.Horizontal)
        self.left, self.right = DiffCanvas(), DiffCanvas()
        self.left_caption, self.right_caption = QLabel(), QLabel()
        for caption, canvas in ((self.left_caption, self.left), (self.right_caption, self.right)):
            pane = QWidget()
            column = QVBoxLayout(pane)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(caption)
            column.addWidget(canvas, 1)
            canvases.addWidget(pane)
        splitter.addWidget(canvases)
        self.changes = QListWidget()
        splitter.addWidget(self.changes)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 200])
        layout.addWidget(splitter, 1)
        self.base_choice.currentIndexChanged.connect(self.refresh)
        self.other_choice.currentIndexChanged.connect(self.refresh)
        self.refresh()

    def _graph(self, run_id: str) -> Any:
        from neuralforge_desktop.core.compare.graph_diff import run_graph

        if run_id not in self._graphs:
            self._graphs[run_id] = run_graph(self._store, run_id)
        return self._graphs[run_id]

    def refresh(self) -> None:
        from neuralforge_desktop.core.compare.graph_diff import diff_graphs
        from neuralforge_desktop.core.errors import UserError

        base, other = self.base_choice.currentData(), self.other_choice.currentData()
        self.changes.clear()
        try:
            old, new = self._graph(base), self._graph(other)
        except UserError as exc:
            self.diff = None
            self.summary.setText("")
            self.changes.addItem(str(exc))
            return
        self.diff = diff = diff_graphs(old, new)
        changed = {c.old_id: c.new_id for c in diff.changed if c.fields}
        self.left.show_graph(old, {**{n: REMOVED for n in diff.removed}, **{n: CHANGED for n in changed}},
                             self._theme)
        self.right.show_graph(new, {**{n: ADDED for n in diff.added}, **{n: CHANGED for n in changed.values()}},
                              self._theme)
        def swatch(kind: str) -> str:
            return f"<span style='color:{DIFF_COLORS[kind]}'>■ {kind}</span>"

        self.left_caption.setText(f"<b>{self.base_choice.currentText()}</b> &nbsp; {swatch(REMOVED)} "
                                  f"&nbsp; {swatch(CHANGED)}")
        self.right_caption.setText(f"<b>{self.other_choice.currentText()}</b> &nbsp; {swatch(ADDED)} "
                                   f"&nbsp; {swatch(CHANGED)}")
        counts = [f"{len(diff.added)} added", f"{len(diff.removed)} removed", f"{len(changed)} changed"]
        self.summary.setText("same architecture" if diff.empty else ", ".join(counts))
        for line in diff.lines() or ["the two graphs are the same"]:
            item = QListWidgetItem(line)
            kind = _LINE_KINDS.get(line[:1])
            if kind is not None:
                item.setForeground(QColor(DIFF_COLORS[kind]))
                item.setData(Qt.ItemDataRole.UserRole, kind)
            self.changes.addItem(item)

    def change_lines(self) -> list[tuple[str, str | None]]:
        """The listed changes with their kind (added, removed, changed, or None)."""
        return [(self.changes.item(i).text(), self.changes.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.changes.count())]
