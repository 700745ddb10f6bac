"""The canvas on big graphs: items are built for what is on screen and on lookup, the graph's extent still
covers every node, an edit refreshes only the items whose look changed, panels refresh after the canvas has
painted, and the code view regenerates only while it is shown. Offscreen (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPointF, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import SetParam
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas import GraphView
from neuralforge_desktop.ui.canvas.node_item import NodeItem
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.undo import EditStack


def chain(layers: int) -> Graph:
    """An MLP of ``layers`` Linear + ReLU pairs, laid out left to right (2 × layers + 2 nodes)."""
    c = Composer("long-chain")
    x = c.input("x", [8])
    for i in range(layers):
        x = c.layer("Linear", x, f"fc{i}", out_features=8)
        x = c.layer("ReLU", x, f"act{i}")
    c.output(x, "y")
    graph = c.done(layout=False)
    layered_layout(graph)
    return graph


@pytest.fixture
def view(qtbot):
    bridge = DocumentBridge(Document(chain(600)))
    canvas = GraphView(bridge, SelectionModel(), EditStack(lambda: bridge.document))
    qtbot.addWidget(canvas)
    canvas.resize(900, 600)
    canvas.show()
    qtbot.waitExposed(canvas)
    QApplication.processEvents()
    return canvas


def node_items_in_scene(view: GraphView) -> set[str]:
    return {item.node_id for item in view.graph_scene.items() if isinstance(item, NodeItem) and item.level.editable}


def test_only_the_nodes_in_sight_have_items_and_a_lookup_builds_one(view):
    scene = view.graph_scene
    built = node_items_in_scene(view)
    assert "x" in built and len(scene.nodes) == 1202  # the graph's start is shown; every node is in the mapping
    assert len(built) < 200 and set(scene.nodes.built) == built
    far = "fc599"
    assert far in scene.nodes and far not in scene.nodes.built
    item = scene.nodes[far]  # looked up: built on demand, where the graph puts it
    assert isinstance(item, NodeItem) and item.scene() is scene and far in node_items_in_scene(view)
    assert (item.x(), item.y()) == scene.graph.nodes[far].position
    assert scene.edges[("act599", "x")].src is item  # a wire looked up builds its other end too


def test_scrolling_builds_the_items_that_come_into_sight(view):
    scene = view.graph_scene
    target = "act450"
    assert target not in scene.nodes.built
    x, y = scene.graph.nodes[target].position
    view.centerOn(QPointF(x, y))
    assert target in scene.nodes.built
    wire = scene.edges.built.get(("act450", "x"))
    assert wire is not None and wire.src is scene.nodes.built["fc450"]


def test_the_extent_and_an_overview_cover_the_whole_graph_without_building_it(view):
    scene = view.graph_scene
    last = scene.graph.nodes["y"].position
    assert "y" not in scene.nodes.built
    assert view.content_rect().contains(QPointF(*last))
    assert view.sceneRect().contains(QPointF(*last))
    view.minimap.choice = True
    view.minimap.refit()  # draws every node, built or not
    assert "y" not in scene.nodes.built
    view.fit_whole()
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert seen.contains(QPointF(*scene.graph.nodes["x"].position)) and seen.contains(QPointF(*last))
    for _ in range(40):  # a zoomed-out view of many nodes builds them in idle batches
        QApplication.processEvents()
    assert "y" in scene.nodes.built


def test_an_edit_refreshes_only_the_items_whose_look_changed(view):
    scene = view.graph_scene
    looks = {nid: item.look for nid, item in scene.nodes.built.items()}
    wires = {key: item.look for key, item in scene.edges.built.items()}
    view.edits.push_edit(SetParam("fc2", "out_features", 5))
    changed = {nid for nid, item in scene.nodes.built.items() if item.look is not looks.get(nid)}
    assert changed == {"fc2"}  # its card's parameters; the cards after it show no shapes
    rewired = {key for key, item in scene.edges.built.items() if item.look is not wires.get(key)}
    assert rewired == {("act2", "x"), ("fc3", "x")}  # the wires carrying the new width, labelled anew
    assert "5" in scene.edges[("fc3", "x")].look.text


# -- the main window ---------------------------------------------------------------------------------------
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


def test_a_graph_of_thousands_of_nodes_opens_in_the_window(window, tmp_path: Path, qtbot):
    path = tmp_path / "big.nfg"
    save_graph(chain(1500), path)
    assert window.files.load(path)
    scene = window.view.graph_scene
    qtbot.waitUntil(lambda: window.summary.report() is not None  # the summary is computed in the background
                    and window.summary.report().params == 1500 * (8 * 8 + 8), timeout=60_000)
    assert len(scene.nodes) == 3002 and 0 < len(scene.nodes.built) < 500
    seen = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert seen.contains(QPointF(*scene.graph.nodes["x"].position))  # shown from its input
    window.selection.set(["fc1400"])  # picked elsewhere (the search, the problems list): built and shown
    assert scene.nodes.built["fc1400"].isSelected()


def test_panels_refresh_after_the_canvas_not_inside_the_edit(window, qtbot):
    window.bridge.set_document(Document(chain(4)))
    qtbot.waitUntil(lambda: window.summary.report() is not None and window.summary.report().params == 4 * 72)
    window.edits.push_edit(SetParam("fc0", "out_features", 4))
    assert window.summary.report().params == 4 * 72  # not yet: the edit returned without the panels' work
    QApplication.processEvents()  # the pass that delivers the canvas's repaint: the panels wait for the next
    assert window.summary.report().params == 4 * 72
    qtbot.waitUntil(lambda: window.summary.report().params == 4 * 72 - 36 - 32)


def test_the_code_view_regenerates_only_while_it_is_shown(window, qtbot):
    window.bridge.set_document(Document(chain(3)))
    window.docks.code.raise_()
    qtbot.waitUntil(lambda: "self.fc2 = nn.Linear(8, 8)" in window.code_view.source())
    before = window.code_view.source()
    window.docks.code.hide()  # the Code panel closed
    qtbot.waitUntil(lambda: not window.code_view.isVisible())
    window.edits.push_edit(SetParam("fc2", "out_features", 3))
    for _ in range(5):
        qtbot.wait(60)
    assert window.code_view.source() == before  # nothing regenerated while hidden
    window.docks.code.show()
    window.docks.code.raise_()
    qtbot.waitUntil(lambda: "self.fc2 = nn.Linear(8, 3)" in window.code_view.source())
