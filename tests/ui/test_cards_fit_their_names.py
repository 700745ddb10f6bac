"""Node cards grow to fit their names, on the canvas and in figures: a long name is drawn whole (up to a sensible
width, past which it is cut short and the tooltip has it), layouts place the cards at the sizes they are drawn
so none overlap, a figure of BERT names every node in full, and a figure leaves out the free ports that are only
editing chrome (a loss's unused output)."""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import RenameNode, SetNodeText, SetParam
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas import GraphView
from neuralforge_desktop.ui.canvas.card_text import MAX_WIDTH, WIDTH
from neuralforge_desktop.ui.canvas.export import MARGIN, ExportOptions, diagram_scene, export_graph, render_scene
from neuralforge_desktop.ui.canvas.node_item import PORT_Y
from neuralforge_desktop.ui.canvas.port_item import PORT_RADIUS
from neuralforge_desktop.ui.canvas.scene import GraphScene
from neuralforge_desktop.ui.undo import EditStack

from .readability import drawn_text

LONG_NAME = "position_embeddings_projection"  # 30 letters: far wider than a bare card
TOO_LONG = "a_name_so_long_that_no_reasonable_card_could_ever_hold_it_whole"


@pytest.fixture
def canvas(qtbot):
    bridge = DocumentBridge(Document(zoo.build("mnist-cnn")))
    edits = EditStack(lambda: bridge.document)
    view = GraphView(bridge, SelectionModel(), edits)
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    view.show()
    qtbot.waitExposed(view)
    return SimpleNamespace(view=view, bridge=bridge, edits=edits, scene=view.graph_scene)


def cards(scene: GraphScene) -> dict[str, QRectF]:
    """Each node's card as drawn, in scene coordinates."""
    return {nid: QRectF(item.scenePos(), QPointF(item.x() + item.look.width, item.y() + item.look.height))
            for nid, item in scene.nodes.items()}


def overlapping(scene: GraphScene) -> list[tuple[str, str]]:
    return [(a, b) for (a, ra), (b, rb) in itertools.combinations(cards(scene).items(), 2) if ra.intersects(rb)]


def test_a_long_name_is_drawn_whole_and_the_card_grows_to_hold_it(canvas):
    canvas.edits.push_edit(RenameNode("fc1", LONG_NAME))
    item = canvas.scene.nodes[LONG_NAME]
    assert item.look.title == LONG_NAME  # nothing cut short ("…")
    assert WIDTH < item.look.width <= MAX_WIDTH
    text = drawn_text(canvas.view)
    assert f">{LONG_NAME}<" in text  # what the canvas paints at this zoom, read back
    assert item.ports[("y", True)].scenePos().x() == pytest.approx(item.x() + item.look.width)  # ports follow

    canvas.edits.undo()  # the short name back: the card shrinks back
    assert canvas.scene.nodes["fc1"].look.width == WIDTH


def test_past_the_widest_card_a_name_is_cut_short_and_the_tooltip_has_it(canvas):
    canvas.edits.push_edit(SetNodeText("fc1", "label", TOO_LONG))
    item = canvas.scene.nodes["fc1"]
    assert item.look.width == MAX_WIDTH
    assert item.look.title.endswith("…") and TOO_LONG.startswith(item.look.title[:-1])
    assert TOO_LONG in item.toolTip()


def test_a_long_summary_widens_the_card_instead_of_being_cut(canvas):
    canvas.edits.push_edit(SetParam("label", "shape", [1024, 1024, 16, 3]))  # as the inspector sets it
    item = canvas.scene.nodes["label"]
    assert "1024×1024×16×3" in item.look.summary and "…" not in item.look.summary
    assert item.look.summary_row and item.look.width > WIDTH


@pytest.mark.parametrize("orientation", ["wrapped", "horizontal", "vertical"])
def test_laid_out_cards_never_overlap_at_the_sizes_they_are_drawn(qapp, orientation):
    graph = zoo.build("bert-base")
    graph.nodes["cls"].label = LONG_NAME  # wider still than BERT's own long names
    scene = diagram_scene(graph, ExportOptions(layout=orientation))
    assert scene.nodes["cls"].look.title == LONG_NAME
    assert max(item.look.width for item in scene.nodes.values()) > WIDTH  # some cards did grow
    assert not overlapping(scene)


def test_auto_layout_on_the_canvas_makes_room_for_a_renamed_node(canvas):
    for nid in ("conv1", "relu1", "pool1"):  # one column apart: wide cards would run into their neighbours
        canvas.edits.push_edit(SetNodeText(nid, "label", f"{nid}_{LONG_NAME}"))
    canvas.view.auto_layout()
    assert not overlapping(canvas.scene)


def test_a_figure_of_bert_names_every_node_in_full(qapp, tmp_path):
    graph = zoo.build("bert-base")
    diagram = export_graph(graph, tmp_path / "bert.svg", ExportOptions(layout="wrapped"))
    text = html.unescape(Path(diagram.path).read_text("utf-8"))
    for node in graph:
        assert f">{node.display_name}<" in text, f"{node.display_name!r} is not written whole in the figure"
    assert "…" not in text


def ring_pixel(image: QImage, scene: GraphScene, point: QPointF, scale: float) -> QColor:
    """The colour where a port's ring is drawn (on its right edge), in a figure rendered from ``scene``."""
    source = scene.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    x = (point.x() + PORT_RADIUS - source.left()) * scale
    y = (point.y() - source.top()) * scale
    return image.pixelColor(round(x), round(y))


def test_a_figure_leaves_out_the_loss_output_nothing_reads(qapp, tmp_path):
    scale = 4.0
    options = ExportOptions(scale=scale, background="white")
    scene = diagram_scene(zoo.build("resnet18"), options)
    loss = scene.nodes["loss"]
    free_output = loss.mapToScene(QPointF(loss.look.width, PORT_Y))
    fed_input = loss.port_scene_pos("input", False)
    assert not dict(((n, c) for n, _, c in loss.look.outs))["loss"]  # nothing reads the loss's output
    render_scene(scene, tmp_path / "figure.png", options)
    image = QImage(str(tmp_path / "figure.png"))
    assert ring_pixel(image, scene, fed_input, scale).name() != "#ffffff"  # a connected port is drawn …
    assert ring_pixel(image, scene, free_output, scale).name() == "#ffffff"  # … the free output is not

    on_canvas = diagram_scene(zoo.build("resnet18"), options)  # the same card on the canvas (not exporting)
    picture = QImage(image.size(), QImage.Format.Format_ARGB32)
    picture.fill(QColor("#ffffff"))
    painter = QPainter(picture)
    source = on_canvas.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    on_canvas.render(painter, QRectF(0, 0, picture.width(), picture.height()), source)
    painter.end()
    item = on_canvas.nodes["loss"]
    assert ring_pixel(picture, on_canvas, item.mapToScene(QPointF(item.look.width, PORT_Y)),
                      scale).name() != "#ffffff"  # where a wire can start from, the editor shows the ring
