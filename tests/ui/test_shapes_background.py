"""An edit whose shape changes reach thousands of nodes: the bridge tells the canvas at once (``edited``), the
shapes are inferred in the worker thread, and the change with every recomputed node follows (``changed``)."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core.analysis import shapes as shapes_module
from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import SetParam
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.ui import bridge as bridge_module
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.undo import EditStack


def chain_document(length: int) -> Document:
    c = Composer("chain")
    x = c.input("image", [3, 32, 32])
    x = c.layer("Conv2d", x, "stem", out_channels=8, kernel_size=3, padding=1)
    for i in range(length):
        x = c.layer("ReLU", x, f"relu{i}")
    c.output(x, "out")
    return Document(c.done(layout=False))


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> DocumentBridge:
    monkeypatch.setattr(bridge_module, "DEFER_SHAPES_ABOVE", 20)
    return DocumentBridge(chain_document(60))


def test_the_edit_is_shown_first_and_its_shapes_come_from_the_worker(qtbot, bridge, monkeypatch) -> None:
    threads: list[int] = []
    real = shapes_module.ShapeInference.update

    def recorded(engine, changed, **options):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return real(engine, changed, **options)

    monkeypatch.setattr(shapes_module.ShapeInference, "update", recorded)
    edited, changed = [], []
    bridge.edited.connect(edited.append)
    bridge.changed.connect(changed.append)
    edits = EditStack(lambda: bridge.document)
    edits.push_edit(SetParam("image", "shape", [3, 16, 16]))
    assert len(edited) == 1 and not changed and bridge.document.shapes_pending
    qtbot.waitUntil(lambda: bool(changed))
    assert not bridge.document.shapes_pending and "relu59" in changed[0].changed
    assert threads[0] == threading.get_ident()  # the preview of the first nodes, here
    assert any(t != threading.get_ident() for t in threads[1:])  # the rest in the worker
    document = bridge.document
    fresh = infer_shapes(document.graph)
    assert all(fresh.results[n].outputs == document.shapes.results[n].outputs for n in document.graph.nodes)


def test_shapes_read_before_the_worker_starts_are_still_announced(qtbot, bridge) -> None:
    changed = []
    bridge.changed.connect(changed.append)
    EditStack(lambda: bridge.document).push_edit(SetParam("image", "shape", [3, 8, 8]))
    assert bridge.document.shapes.spec("relu59").shape[2:] == (8, 8)  # inferred by the read
    qtbot.waitUntil(lambda: bool(changed))
    assert "relu59" in changed[0].changed
