"""A new user drags a classifier together from the palette, leaving the Input at the shape it shows (1×28×28),
and trains it from the Train dock: the shown default is the Input's shape, so the run starts and finishes."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from .test_user_builds_mnist import drag_wire, type_param

CHAIN = ["Input", "Conv2d", "ReLU", "Flatten", "Linear", "Output"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1600, 1000)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def drag_from_palette(window: MainWindow, type_name: str, drop_at: QPoint) -> str:
    """Drag the layer's palette row onto the canvas: the palette's own drag payload enters the canvas, moves
    over it and is dropped at ``drop_at`` (Qt's drag loop cannot be driven by synthetic mouse events, so the
    drag-and-drop events it would deliver are sent to the canvas viewport in order)."""
    tree = window.palette_panel.tree()
    item = window.palette_panel.item_for(type_name)
    assert item is not None, f"{type_name} is not in the palette"
    mime = tree.mimeData([item])
    viewport = window.view.viewport()
    point = QPointF(drop_at)
    buttons, keys, copy = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, Qt.DropAction.CopyAction
    enter = QDragEnterEvent(drop_at, copy, mime, buttons, keys)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted(), "the canvas refuses the palette's drag"
    QApplication.sendEvent(viewport, QDragMoveEvent(drop_at, copy, mime, buttons, keys))
    drop = QDropEvent(point, copy, mime, buttons, keys)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()
    node_id = window.selection.current
    assert node_id is not None and window.bridge.document.graph.node(node_id).type == type_name
    return node_id


@pytest.mark.slow
def test_a_classifier_dragged_from_the_palette_with_the_default_input_trains(window, qtbot, tmp_path):
    viewport = window.view.viewport()
    top = viewport.height() // 3
    ids = [drag_from_palette(window, name, QPoint(120 + 230 * k, top + 90 * (k % 2)))
           for k, name in enumerate(CHAIN)]
    image, _conv, _relu, _flatten, linear, _logits = ids
    graph = window.bridge.document.graph
    assert graph.node(image).params == {}, "the Input is left as dropped, at the shape it shows"
    window.view.fit_all()
    ports = {"Input": ("y", None), "Output": (None, "x")}
    for a, b in zip(ids, ids[1:], strict=False):
        out = ports.get(graph.node(a).type, ("y", "x"))[0]
        into = ports.get(graph.node(b).type, ("y", "x"))[1]
        drag_wire(window, a, out, b, into)
    assert len(graph.edges) == 5, [str(e) for e in graph.edges]
    type_param(window, qtbot, linear, "out_features", "10")

    # The inspector shows the Input's default shape; the wires carry it.
    window.selection.set([image])
    qtbot.waitUntil(lambda: window.inspector.node_id() == image and "shape" in window.inspector.fields)
    assert str(window.bridge.document.shapes.edge_spec(graph.edges[0])) == "N×1×28×28"

    # Saved and reopened, the file leaves the default out and still means it.
    path = tmp_path / "palette.nfg"
    assert window.files.save_as(path)
    assert load_graph(path).node(image).params == {}

    window.show_training()
    panel = window.train_panel
    panel.set_config(TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, lr=3e-3, seed=1, limit=256))
    with qtbot.waitSignal(panel.run_finished, timeout=180_000) as finished:
        QTest.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert not panel.start_button.isEnabled(), f"Start was refused: {panel.message.text()}"
    run_id, status = finished.args
    assert status == "finished", panel.status_text()
    window.grab().save(str(tmp_path / "palette-trained.png"))
    assert panel.curves.series_count() > 0
    metrics = panel.store().latest_metrics(run_id)
    assert "val/acc" in metrics and "train/loss" in metrics, sorted(metrics)
    assert panel.store().get_run(run_id).status == "finished"
