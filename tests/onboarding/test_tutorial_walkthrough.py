"""A new user takes the first-steps tutorial in the real main window, offscreen, doing what they would do: the
tutorial comes up on the first start, layers come from the palette (Enter on an entry, as a double-click does)
and from the keyboard (Tab on the canvas), wires through the edit the canvas pushes for a dragged wire,
parameters typed into the Inspector. The card ticks each step, refuses graphs that only look right (and says
why), points at what to use next, lights the shapes along the wires, and the last step starts a real run."""

from __future__ import annotations

import time

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QRect, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.edit.edits import Connect, Disconnect
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.tutorial import STEPS, WATCH
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.onboarding.first_run import offer_first_run
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.reduce_motion = False
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if made.train_host.built:
        made.train_panel.shutdown()
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def from_palette(window: MainWindow, type_name: str) -> str:
    """Pick the layer in the Layers panel and press Enter (a double-click does the same)."""
    tree = window.palette_panel.tree()
    item = window.palette_panel.item_for(type_name)
    assert item is not None and not item.isHidden(), f"{type_name} is not in the palette"
    tree.setCurrentItem(item)
    tree.setFocus()
    QTest.keyClick(tree, Qt.Key.Key_Return)
    node_id = window.selection.current
    assert node_id is not None and window.bridge.document.graph.node(node_id).type == type_name
    return node_id


def tab_add(window: MainWindow, after: str, text: str) -> str:
    """Select ``after``, press Tab on the canvas, type, Enter: the layer comes after it, wired."""
    before = set(window.bridge.document.graph.nodes)
    window.selection.set([after])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view._popup
    assert popup is not None and popup.isVisible()
    QTest.keyClicks(popup.field, text)
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    (added,) = set(window.bridge.document.graph.nodes) - before
    return added


def wire(window: MainWindow, src: str, dst: str) -> None:
    """The edit a wire dragged from ``src``'s output port to ``dst``'s input port pushes."""
    window.edits.push_edit(Connect(src, "y", dst, "x"))


def type_param(window: MainWindow, qtbot, node_id: str, name: str, text: str) -> None:
    """Select the node, type into the Inspector's field for ``name``, press Enter."""
    window.selection.set([node_id])
    qtbot.waitUntil(lambda: window.inspector.node_id() == node_id and name in window.inspector.fields)
    field = window.inspector.fields[name]
    editor = getattr(field, "spin", None) or getattr(field, "line", None)
    editor.setFocus()
    line = editor if hasattr(editor, "selectAll") and not hasattr(editor, "lineEdit") else editor.lineEdit()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)
    window.view.setFocus()


def spotlit(window: MainWindow) -> QRect:
    """Where the tutorial's outline is, in the window's coordinates (empty when hidden)."""
    card = window.tutorial
    card.spotlight.place()
    return card.spotlight.geometry() if card.spotlight.isVisible() else QRect()


def in_window(widget, rect: QRect | None = None) -> QRect:
    """``rect`` of ``widget`` (all of it by default) in its window's coordinates."""
    rect = rect if rect is not None else widget.rect()
    return QRect(widget.mapTo(widget.window(), rect.topLeft()), rect.size())


def palette_rect(window: MainWindow, type_name: str) -> QRect:
    tree = window.palette_panel.tree()
    return in_window(tree.viewport(), tree.visualItemRect(window.palette_panel.item_for(type_name)))


