"""Qt signals over the core document, plus the editor-wide selection. Widgets connect to these; they never
talk to each other directly."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from neuralforge_desktop.core.edit.document import Document, DocumentChange

if TYPE_CHECKING:
    from neuralforge_desktop.ui.background import BackgroundDerived

# An edit whose shape changes reach more nodes than this has them inferred in the background (the canvas shows
# the edit at once, the wires' shapes when they are in): ~20 µs a node, so 2,000 nodes is about a frame's budget.
DEFER_SHAPES_ABOVE = 2000
LAYER_MIME = "application/x-neuralforge-layer"  # palette → canvas drag payload: the layer type name
COMPONENT_MIME = "application/x-neuralforge-component"  # palette → canvas: a component name


class DocumentBridge(QObject):
    """Re-emits the document's changes as Qt signals; owns the current :class:`Document`."""

    changed = Signal(object)  # DocumentChange
    edited = Signal(object)  # DocumentChange with shapes_pending: an edit shown now, its shapes still inferred
    replaced = Signal()  # a new or opened graph: views rebuild from scratch
    saved = Signal()

    def __init__(self, document: Document | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document or Document()
        self._document.defer_shapes_above = DEFER_SHAPES_ABOVE
        self._unsubscribe = self._document.subscribe(self._forward)
        self.selection: SelectionModel | None = None  # set by whoever owns the selection, to prune dead ids
        self._background: BackgroundDerived | None = None
        # Pending shapes are inferred once the canvas has painted the edit: a worker thread busy in Python
        # would hold up the paint (the two share the interpreter), and a burst of edits needs one inference.
        from neuralforge_desktop.ui.panels.timing import AFTER_CANVAS_MS  # the panels import this module

        self._shapes_timer = QTimer(self)
        self._shapes_timer.setSingleShot(True)
        self._shapes_timer.setInterval(AFTER_CANVAS_MS)
        self._shapes_timer.timeout.connect(self._infer_shapes_in_background)

    @property
    def background(self) -> BackgroundDerived:
        """Computes the document's cost, lint and code off the UI thread (made on first use)."""
        if self._background is None:
            from neuralforge_desktop.ui.background import BackgroundDerived

            owner = weakref.ref(self)  # the worker thread must not keep the bridge alive
            self._background = BackgroundDerived(lambda: owner().document, self)  # type: ignore[union-attr]
        return self._background

    def computing(self) -> bool:
        """Whether a value a panel asked for is still being computed in the background."""
        return self._background is not None and self._background.awaiting()

    def shutdown(self) -> None:
        """Stop computing in the background (the window is closing)."""
        if self._background is not None:
            self._background.shutdown()

    @property
    def document(self) -> Document:
        return self._document

    def set_document(self, document: Document) -> None:
        self._unsubscribe()
        self._document = document
        document.defer_shapes_above = DEFER_SHAPES_ABOVE
        self._unsubscribe = document.subscribe(self._forward)
        self.replaced.emit()

    def _forward(self, change: DocumentChange) -> None:
        if change.shapes_pending:
            self.edited.emit(change)
            QTimer.singleShot(0, self._shapes_timer, self._shapes_timer.start)  # as panels' start_after_canvas
            return
        if change.edit is None and not change.changed and not change.structural:
            self.saved.emit()
        elif change.edit is None:
            self.replaced.emit()
        else:
            self.changed.emit(change)
        if self.selection is not None and change.structural:
            alive = [i for i in self.selection.ids if i in self._document.graph.nodes]
            if alive != self.selection.ids:  # a deleted (or undone) node cannot stay selected
                self.selection.set(alive)

    def _infer_shapes_in_background(self) -> None:
        document = self._document
        job = document.shapes_job()
        if job is None:  # a reader of document.shapes inferred them meanwhile: tell the panels and the canvas
            document.announce_shapes()
        else:
            self.background.request(job, lambda value: document.accept_shapes(job, value))


class SelectionModel(QObject):
    """The selected node ids (top-level graph), shared by canvas, inspector, summary, code view, problems."""

    changed = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: list[str] = []

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    @property
    def current(self) -> str | None:
        return self._ids[-1] if self._ids else None

    def set(self, ids: list[str]) -> None:
        ids = list(dict.fromkeys(ids))
        if ids != self._ids:
            self._ids = ids
            self.changed.emit(list(ids))

    def clear(self) -> None:
        self.set([])
