"""Concept Mode as a reader uses it: every layer's formula typeset from its catalog entry, cards that show the
whole description and formula (never cut with "…") and never cover each other, shape labels still on every
wire, and the inspector explaining the selected layer in full."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.catalog.mathtext import to_plain
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import MoveNodes
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas.node_item import CONCEPT_MAX, TEXT_X
from neuralforge_desktop.ui.formula import layout
from neuralforge_desktop.ui.panels import Inspector
from neuralforge_desktop.ui.undo import EditStack

from .test_canvas import make_canvas


def card_rects(canvas) -> dict[str, QRectF]:
    return {nid: QRectF(item.x(), item.y(), item.look.width, item.look.height)
            for nid, item in canvas.scene.nodes.items()}


def overlapping(rects: dict[str, QRectF]) -> list[tuple[str, str]]:
    return [(a, b) for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2) if ra.intersects(rb)]


@pytest.mark.parametrize("layer", list(catalog()), ids=lambda layer: layer.type)
def test_every_catalog_formula_typesets(qtbot, layer):
    shape = layout(layer.math, 14.0, CONCEPT_MAX - TEXT_X - 10.0)
    assert shape.valid, f"{layer.type}: {layer.math!r} did not parse"
    assert shape.width <= CONCEPT_MAX - TEXT_X - 10.0 + 0.5 and shape.height > 10.0
    assert shape.ops and shape.plain == to_plain(layer.math)


def test_cards_show_all_their_words_and_formula_and_never_overlap(qtbot):
    canvas = make_canvas(qtbot)
    types = [layer.type for layer in catalog() if layer.type not in ("Block",)]
    for i, type_name in enumerate(types):  # a grid as tight as normal cards allow
        canvas.view.add_layer(type_name, QPointF(220.0 * (i % 8), 110.0 * (i // 8)))
    canvas.view.set_concept_mode(True)
    for nid, item in canvas.scene.nodes.items():
        look = item.look
        layer = catalog().get(canvas.bridge.document.graph.node(nid).type)
        assert " ".join(look.concept) == layer.description, f"{nid}: description cut or changed"
        assert not any("…" in line for line in look.concept)
        assert look.formula is not None and look.formula.valid
        assert look.formula.width <= look.width - TEXT_X - 10.0 + 0.5, f"{nid}: formula wider than its card"
        assert look.math == (to_plain(layer.math),)
    assert overlapping(card_rects(canvas)) == []
    canvas.view.set_concept_mode(False)
    for nid, item in canvas.scene.nodes.items():  # view state only: back where the graph has them
        assert (item.x(), item.y()) == tuple(canvas.bridge.document.graph.node(nid).position)
    assert canvas.edits.count() == len(types)  # one step per added layer: Concept Mode pushed no edit


@pytest.mark.parametrize("template", ["mnist-cnn", "resnet18"])
def test_wires_keep_their_shape_labels_in_concept_mode(qtbot, template):
    canvas = make_canvas(qtbot, zoo.build(template))
    canvas.view.set_zoom(1.0)
    shown = {key: edge.label.text for key, edge in canvas.scene.edges.items()}
    assert all(shown.values())
    canvas.view.set_concept_mode(True)
    canvas.view.set_zoom(1.0)
    assert canvas.scene.labels_visible
    for key, edge in canvas.scene.edges.items():
        assert edge.label.isVisible(), key
        # The full shape, or the shape without its batch "N×" where a wire is short: never nothing.
        assert edge.label.text in (shown[key], shown[key].removeprefix("N×")) and edge.label.text, key
    assert overlapping(card_rects(canvas)) == []


def test_moving_a_card_in_concept_mode_moves_the_graph_node_by_as_much(qtbot):
    canvas = make_canvas(qtbot, zoo.build("mnist-cnn"))
    canvas.view.set_concept_mode(True)
    item = canvas.scene.nodes["relu1"]
    before = canvas.bridge.document.graph.node("relu1").position
    item.setPos(item.x() + 40.0, item.y() + 20.0)
    edit = canvas.scene.geometry_edit()
    assert isinstance(edit, MoveNodes) and edit.positions == {"relu1": (before[0] + 40.0, before[1] + 20.0)}


def test_the_inspector_explains_the_selected_layer_in_full(qtbot):
    bridge = DocumentBridge(Document(zoo.build("mnist-cnn")))
    selection = SelectionModel()
    inspector = Inspector(bridge, selection, EditStack(lambda: bridge.document))
    qtbot.addWidget(inspector)
    inspector.resize(380, 800)
    inspector.show()
    qtbot.waitExposed(inspector)
    assert inspector.explanation is None  # nothing selected: the placeholder
    selection.set(["conv1"])
    conv = catalog().get("Conv2d")
    explanation = inspector.explanation
    assert explanation is not None
    words, formula, help_text, shapes = explanation.texts()
    assert (words, formula, help_text) == (conv.description, to_plain(conv.math), conv.help)
    assert shapes == "Here: x N×1×28×28 → y N×32×28×28"
    view = explanation.formula
    assert view is not None and view.isVisible() and view.height() >= view.heightForWidth(view.width()) - 1
    picture = view.grab().toImage()
    inked = {picture.pixel(x, y) for x in range(0, picture.width(), 2) for y in range(picture.height())}
    assert len(inked) > 8  # typeset glyphs, not an empty strip
    background = QColor(picture.pixel(picture.width() - 1, 0))
    assert any(abs(QColor(p).lightness() - background.lightness()) > 80 for p in inked)  # ink that reads

    inspector.findChild(type(inspector.fields["out_channels"].editor))  # the form is still there
    selection.set(["relu1"])
    words, formula, *_rest = inspector.explanation.texts()
    assert (words, formula) == (catalog().get("ReLU").description, "y = max(0, x)")
    assert inspector.explanation.texts()[-1] == "Here: x N×32×28×28 → y N×32×28×28"