def test_a_new_user_takes_the_tutorial_from_the_first_start_to_a_training_run(window, qtbot, tmp_path):
    started = time.monotonic()
    card = offer_first_run(window)  # what the app does after the first paint of the first start
    assert card is not None and window.tutorial is card and card.isVisible()
    assert window.settings.tutorial_offered and offer_first_run(window) is None  # once ever
    assert "Welcome" in window.statusBar().currentMessage()

    def how() -> str:
        return next(h.text() for _m, _t, h in card.rows if h.isVisible())

    # 1. The input, from the palette; the card points at the palette's Input first.
    assert card.progress.text() == "Step 1 of 7" and "Input" in how()
    assert spotlit(window).contains(palette_rect(window, "Input").center())
    image = from_palette(window, "Input")
    assert card.done() == 1 and card.rows[0][0].text() == "✓"
    # A wrong input size un-ticks it, and the hint says what is wrong and how to fix it.
    type_param(window, qtbot, image, "shape", "3, 32, 32")
    assert card.done() == 0 and card.hint.isVisible()
    assert "N×3×32×32" in card.hint.text() and "1, 28, 28" in card.hint.text()
    type_param(window, qtbot, image, "shape", "1, 28, 28")
    assert card.done() == 1 and not card.hint.isVisible()

    # 2. The convolution, from the keyboard: Tab after the Input wires it too. Shapes light up along the wire.
    assert spotlit(window).contains(palette_rect(window, "Conv2d").center())
    conv = tab_add(window, image, "conv2d")
    assert window.bridge.document.graph.node(conv).type == "Conv2d"
    assert card.done() == 2 and card.flow.running and card.flow.shown[:1] == ["N×1×28×28"]
    qtbot.waitUntil(lambda: not card.flow.running, timeout=5000)
    assert not card.flow.overlays  # the lit copies go; the canvas's own wires and labels stay

    # 3-4. ReLU and pooling from the palette, wired by dragging (the same edit).
    relu = from_palette(window, "ReLU")
    assert card.done() == 2  # placed, not wired
    assert "not wired" in card.hint.text() and f"'{relu}'" in card.hint.text() and f"'{conv}'" in card.hint.text()
    wire(window, conv, relu)
    assert card.done() == 3
    pool = from_palette(window, "MaxPool2d")
    wire(window, relu, pool)
    assert card.done() == 4
    assert card.flow.shown == ["N×1×28×28"] and len(card.flow.edges) == 3  # one wire lit, then the next …
    qtbot.waitUntil(lambda: len(card.flow.shown) == 3, timeout=5000)
    assert card.flow.shown == ["N×1×28×28", "N×32×28×28", "N×32×28×28"]  # … from the input onwards

    # 5. A user who skips the Flatten: the Linear takes the 4-D maps, the step stays open and says why.
    scores = from_palette(window, "Linear")
    wire(window, pool, scores)
    assert card.done() == 4 and "Flatten" in card.hint.text() and "N×32×14×14" in card.hint.text()
    window.edits.push_edit(Disconnect(scores, "x"))
    flatten = from_palette(window, "Flatten")
    wire(window, pool, flatten)
    wire(window, flatten, scores)
    assert card.done() == 5

    # 6. 128 scores are not ten: the hint says so and the outline moves to the Inspector's out_features.
    assert "N×128" in card.hint.text() and "out_features" in card.hint.text()
    window.selection.set([scores])
    qtbot.waitUntil(lambda: "out_features" in window.inspector.fields)
    field = window.inspector.fields["out_features"]
    assert spotlit(window).contains(in_window(field).center())
    type_param(window, qtbot, scores, "out_features", "10")
    assert window.bridge.document.graph.node(scores).params["out_features"] == 10
    assert card.done() == 5 and not card.hint.isVisible()  # the Output is still missing
    assert spotlit(window).contains(palette_rect(window, "Output").center())
    logits = from_palette(window, "Output")
    wire(window, scores, logits)
    assert card.done() == 6 and card.progress.text() == "Step 7 of 7" and "Start" in how()

    # 7. Train: the card's button opens the Train panel on MNIST; a short real run starts from Start.
    assert card.train_button.isVisible()
    QTest.mouseClick(card.train_button, Qt.MouseButton.LeftButton)
    panel = window.train_panel
    assert window.docks.train.isVisible() and panel.dataset.dataset() == "mnist-10k"
    qtbot.waitUntil(panel.start_button.isVisible)
    assert spotlit(window).contains(in_window(panel.start_button).center())
    panel.epochs.setValue(1)
    panel.limit.setValue(256)
    panel.diagnostics.setCurrentText("off")
    for _attempt in range(2):  # a first Start may only show the pre-flight notes; the second trains
        QTest.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        if panel.state != "idle":
            break
    assert panel.state != "idle", panel.message.text()
    assert card.done() == len(STEPS) and card.progress.text().startswith("Done")
    assert card.hint.text() == WATCH  # the card now points at the live curves
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=60_000)
    run = Store(tmp_path / "store.db").get_run(panel.run_id)
    assert run.status == "finished", (run.status, panel.last_error)
    assert panel.curves.isVisible() and spotlit(window).intersects(in_window(panel.curves))
    assert time.monotonic() - started < 60


def test_undoing_a_step_unticks_it_and_reduced_motion_shows_the_shapes_without_moving(window, qtbot):
    window.settings.reduce_motion = True
    card = window.start_tutorial()
    assert card is not None and card.flow.reduce_motion and card.spotlight.reduce_motion
    image = from_palette(window, "Input")
    conv = from_palette(window, "Conv2d")
    wire(window, image, conv)
    assert card.done() == 2
    assert card.flow.animation.state() != card.flow.animation.State.Running  # no movement
    assert card.flow.shown == ["N×1×28×28"] and len(card.flow.overlays) == 1 and card.flow.running
    assert card.spotlight.pulse.state() != card.spotlight.pulse.State.Running
    qtbot.waitUntil(lambda: not card.flow.overlays, timeout=5000)  # gone after a moment
    window.edits.undo()
    assert card.done() == 1 and card.progress.text() == "Step 2 of 7"


def test_a_new_document_in_the_middle_of_the_shapes_wave_stops_it_cleanly(window, qtbot):
    card = window.start_tutorial()
    ids = [from_palette(window, t) for t in ("Input", "Conv2d", "ReLU")]
    wire(window, ids[0], ids[1])
    wire(window, ids[1], ids[2])
    assert card.flow.running and card.flow.overlays
    window.files.new_from_template("tabular-mlp")  # the canvas is rebuilt under the wave
    assert not card.flow.running and not card.flow.overlays and card.done() == 0
    qtbot.wait(400)  # the animation's timer would have fired by now
    assert window.tutorial is card and card.isVisible()
