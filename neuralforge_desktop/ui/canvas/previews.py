"""Live previews on the canvas: each edit, debounced, reruns one sample through the model in a background
thread; the newest result puts a thumbnail of its output under every node's card.

Why a thread and not a worker process: the graph's layers are catalog layers (project code, or a plugin the
user installed), never code typed into a graph file, and the work is small (building the MNIST CNN and one
forward pass of batch 1 take ~15 ms). A process would pay for sending the graph over and the results back on
every edit, and a second torch in memory, to protect against nothing that can happen here; training and
export, which run for minutes or load third-party converters, do use worker processes. The thread holds the
interpreter only while the builder runs Python; torch's kernels release it, so the UI thread never waits
more than a few milliseconds. The UI thread only copies the graph (0.5 ms for the MNIST CNN, about 3 ms for
ResNet-18's 108 nodes) and, when a result arrives, draws it.

Stale results are dropped twice over: the thread keeps only the newest request (requests that arrive while it
works replace each other), and a result is applied only if no edit happened since its request was made.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

from neuralforge_desktop.core.analysis.previews import MAX_NODES, PreviewResult
from neuralforge_desktop.core.edit.document import DocumentChange
from neuralforge_desktop.core.edit.edits import Edit, MoveNodes, SetMeta, SetNodeText
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.ui.canvas.node_item import NodeItem
from neuralforge_desktop.ui.canvas.preview_item import PreviewItem
from neuralforge_desktop.ui.canvas.scene import BACKDROPS, GraphScene, leaf_edits

DEBOUNCE_MS = 40  # a burst of edits (typing a number, dragging a spin box) computes once


@dataclass(frozen=True)
class Request:
    generation: int
    graph: Graph  # a copy, the thread's own
    dataset: str | None  # the sample's dataset, if any
    run_id: str | None = None  # the run whose checkpoint gives the weights, if any
    store: str | os.PathLike[str] | None = None  # the experiment store that run is in


def changes_outputs(edit: Edit) -> bool:
    """Whether an edit can change what the model computes: moving cards, notes and backdrops cannot, and a
    drag must not rerun the model at every mouse move."""
    if isinstance(edit, MoveNodes):
        return False
    if isinstance(edit, SetNodeText):
        return edit.field_name != "notes"  # a label can name the dataset field an Input reads
    if isinstance(edit, SetMeta):
        return edit.key != BACKDROPS
    return True


def node_count(graph: Graph) -> int:
    """Every node the model would run, block contents included: what previews cost grows with."""
    return sum(1 for _ in graph.walk())


class PreviewThread(QThread):
    """Computes previews for the newest request, one at a time, until stopped."""

    computed = Signal(int, object)  # generation, PreviewResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wake = threading.Condition()
        self._request: Request | None = None
        self._stopping = False

    def submit(self, request: Request) -> None:
        with self._wake:
            self._request = request  # replaces one not started yet: it is stale
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self.wait()

    def run(self) -> None:  # Qt names this; runs in the new thread
        from neuralforge_desktop.core.analysis.previews import compute_previews, run_weights
        from neuralforge_desktop.core.errors import UserError

        while True:
            with self._wake:
                while self._request is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                request, self._request = self._request, None
                assert request is not None
            try:
                weights, note, missing = None, "", ""
                if request.run_id is not None:
                    try:
                        weights, note = run_weights(request.run_id, request.store)
                    except UserError as exc:  # a run stopped before its first checkpoint, a store gone
                        missing = f"; initial weights: {exc}"
                result = compute_previews(request.graph, dataset=request.dataset, weights=weights,
                                          weights_note=note)
                result.source += missing
            except Exception as exc:  # a bug here must cost the previews, not the editor
                result = PreviewResult(error=f"{type(exc).__name__}: {exc}")
            self.computed.emit(request.generation, result)


class LivePreviews(QObject):
    """Keeps the scene's node items showing previews of the current graph while :attr:`enabled`.

    ``dataset`` returns the dataset to draw the sample from (the Train panel's choice) or None; ``run``
    returns the run whose checkpoint gives the weights (the one run chosen in the Runs panel) or None, for
    fresh seeded weights; that run is looked up in the experiment store ``store``.
    """

    updated = Signal(object)  # the PreviewResult now on the canvas
    message = Signal(str)  # for the status bar: why previews are off or empty
    switched = Signal(bool)  # on or off, whoever switched (the user, or a graph grown past the limit)

    def __init__(self, scene: GraphScene, dataset: Callable[[], str | None] | None = None,
                 run: Callable[[], str | None] | None = None, store: str | os.PathLike[str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.dataset = dataset or (lambda: None)
        self.run = run or (lambda: None)
        self.store = store
        self.enabled = False
        self.generation = 0  # bumps on every edit; a result for an older one is dropped
        self.applied: int | None = None  # the generation on the canvas
        self.result: PreviewResult | None = None
        self._thread: PreviewThread | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._submit)
        scene.bridge.changed.connect(self._on_changed)
        scene.rebuilt.connect(self._on_rebuilt)

    # -- switching -----------------------------------------------------------------------------------
    def too_large(self) -> int | None:
        """The graph's node count when it is over the limit for previews, else None."""
        count = node_count(self.scene.graph)
        return count if count > MAX_NODES else None

    def set_enabled(self, on: bool) -> bool:
        """Switch previews; refused (False, with a message) above :data:`MAX_NODES` nodes."""
        if on and (count := self.too_large()) is not None:
            self.message.emit(f"Live previews are off above {MAX_NODES} nodes: this graph has {count}, and "
                              "every edit would rerun the whole model")
            on = False
            if not self.enabled:
                return False
        if on == self.enabled:
            return on
        self.enabled = on
        self.switched.emit(on)
        if on:
            if self._thread is None:
                self._thread = PreviewThread()
                self._thread.computed.connect(self._on_computed)
                self._thread.start()
                app = QCoreApplication.instance()
                if app is not None:  # a running QThread must not outlive the application
                    app.aboutToQuit.connect(self.shutdown)
            self.refresh()
        else:
            self._timer.stop()
            self.generation += 1  # anything still computing is stale now
            self._clear()
        return on

    def shutdown(self) -> None:
        """Stop the thread (the window is closing); safe to call twice."""
        self.enabled = False
        self._timer.stop()
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    # -- requests ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute soon (after the debounce): the graph, or the chosen dataset, changed."""
        self.generation += 1
        if self.enabled:
            self._timer.start()

    def _on_changed(self, change: DocumentChange) -> None:
        if change.structural or any(changes_outputs(edit) for edit in leaf_edits(change.edit)):
            self.refresh()

    def _on_rebuilt(self) -> None:
        # A new or opened document: its node items are new, and it may be too large for previews.
        if self.enabled and self.too_large() is not None:
            self.set_enabled(False)
            self.message.emit(f"Live previews switched off: this graph has more than {MAX_NODES} nodes")
            return
        self.refresh()

    def _submit(self) -> None:
        if self.enabled and self.too_large() is not None:  # it grew past the limit (a paste, a block opened)
            self.set_enabled(False)
            self.message.emit(f"Live previews switched off: this graph has more than {MAX_NODES} nodes")
            return
        if self.enabled and self._thread is not None:
            # A copy: the user goes on editing the document while the thread reads this one.
            self._thread.submit(Request(self.generation, self.scene.graph.copy(), self.dataset(), self.run(),
                                        self.store))

    def _on_computed(self, generation: int, result: PreviewResult) -> None:
        if generation != self.generation or not self.enabled:
            return  # an edit came after this request: its result is on the way
        self.result = result
        self.applied = generation
        if result.error:
            self._clear()
            self.message.emit(f"Live previews: {result.error}")
        else:
            self._apply(result)
        self.updated.emit(result)

    # -- drawing -------------------------------------------------------------------------------------
    def _apply(self, result: PreviewResult) -> None:
        # Every node's item, built now if the canvas had not yet: previews run only on graphs small enough
        # (MAX_NODES) for all items to exist.
        for node_id, item in self.scene.nodes.items():
            preview = result.previews.get(node_id)
            if preview is None or item.look is None or item.expanded:
                _drop(item)
                continue
            shown = item.preview_item
            if not isinstance(shown, PreviewItem) or not shiboken6.isValid(shown):
                shown = PreviewItem(item.style, item)
                item.preview_item = shown
            shown.set_preview(preview, item.look.width, item.look.height, result.source)
            item.set_preview_tip(f"Output {preview.describe()} ({result.source})")

    def _clear(self) -> None:
        for item in self.scene.nodes.built.values():
            _drop(item)

    def shown(self) -> dict[str, PreviewItem]:
        """The preview items on the canvas now, by node id (tests and the benchmark read them)."""
        found = {}
        for node_id, item in self.scene.nodes.built.items():
            shown = item.preview_item
            if isinstance(shown, PreviewItem) and shiboken6.isValid(shown):
                found[node_id] = shown
        return found


def _drop(item: NodeItem) -> None:
    shown = item.preview_item
    item.preview_item = None
    if shown is not None and shiboken6.isValid(shown):
        scene = shown.scene()
        if scene is not None:
            scene.removeItem(shown)
        else:
            shown.setParentItem(None)
    if item.preview_tip:
        item.set_preview_tip("")
