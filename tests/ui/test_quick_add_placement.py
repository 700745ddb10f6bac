"""Tab on a selected layer adds the next one downstream of it, wired, clear of every other node: a chain
typed as Tab, name, Enter, again and again, reads left to right without a single overlap."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from neuralforge_desktop.core.edit.canvas_edits import PortRef
from neuralforge_desktop.core.edit.edits import SetParam

from .test_canvas import add_chain, graph_of, make_canvas


@pytest.fixture
def canvas(qtbot):
    return make_canvas(qtbot)


def tab_add(canvas, text: str) -> str:
    """What the user does: Tab on the canvas, type a few letters, Enter. Returns the added node's id."""
    before = set(graph_of(canvas).nodes)
    canvas.view.setFocus()
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    popup = canvas.view._popup
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.field, text)
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    (added,) = set(graph_of(canvas).nodes) - before
    return added


def rects(canvas) -> dict:
    return {nid: item.sceneBoundingRect() for nid, item in canvas.scene.nodes.items()}


def assert_no_overlap(canvas) -> None:
    for (a, ra), (b, rb) in itertools.combinations(rects(canvas).items(), 2):
        assert not ra.intersects(rb), f"{a} overlaps {b}"


def test_three_tab_adds_in_a_row_make_a_wired_chain_downstream_without_overlaps(canvas, qtbot):
    image, linear = add_chain(canvas, ["Input", "Linear"])
    canvas.edits.push_edit(SetParam(image, "shape", [20]))
    canvas.selection.set([linear])
    previous = linear
    for text in ("relu", "linear", "sigmoid"):
        added = tab_add(canvas, text)
        qtbot.wait(10)
        graph = graph_of(canvas)
        assert canvas.selection.current == added
        assert graph.edge_into(added, "x").src == previous  # wired from the node that was selected
        prev_rect, new_rect = rects(canvas)[previous], rects(canvas)[added]
        assert new_rect.left() > prev_rect.right()  # downstream: to its right
        assert abs(new_rect.top() - prev_rect.top()) < 1  # level with it: the chain stays one row
        assert_no_overlap(canvas)
        previous = added
    assert [graph_of(canvas).node(n).type for n in graph_of(canvas).topo_order()] == \
        ["Input", "Linear", "ReLU", "Linear", "Sigmoid"]


def test_tab_inside_a_chain_shifts_what_is_in_the_way_as_one_undo_step(canvas):
    ids = add_chain(canvas, ["Input", "ReLU", "Sigmoid", "Output"])
    image, relu, sigmoid, out = ids
    canvas.edits.push_edit(SetParam(image, "shape", [20]))
    for a, b in zip(ids, ids[1:], strict=False):
        canvas.view.connect_ports(PortRef(a, "y", True), PortRef(b, "x", False))
    assert len(graph_of(canvas).edges) == 3, canvas.messages
    positions = {n: graph_of(canvas).node(n).position for n in ids}
    canvas.selection.set([image])
    steps = canvas.edits.count()
    added = tab_add(canvas, "identity")
    assert canvas.edits.count() == steps + 1
    assert_no_overlap(canvas)
    graph = graph_of(canvas)
    assert graph.edge_into(added, "x").src == image
    # The new node branches off Input: it sits right of Input and below Input's consumer (ReLU).
    assert rects(canvas)[added].left() > rects(canvas)[image].right()
    assert rects(canvas)[added].top() > rects(canvas)[relu].bottom()
    canvas.edits.undo()
    assert added not in graph_of(canvas).nodes
    assert {n: graph_of(canvas).node(n).position for n in ids} == positions


def test_tab_next_to_an_unrelated_node_pushes_it_downstream(canvas):
    image, other = add_chain(canvas, ["Input", "Identity"])  # 240 px apart: the next column is taken
    canvas.selection.set([image])
    before = graph_of(canvas).node(other).position
    added = tab_add(canvas, "relu")
    assert_no_overlap(canvas)
    assert graph_of(canvas).node(other).position[0] > before[0]
    assert rects(canvas)[added].right() < rects(canvas)[other].left()
    assert abs(rects(canvas)[added].top() - rects(canvas)[image].top()) < 1


def test_double_click_quick_add_still_goes_where_the_user_pointed(canvas):
    canvas.selection.set([])
    popup = canvas.view.quick_add(QPointF(600, 300))
    popup.choose("ReLU")
    item = canvas.scene.nodes[canvas.selection.current]
    assert item.sceneBoundingRect().contains(QPointF(600, 300))
