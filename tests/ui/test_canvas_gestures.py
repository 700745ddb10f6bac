"""Canvas navigation and the smaller gestures: wheel zoom around the cursor, panning, Tab and double-click,
rubber-band selection, resizing a backdrop, renaming under a selection."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from .test_canvas import add_chain, build_mnist, drag, graph_of, make_canvas, wire


@pytest.fixture
def canvas(qtbot):
    return make_canvas(qtbot)


def test_wheel_zooms_around_the_cursor_and_middle_or_space_drag_pans(canvas):
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    add_chain(canvas, ["Input", "ReLU", "Output"])
    view = canvas.view
    view.set_zoom(1.0)
    cursor = QPoint(400, 300)
    under = view.mapToScene(cursor)
    wheel = QWheelEvent(QPointF(cursor), QPointF(view.viewport().mapToGlobal(cursor)), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom == pytest.approx(1.0015 ** 240, rel=1e-3)
    after = view.mapToScene(cursor)
    assert abs(after.x() - under.x()) < 2 and abs(after.y() - under.y()) < 2  # the point under the cursor stays
    before = view.mapToScene(view.viewport().rect().center())
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(500, 500))
    QTest.mouseMove(viewport, QPoint(400, 450))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 450))
    moved = view.mapToScene(view.viewport().rect().center()) - before
    assert moved.x() * view.zoom == pytest.approx(100, abs=2) and moved.y() * view.zoom == pytest.approx(50, abs=2)
    steps = canvas.edits.count()
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(canvas, QPoint(500, 500), QPoint(560, 500))  # space + left drag pans instead of selecting
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert (view.mapToScene(view.viewport().rect().center()) - before).x() * view.zoom == pytest.approx(40, abs=3)
    assert canvas.edits.count() == steps
    view.zoom_in()
    view.zoom_out()
    assert view.zoom == pytest.approx(1.0015 ** 240, rel=1e-3)


def test_tab_and_double_click_open_quick_add_and_double_click_opens_a_block(canvas, qtbot):
    canvas.view.setFocus()
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    assert canvas.view._popup is not None and canvas.view._popup.isVisible()
    canvas.view._popup.close()
    canvas.view.set_zoom(1.0)
    QTest.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      QPoint(300, 300))
    popup = canvas.view._popup
    assert popup.isVisible()
    popup.choose("Identity")
    added = canvas.selection.current
    assert graph_of(canvas).node(added).type == "Identity"
    assert canvas.scene.nodes[added].sceneBoundingRect().contains(canvas.view.mapToScene(QPoint(300, 300)))
    canvas.selection.set([added])
    block = canvas.view.group_selection()
    center = canvas.view.mapFromScene(canvas.scene.nodes[block].sceneBoundingRect().center())
    QTest.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, center)
    assert canvas.scene.nodes[block].expanded


def test_rubber_band_selects_what_it_touches(canvas):
    ids = add_chain(canvas, ["Input", "ReLU", "Output"])
    canvas.view.set_zoom(1.0)
    canvas.view.centerOn(QPointF(300, 23))
    items = canvas.scene.nodes
    start = canvas.view.mapFromScene(items[ids[0]].scenePos() + QPointF(20, -40))
    end = canvas.view.mapFromScene(items[ids[1]].scenePos() + QPointF(30, 80))
    drag(canvas, start, end)
    assert set(canvas.selection.ids) == set(ids[:2])


def test_backdrop_corner_grip_resizes(canvas):
    ids = add_chain(canvas, ["Input", "ReLU"])
    canvas.selection.set(ids)
    backdrop_id = canvas.view.add_backdrop()
    canvas.view.set_zoom(1.0)
    item = canvas.scene.backdrops[backdrop_id]
    canvas.view.centerOn(item.scene_rect().bottomRight())
    x, y, w, h = graph_of(canvas).meta["backdrops"][0]["rect"]
    grip = canvas.view.mapFromScene(item.scene_rect().bottomRight() - QPointF(5, 5))
    drag(canvas, grip, grip + QPoint(60, 40))
    assert graph_of(canvas).meta["backdrops"][0]["rect"] == pytest.approx([x, y, w + 60, h + 40], abs=1.0)
    assert graph_of(canvas).node(ids[0]).position == (0.0, 0.0)  # resizing moves no node


def test_rename_keeps_the_item_and_the_selection(canvas):
    from neuralforge_desktop.core.edit.edits import RenameNode

    ids = build_mnist(canvas)
    item = canvas.scene.nodes[ids[1]]
    canvas.selection.set([ids[1]])
    canvas.edits.push_edit(RenameNode(ids[1], "features"))
    assert canvas.scene.nodes["features"] is item and item.isSelected()
    assert canvas.selection.ids == ["features"]
    assert wire(canvas, ids[2]).edge.src == "features" and wire(canvas, "features").edge.dst == "features"
    assert "N×1×28×28" in item.ports[("x", False)].toolTip()
