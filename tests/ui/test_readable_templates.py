"""Templates and files open readable: in a 1600×1000 window every zoo template opens laid out for the canvas,
at a zoom where node names and wire shapes are drawn (at least 60 %), whole. A long file opens readable from its
inputs instead of shrunk to a strip; Auto Layout wraps it and fits it again; the layout direction is a
remembered choice; zoomed far out, nodes still show their names."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QRectF, QSettings, QSizeF
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.cli.zoo_cmd import new_from_template
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.ui.canvas.view import READABLE_ZOOM
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

from .readability import drawn_text, visible_scene_rect

TEMPLATES = [entry.name for entry in zoo.list_models()]


def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        QApplication.processEvents()


def make_window(folder: Path) -> MainWindow:
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=folder / "recovery", store_path=folder / "store.db")
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.resize(1600, 1000)
    window.show()
    settle()
    return window


def close(window: MainWindow) -> None:
    if shiboken6.isValid(window):
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    made = make_window(tmp_path_factory.mktemp("readable"))
    yield made
    close(made)


@pytest.fixture
def fresh_window(qapp, tmp_path):
    made = make_window(tmp_path)
    yield made
    close(made)


def assert_names_and_shapes_drawn(window: MainWindow) -> None:
    """Every node on screen shows its name, every wire on screen its shape, in what the canvas paints now."""
    view, scene = window.view, window.view.graph_scene
    text = drawn_text(view)
    seen = visible_scene_rect(view)
    on_screen = [n for n, item in scene.nodes.items() if seen.contains(item.sceneBoundingRect())]
    assert on_screen
    for node_id in on_screen:
        title = scene.nodes[node_id].look.title
        assert f">{title}<" in text, f"{node_id}'s name {title!r} is not drawn at {view.zoom:.0%}"
    for edge in scene.edges.values():
        if seen.contains(edge.label.sceneBoundingRect()):
            assert edge.label.text, f"the wire into {edge.key} shows no shape"
            assert f">{edge.label.text}<" in text, f"shape {edge.label.text!r} is not drawn at {view.zoom:.0%}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_opens_readable_and_whole(window, name):
    window.files.new_from_template(name)
    settle()
    view = window.view
    assert view.zoom >= READABLE_ZOOM, f"{name} opens at {view.zoom:.0%}"
    seen = visible_scene_rect(view)
    hidden = [n for n, item in view.graph_scene.nodes.items() if not seen.contains(item.sceneBoundingRect())]
    assert not hidden, f"{name} at {view.zoom:.0%}: {hidden} are off screen"
    assert_names_and_shapes_drawn(window)
    positions = [item.sceneBoundingRect() for item in view.graph_scene.nodes.values()]
    assert not any(a.intersects(b) for a, b in itertools.combinations(positions, 2))
    assert not window.bridge.document.dirty  # laid out as it opened: nothing to save or undo
    assert not window.edits.canUndo()


def test_a_long_file_opens_readable_from_its_inputs_and_auto_layout_wraps_and_refits(fresh_window, tmp_path):
    graph = zoo.build("vgg11")  # saved as written in code: one row, 7,000 px long
    save_graph(graph, tmp_path / "vgg.nfg")
    window = fresh_window
    assert window.files.open(tmp_path / "vgg.nfg")
    settle()
    view, scene = window.view, window.view.graph_scene
    assert view.zoom == pytest.approx(READABLE_ZOOM)  # not shrunk to a strip: readable, the rest a scroll away
    seen = visible_scene_rect(view)
    assert seen.contains(scene.nodes["image"].sceneBoundingRect())  # it starts where the data comes in
    assert not seen.contains(scene.nodes["loss"].sceneBoundingRect())
    assert_names_and_shapes_drawn(window)

    window.commands["view.auto_layout"].trigger()
    assert window.edits.count() == 1  # one undo step
    assert view.zoom >= READABLE_ZOOM
    seen = visible_scene_rect(view)
    assert all(seen.contains(item.sceneBoundingRect()) for item in scene.nodes.values())  # re-fitted: all of it
    assert_names_and_shapes_drawn(window)
    window.edits.undo()
    assert window.bridge.document.graph.nodes["loss"].position == graph.nodes["loss"].position


def test_the_layout_direction_is_a_remembered_choice(fresh_window, tmp_path):
    window = fresh_window
    window.files.new_from_template("resnet18")
    settle()
    window.commands["view.layout.vertical"].trigger()
    graph = window.bridge.document.graph
    assert all(graph.nodes[e.src].position[1] < graph.nodes[e.dst].position[1] for e in graph.edges)
    assert window.view.zoom >= READABLE_ZOOM and window.edits.count() == 1
    assert window.settings.layout_direction == "vertical"
    window.selection.set(["avgpool"])
    window.view.quick_add().choose("Dropout")  # Tab: the next layer goes below, in the flow's direction
    added = window.selection.current
    assert added != "avgpool" and graph.nodes[added].position[1] > graph.nodes["avgpool"].position[1]
    window.settings.sync()
    close(window)
    again = make_window(tmp_path)
    try:
        assert again.commands["view.layout.vertical"].isChecked()
        again.files.new_from_template("mnist-cnn")
        settle()
        graph = again.bridge.document.graph
        assert all(graph.nodes[e.src].position[1] < graph.nodes[e.dst].position[1] for e in graph.edges)
        assert again.view.zoom >= READABLE_ZOOM
    finally:
        close(again)


def test_zoomed_far_out_nodes_still_show_their_names(window):
    window.files.new_from_template("vgg11")
    settle()
    window.view.set_zoom(0.25)
    text = drawn_text(window.view)
    seen = visible_scene_rect(window.view)
    scene = window.view.graph_scene
    names = [scene.nodes[n].level.node(n).display_name for n, item in scene.nodes.items()
             if seen.contains(item.sceneBoundingRect())]
    assert len(names) == len(scene.nodes)
    drawn = [name for name in names if f">{name}<" in text]
    assert len(drawn) == len(names), sorted(set(names) - set(drawn))
    window.commands["view.fit_whole"].trigger()
    assert window.view.zoom <= 1.0


def test_opening_a_block_in_wrapped_rows_leaves_rows_above_and_clears_the_rest(window):
    window.files.new_from_template("resnet18")
    settle()
    scene = window.view.graph_scene
    before = {nid: item.pos() for nid, item in scene.nodes.items()}
    row = before["layer1"].y()
    assert before["image"].y() < row < before["flatten"].y()  # wrapped: layer1 starts the second row
    window.view.toggle_block_collapsed("layer1")
    after = {nid: item.pos() for nid, item in scene.nodes.items()}
    assert all(after[n] == before[n] for n in before if before[n].y() < row - 60)  # the first row stays
    assert after["layer2"].x() > before["layer2"].x() and after["layer2"].y() == before["layer2"].y()
    assert after["flatten"].y() >= before["flatten"].y()
    boxes = {nid: QRectF(item.pos(), QSizeF(item.look.width, item.look.height)) for nid, item in scene.nodes.items()}
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not box_a.intersects(box_b), f"{a} and {b} overlap once layer1 is open"
    window.view.toggle_block_collapsed("layer1")
    assert {nid: item.pos() for nid, item in scene.nodes.items()} == before


def test_files_made_by_neuralforge_new_open_readable_and_whole(window, tmp_path, capsys):
    for name in TEMPLATES:
        path = tmp_path / f"{name}.nfg"
        new_from_template(name, path)
        assert window.files.open(path)
        settle()
        view = window.view
        seen = visible_scene_rect(view)
        assert view.zoom >= READABLE_ZOOM, f"{name}.nfg opens at {view.zoom:.0%}"
        assert all(seen.contains(item.sceneBoundingRect()) for item in view.graph_scene.nodes.values()), name
    graph = new_from_template("resnet18", tmp_path / "tall.nfg", layout="vertical")
    assert all(graph.nodes[e.src].position[1] < graph.nodes[e.dst].position[1] for e in graph.edges)
    assert "wrote" in capsys.readouterr().out
