"""Live previews in the window: the View menu switch puts thumbnails under the cards, an edit updates them,
and a graph above the node limit keeps them off. Offscreen (tests/conftest.py)."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.previews import MAX_NODES
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import MoveNodes, SetParam
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

WAIT_MS = 15000  # the first result imports torch (a couple of seconds on a busy machine)


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    made: list[MainWindow] = []

    def make(graph: Graph) -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db",
                            document=Document(graph))
        monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if shiboken6.isValid(window):
            window.close()
            window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_switching_previews_on_shows_thumbnails_and_an_edit_updates_them(open_window, qtbot):
    window = open_window(zoo.build("mnist-cnn"))
    action = window.commands["view.live_previews"]
    assert not action.isChecked() and not window.previews.shown()  # off by default
    with qtbot.waitSignal(window.previews.updated, timeout=WAIT_MS):
        action.trigger()
    assert action.isChecked()
    shown = window.previews.shown()
    assert shown["conv1"].tile_count == 16 and shown["fc2"].bar_count > 0
    conv1 = window.view.graph_scene.nodes["conv1"]
    assert shown["conv1"].parentItem() is conv1 and shown["conv1"].y() > conv1.look.height  # under the card
    assert "min" in conv1.toolTip() and "1×32×28×28" in conv1.toolTip()

    with qtbot.waitSignal(window.previews.updated, timeout=WAIT_MS):
        window.edits.push_edit(SetParam("conv1", "out_channels", 8))
    shown = window.previews.shown()
    assert shown["conv1"].tile_count == 8 and "1×8×28×28" in shown["conv1"].toolTip()
    assert window.previews.applied == window.previews.generation

    before = window.previews.generation
    window.edits.push_edit(MoveNodes({"conv1": (conv1.x() + 40.0, conv1.y())}))  # a drag reruns nothing
    assert window.previews.generation == before and window.previews.shown()["conv1"].parentItem() is conv1

    window.previews.run = lambda: "r404"  # as if one run were chosen in the Runs panel: a run that is not there
    with qtbot.waitSignal(window.previews.updated, timeout=WAIT_MS):
        window.previews.refresh()
    assert "initial weights: no run 'r404'" in window.previews.result.source
    assert window.previews.shown()["conv1"].tile_count == 8

    window.set_concept_mode(True)  # taller cards: the pictures move down with them, no recomputation needed
    conv1 = window.view.graph_scene.nodes["conv1"]
    assert window.previews.shown()["conv1"].y() > conv1.look.height
    window.set_concept_mode(False)

    action.trigger()  # off again: the thumbnails go
    assert not action.isChecked() and not window.previews.shown()


def test_previews_stay_off_above_the_node_limit(open_window):
    graph = Graph("wide")
    for i in range(MAX_NODES + 1):
        graph.add_node("ReLU", node_id=f"relu{i}")
    window = open_window(zoo.build("mnist-cnn"))
    action = window.commands["view.live_previews"]
    messages: list[str] = []
    window.previews.message.connect(messages.append)
    action.trigger()
    assert action.isChecked() and window.previews.enabled
    window.bridge.set_document(Document(graph))  # as File ▸ Open of a large graph: previews switch off
    assert not action.isChecked() and not window.previews.enabled
    assert messages and f"more than {MAX_NODES} nodes" in messages[-1]
    action.trigger()  # and stay off when asked for, saying why
    assert not action.isChecked() and not window.previews.enabled and not window.previews.shown()
    assert f"above {MAX_NODES} nodes: this graph has {MAX_NODES + 1}" in messages[-1]
