"""The graph canvas, driven the way a user drives it: layers added from the palette, wires dragged between
ports with the mouse, parameters set as the inspector sets them; then the canvas must show the right shapes,
refuse what is illegal and say why, colour broken wires, and undo back to nothing."""

from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtTest import QTest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.level import ERROR, MISSING, OK, WARNING
from neuralforge_desktop.core.edit.canvas_edits import PortRef
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.edit.edits import MoveNodes, SetParam
from neuralforge_desktop.core.ir.serialize import graph_to_dict
from neuralforge_desktop.ui.bridge import LAYER_MIME, DocumentBridge, SelectionModel
from neuralforge_desktop.ui.canvas import GraphView, Minimap
from neuralforge_desktop.ui.canvas.edge_item import WireItem
from neuralforge_desktop.ui.canvas.export import ExportOptions
from neuralforge_desktop.ui.undo import EditStack

CHAIN = ["Input", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Output"]
SCREENSHOT = os.path.join(tempfile.gettempdir(), "neuralforge_canvas_mnist.png")  # for a person to look at


@pytest.fixture
def canvas(qtbot):
    return make_canvas(qtbot)


def make_canvas(qtbot, graph=None) -> SimpleNamespace:
    bridge = DocumentBridge(Document(graph))
    selection = SelectionModel()
    edits = EditStack(lambda: bridge.document)
    view = GraphView(bridge, selection, edits)
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    view.show()
    qtbot.waitExposed(view)
    messages: list[str] = []
    view.status_message.connect(messages.append)
    return SimpleNamespace(view=view, bridge=bridge, selection=selection, edits=edits, messages=messages,
                           scene=view.graph_scene)


def graph_of(c: SimpleNamespace):
    return c.bridge.document.graph


def port_point(c: SimpleNamespace, node_id: str, port: str, output: bool) -> QPoint:
    return c.view.mapFromScene(c.scene.nodes[node_id].port_scene_pos(port, output))


def drag(c: SimpleNamespace, start: QPoint, end: QPoint) -> None:
    viewport = c.view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def drag_wire(c: SimpleNamespace, src: str, src_port: str, dst: str, dst_port: str) -> None:
    drag(c, port_point(c, src, src_port, True), port_point(c, dst, dst_port, False))


def add_chain(c: SimpleNamespace, types: list[str], y: float = 23.0) -> list[str]:
    """Palette double-clicks: one layer per column, 240 px apart."""
    return [c.view.add_layer(t, QPointF(75.0 + 240.0 * i, y)) for i, t in enumerate(types)]


def build_mnist(c: SimpleNamespace) -> list[str]:
    ids = add_chain(c, CHAIN)
    image, conv, relu, pool, flatten, linear, logits = ids
    for node, name, value in ((conv, "out_channels", 32), (conv, "kernel_size", 3), (conv, "padding", 1),
                              (pool, "kernel_size", 2), (linear, "out_features", 10)):
        c.edits.push_edit(SetParam(node, name, value))  # as the inspector does
    c.view.fit_all()
    for a, b in zip(ids, ids[1:], strict=False):
        drag_wire(c, a, "y", b, "x")
    return ids


def wire(c: SimpleNamespace, dst: str, port: str = "x"):
    return c.scene.edges[(dst, port)]


# -- building the MNIST CNN ------------------------------------------------------------------------------
def test_user_builds_mnist_with_mouse_and_sees_every_shape(canvas, qtbot):
    ids = build_mnist(canvas)
    image, conv, relu, pool, flatten, linear, logits = ids
    graph = graph_of(canvas)
    assert [str(e) for e in graph.edges] == [f"{a}.y → {b}.x" for a, b in zip(ids, ids[1:], strict=False)]
    expected = {conv: "N×1×28×28", relu: "N×32×28×28", pool: "N×32×28×28", flatten: "N×32×14×14",
                linear: "N×6272", logits: "N×10"}
    canvas.view.set_zoom(1.0)
    for dst, shape in expected.items():
        edge = wire(canvas, dst)
        assert edge.look.text == shape and edge.look.state == OK
        assert edge.label.text == shape  # 90 px between columns: the whole shape fits at 100 %
        assert shape in edge.toolTip()
    assert not canvas.messages, canvas.messages
    # Node text: the id, the type and a parameter summary ("32 · 3×3" for the convolution).
    assert canvas.scene.nodes[conv].display_lines()[:3] == [conv, "Conv2d", "32 · 3×3"]
    assert canvas.scene.nodes[linear].display_lines()[:3] == [linear, "Linear", "→ 10"]
    # Selection follows the last added node and syncs both ways.
    canvas.selection.set([conv, relu])
    assert {i.node_id for i in canvas.scene.selectedItems()} == {conv, relu}
    canvas.scene.clearSelection()
    assert canvas.selection.ids == []
    canvas.view.fit_all()
    canvas.view.grab().save(SCREENSHOT)  # grab() renders the scene synchronously

    # Undo everything, back to an empty canvas; redo rebuilds the same graph.
    built = graph_to_dict(graph)
    steps = canvas.edits.index()
    while canvas.edits.canUndo():
        canvas.edits.undo()
    assert len(graph_of(canvas)) == 0 and not canvas.scene.nodes and not canvas.scene.edges
    for _ in range(steps):
        canvas.edits.redo()
    assert graph_to_dict(graph_of(canvas)) == built
    assert set(canvas.scene.nodes) == set(graph_of(canvas).nodes) and len(canvas.scene.edges) == 6
    assert wire(canvas, flatten).look.text == "N×32×14×14"


def test_a_cycle_is_refused_with_the_reason_and_a_red_flash(canvas, qtbot):
    ids = build_mnist(canvas)
    before = graph_to_dict(graph_of(canvas))
    drag_wire(canvas, ids[5], "y", ids[1], "x")  # linear → conv2d: a loop
    assert graph_to_dict(graph_of(canvas)) == before
    assert "cycle" in canvas.messages[-1]
    flashes = [i for i in canvas.scene.items() if isinstance(i, WireItem)]
    assert flashes and flashes[0].pen().color() == canvas.scene.style.theme.edge_error
    qtbot.waitUntil(lambda: not any(isinstance(i, WireItem) for i in canvas.scene.items()), timeout=2000)


def test_output_to_output_is_refused_and_drop_on_a_fed_input_replaces_the_wire(canvas):
    image, conv, relu, other = add_chain(canvas, ["Input", "Conv2d", "ReLU", "Input"])
    assert not canvas.view.connect_ports(PortRef(image, "y", True), PortRef(conv, "y", True))
    assert "two outputs" in canvas.messages[-1]
    drag_wire(canvas, image, "y", conv, "x")
    drag_wire(canvas, conv, "y", relu, "x")
    count = canvas.edits.count()
    drag_wire(canvas, other, "y", conv, "x")  # conv.x is fed by image: replace, one undo step
    assert graph_of(canvas).edge_into(conv, "x").src == other
    assert canvas.edits.count() == count + 1
    canvas.edits.undo()
    assert graph_of(canvas).edge_into(conv, "x").src == image
    # Dragging from an input back to an output connects too.
    drag(canvas, port_point(canvas, relu, "x", False), port_point(canvas, other, "y", True))
    assert graph_of(canvas).edge_into(relu, "x").src == other


def test_rank_error_turns_that_wire_red_with_the_message(canvas):
    image, flatten, conv, relu = add_chain(canvas, ["Input", "Flatten", "Conv2d", "ReLU"])
    for a, b in ((image, flatten), (flatten, conv), (conv, relu)):
        drag_wire(canvas, a, "y", b, "x")
    bad = wire(canvas, conv)
    assert bad.look.state == ERROR
    assert "rank" in bad.toolTip() and "Conv2d" in bad.toolTip()
    assert bad.pen().color() == canvas.scene.style.theme.edge_error
    assert canvas.scene.nodes[conv].look.errors and "rank" in canvas.scene.nodes[conv].toolTip()
    assert wire(canvas, relu).look.state == MISSING  # nothing reaches past the error
    assert wire(canvas, flatten).look.state == OK
    # Fixing it (Conv2d directly after the image) turns the wire back to normal, incrementally.
    canvas.edits.undo()  # conv → relu
    canvas.edits.undo()  # flatten → conv
    drag_wire(canvas, image, "y", conv, "x")
    assert canvas.scene.edges[(conv, "x")].look.state == OK


def test_lint_warnings_colour_the_consumers_wire_amber(canvas, qtbot):
    image, linear, softmax, loss = add_chain(canvas, ["Input", "Linear", "Softmax", "CrossEntropyLoss"])
    label = canvas.view.add_layer("Input", QPointF(75.0, 160.0))
    canvas.edits.push_edit(SetParam(image, "shape", [20]))
    canvas.edits.push_edit(SetParam(label, "shape", []))
    canvas.edits.push_edit(SetParam(label, "dtype", "int64"))
    for a, b, port in ((image, linear, "x"), (linear, softmax, "x"), (softmax, loss, "input"), (label, loss, "target")):
        assert canvas.view.connect_ports(PortRef(a, "y", True), PortRef(b, port, False))
    # The warning belongs to the Softmax ("feeds CrossEntropyLoss …"): the wire into it turns amber, once
    # the (debounced, whole-graph) lint has run; the Softmax node carries the message too.
    into_softmax = canvas.scene.edges[(softmax, "x")]
    qtbot.waitUntil(lambda: into_softmax.look.state == WARNING, timeout=2000)
    assert "log-softmax" in into_softmax.toolTip()
    assert into_softmax.pen().color() == canvas.scene.style.theme.edge_warning
    assert canvas.scene.nodes[softmax].look.warnings
    assert canvas.scene.edges[(linear, "x")].look.state == OK


# -- structure edits -------------------------------------------------------------------------------------
def test_group_and_expand_blocks(canvas):
    ids = build_mnist(canvas)
    conv, relu = ids[1], ids[2]
    canvas.selection.set([conv, relu])
    block = canvas.view.group_selection()
    graph = graph_of(canvas)
    assert block == "block" and graph.node(block).type == "Block" and canvas.selection.ids == [block]
    assert wire(canvas, ids[3], "x").look.text == "N×32×28×28"  # the block's output feeds the pool
    assert canvas.scene.nodes[block].look.repeat == 1
    inlined = canvas.view.expand_selected_block()
    assert set(inlined) == {conv, relu} and block not in graph_of(canvas).nodes
    canvas.selection.set([ids[3], ids[4]])
    assert canvas.view.group_selection() == "block"  # the name is free again
    canvas.selection.set([ids[5]])
    assert canvas.view.group_selection() == "block_1"
    canvas.edits.push_edit(SetParam("block_1", "repeat", 2))
    canvas.selection.set(["block_1"])
    assert canvas.view.expand_selected_block() == []
    assert "repeats its body 2×" in canvas.messages[-1]
    canvas.selection.set([ids[0]])
    assert canvas.view.group_selection() == "" and "graph input" in canvas.messages[-1]


def test_showing_a_block_body_is_view_state_only(qtbot):
    c = make_canvas(qtbot, zoo.build("resnet18"))
    graph, revision, steps = graph_of(c), graph_of(c).revision, c.edits.count()
    layer1, layer2 = c.scene.nodes["layer1"], c.scene.nodes["layer2"]
    assert layer1.look.block and not layer1.expanded and layer1.look.repeat == 1
    assert c.view.toggle_block_collapsed("layer1")
    assert layer1.expanded and set(layer1.body_nodes) == {"x", "blocks", "y"}
    assert layer1.body_nodes["blocks"].look.repeat == 2  # the nested block shows "×2"
    assert layer2.x() > graph.node("layer2").position[0]  # pushed right to make room
    assert c.view.toggle_block_collapsed("layer1/blocks")
    assert "conv1" in layer1.body_nodes["blocks"].body_nodes
    assert graph.revision == revision and c.edits.count() == steps
    # Moving a pushed node records its graph position, not the shifted one.
    x, y = graph.node("layer3").position
    c.view.set_zoom(1.0)
    c.view.centerOn(c.scene.nodes["layer3"].scenePos())
    drag(c, c.view.mapFromScene(c.scene.nodes["layer3"].scenePos() + QPointF(30, 10)),
         c.view.mapFromScene(c.scene.nodes["layer3"].scenePos() + QPointF(30, 70)))
    assert graph.node("layer3").position == pytest.approx((x, y + 60), abs=1.0)
    assert not c.view.toggle_block_collapsed("layer1")
    assert not layer1.expanded and layer2.x() == graph.node("layer2").position[0]
    assert not c.view.toggle_block_collapsed("conv1") and "not a block" in c.messages[-1]


def test_copy_paste_and_duplicate_make_fresh_ids_in_one_step(canvas):
    ids = build_mnist(canvas)
    conv, relu = ids[1], ids[2]
    canvas.selection.set([conv, relu])
    text = canvas.view.copy_selection()
    steps = canvas.edits.count()
    pasted = canvas.view.paste(text)
    graph = graph_of(canvas)
    assert pasted == ["conv2d_1", "relu_1"] and canvas.edits.count() == steps + 1
    assert graph.edge_into("relu_1", "x").src == "conv2d_1" and graph.node("conv2d_1").params["out_channels"] == 32
    assert graph.node("conv2d_1").position[0] == graph.node(conv).position[0] + 40
    assert canvas.selection.ids == pasted
    again = canvas.view.duplicate_selection()
    assert again == ["conv2d_2", "relu_2"]
    canvas.edits.undo()
    canvas.edits.undo()
    assert "conv2d_1" not in graph_of(canvas).nodes
    assert canvas.view.paste("not json") == [] and "clipboard" in canvas.messages[-1]


def test_delete_selection_and_wires(canvas):
    ids = build_mnist(canvas)
    canvas.selection.set([ids[2]])
    canvas.view.delete_selection()
    assert ids[2] not in graph_of(canvas).nodes and (ids[3], "x") not in canvas.scene.edges
    canvas.edits.undo()
    assert (ids[3], "x") in canvas.scene.edges
    # Click a wire to pick it, then Delete.
    edge = wire(canvas, ids[4])
    point = canvas.view.mapFromScene(edge.path().pointAtPercent(0.25))
    QTest.mouseClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert edge.marked
    canvas.view.delete_selection()
    assert graph_of(canvas).edge_into(ids[4], "x") is None


def test_moving_nodes_by_mouse_is_one_move_edit_and_snaps(canvas):
    a, b = add_chain(canvas, ["Input", "ReLU"])
    canvas.view.set_zoom(1.0)
    canvas.view.set_snap_to_grid(True)
    item = canvas.scene.nodes[b]
    start = canvas.view.mapFromScene(item.scenePos() + QPointF(60, 30))
    drag(canvas, start, start + QPoint(53, 31))
    x, y = graph_of(canvas).node(b).position
    assert (x % 20, y % 20) == (0, 0) and (x, y) != (315.0 - 75.0, 0.0)
    assert isinstance(canvas.edits.command(canvas.edits.count() - 1).edit, MoveNodes)
    canvas.edits.undo()
    assert item.pos() == QPointF(*graph_of(canvas).node(b).position)


def test_auto_layout_is_one_move_left_to_right(canvas):
    ids = add_chain(canvas, ["Input", "Linear", "ReLU", "Output"])
    for a, b in zip(ids, ids[1:], strict=False):
        canvas.view.connect_ports(PortRef(a, "y", True), PortRef(b, "x", False))
    canvas.edits.push_edit(MoveNodes({ids[1]: (900.0, 400.0), ids[3]: (-300.0, 50.0)}))
    steps = canvas.edits.count()
    canvas.view.auto_layout()
    assert canvas.edits.count() == steps + 1
    xs = [graph_of(canvas).node(n).position[0] for n in ids]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_backdrop_around_selection_moves_with_its_nodes_and_renames(canvas):
    ids = build_mnist(canvas)
    canvas.selection.set(ids[1:3])
    backdrop_id = canvas.view.add_backdrop("Features")
    record = graph_of(canvas).meta["backdrops"][0]
    assert record["id"] == backdrop_id and record["title"] == "Features" and len(record["rect"]) == 4
    item = canvas.scene.backdrops[backdrop_id]
    canvas.view.set_zoom(1.0)
    canvas.view.centerOn(item.scene_rect().center())
    title = canvas.view.mapFromScene(item.scene_rect().topLeft() + QPointF(60, 12))
    before = graph_of(canvas).node(ids[1]).position
    drag(canvas, title, title + QPoint(0, 100))
    assert graph_of(canvas).meta["backdrops"][0]["rect"][1] == pytest.approx(record["rect"][1] + 100)
    assert graph_of(canvas).node(ids[1]).position[1] == pytest.approx(before[1] + 100)
    canvas.edits.undo()
    assert graph_of(canvas).node(ids[1]).position == before
    editor = canvas.scene.backdrops[backdrop_id].edit_title()  # what a double-click on the title opens
    editor.setPlainText("Conv stack")
    canvas.view.setFocus()
    QTest.keyClick(canvas.view.viewport(), Qt.Key.Key_Return)
    assert graph_of(canvas).meta["backdrops"][0]["title"] == "Conv stack"


def test_quick_add_connects_from_the_selected_node_when_legal(canvas):
    image, linear = add_chain(canvas, ["Input", "Linear"])
    canvas.edits.push_edit(SetParam(image, "shape", [20]))
    canvas.view.connect_ports(PortRef(image, "y", True), PortRef(linear, "x", False))
    canvas.selection.set([linear])
    popup = canvas.view.quick_add(QPointF(600, 23))
    QTest.keyClicks(popup.field, "relu")
    assert popup.matches()[0] == "ReLU"
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    added = canvas.selection.current
    assert graph_of(canvas).node(added).type == "ReLU" and graph_of(canvas).edge_into(added, "x").src == linear
    popup = canvas.view.quick_add(QPointF(900, 23))
    popup.choose("Conv2d")  # rank 2 into a Conv2d: added, but not wired, and the status says why
    conv = canvas.selection.current
    assert graph_of(canvas).edge_into(conv, "x") is None and "expects rank" in canvas.messages[-1]


def test_drop_from_the_palette_adds_at_the_drop_point(canvas):
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNorm2d")
    point = QPointF(300, 200)
    event = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    canvas.view.dropEvent(event)
    node = graph_of(canvas).node(canvas.selection.current)
    assert node.type == "BatchNorm2d"
    assert canvas.scene.nodes[node.id].sceneBoundingRect().contains(canvas.view.mapToScene(point.toPoint()))


def test_export_png_svg_pdf(canvas, tmp_path):
    build_mnist(canvas)
    as_drawn = ExportOptions(layout="canvas", background="theme")
    for suffix in ("png", "svg", "pdf"):
        canvas.view.export_image(str(tmp_path / f"mnist.{suffix}"), as_drawn)
    png = QImage(str(tmp_path / "mnist.png"))
    drawn = canvas.scene.itemsBoundingRect()
    assert png.width() == round((drawn.width() + 48) * 2) and png.height() == round((drawn.height() + 48) * 2)
    assert len({png.pixel(x, png.height() // 2) for x in range(0, png.width(), 7)}) > 20  # not a blank picture
    svg = (tmp_path / "mnist.svg").read_text()
    assert "<svg" in svg and "conv2d" in svg and (tmp_path / "mnist.svg").stat().st_size > 5000
    pdf = (tmp_path / "mnist.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    canvas.view.export_image(str(tmp_path / "white.png"), ExportOptions(background="white"))
    assert QColor(QImage(str(tmp_path / "white.png")).pixel(2, 2)) == QColor("#ffffff")
    with pytest.raises(ValueError):
        canvas.view.export_image(str(tmp_path / "mnist.txt"))


def test_concept_mode_shows_plain_words_and_the_formula(canvas):
    linear = canvas.view.add_layer("Linear", QPointF(100, 100))
    item = canvas.scene.nodes[linear]
    height = item.look.height
    canvas.view.set_concept_mode(True)
    lines = item.display_lines()
    assert "matrix multiply + bias" in lines and "y = xWᵀ + b" in lines  # the typeset formula, as text
    assert item.look.height > height
    canvas.view.set_concept_mode(False)
    assert "matrix multiply + bias" not in item.display_lines()


def test_theme_switch_and_unknown_theme(canvas):
    canvas.view.set_theme("light")
    assert canvas.scene.style.theme.name == "light"
    canvas.view.set_theme("dark")
    with pytest.raises(ValueError):
        canvas.view.set_theme("neon")


def test_param_edit_refreshes_only_the_changed_nodes(canvas, monkeypatch):
    ids = build_mnist(canvas)
    from neuralforge_desktop.ui.canvas import node_item

    refreshed: list[str] = []
    original = node_item.NodeItem.refresh

    def spy(self, force=False):
        refreshed.append(self.node_id)
        return original(self, force)

    monkeypatch.setattr(node_item.NodeItem, "refresh", spy)
    canvas.edits.push_edit(SetParam(ids[5], "out_features", 12))
    assert set(refreshed) == {ids[5], ids[6]}  # the Linear and the Output it feeds
    refreshed.clear()
    added = canvas.view.add_layer("ReLU", QPointF(2000, 400))
    assert refreshed == [added]  # the new item's own first look; nothing else is touched


def test_replacing_the_document_rebuilds_and_the_minimap_navigates(qtbot):
    c = make_canvas(qtbot)
    c.bridge.set_document(Document(zoo.build("resnet18")))
    assert set(c.scene.nodes) == set(graph_of(c).nodes) and len(c.scene.edges) == len(graph_of(c).edges)
    c.view.set_zoom(1.0)
    c.view.centerOn(QPointF(0, 0))
    minimap = c.view.minimap
    assert isinstance(minimap, Minimap)
    minimap.update_visible_rect()
    assert minimap.isVisible()  # the graph does not fit at 100 %
    target = minimap._to_map.map(QPointF(2000, 60))
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target.toPoint())
    center = c.view.mapToScene(c.view.viewport().rect().center())
    assert abs(center.x() - 2000) < 30
    c.view.fit_whole()  # the whole graph on screen: nothing for the minimap to show
    assert not minimap.isVisible()
