"""A first visit: the empty canvas says where to start (a template, a file, the tutorial, drag or Tab), and
the tutorial ticks each step of an MNIST classifier as the user builds it."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.edit.edits import Connect, SetParam
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 720)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def click(button) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_empty_canvas_says_where_to_start_until_a_node_exists(window, tmp_path, monkeypatch):
    hint = window.empty_hint
    assert hint.isVisible()
    viewport = window.view.viewport().geometry()
    assert abs(hint.geometry().center().x() - viewport.center().x()) <= 2
    assert abs(hint.geometry().center().y() - viewport.center().y()) <= 2
    assert [b.text() for b in hint.buttons.values()] == ["Start from a template…", "Open a file…", "Take the tutorial"]
    assert "Layers panel" in hint.gestures.text() and "Tab" in hint.gestures.text()

    window.add_layer("ReLU")
    assert not hint.isVisible()
    window.edits.undo()
    assert hint.isVisible()

    monkeypatch.setattr(window.files, "choose_template", lambda: "lenet5")
    click(hint.buttons["template"])
    assert window.bridge.document.graph.meta["zoo"] == "lenet5" and not hint.isVisible()
    path = tmp_path / "lenet.nfg"
    assert window.files.save_as(path)

    assert window.files.new_blank() and hint.isVisible()
    monkeypatch.setattr(window.files, "ask_open_path", lambda: str(path))
    click(hint.buttons["open"])
    assert window.bridge.document.path == path and not hint.isVisible()


def test_the_tutorial_ticks_each_step_as_the_classifier_is_built(window, qtbot):
    click(window.empty_hint.buttons["tutorial"])
    card = window.tutorial
    assert card is not None and card.isVisible() and card.done() == 0
    viewport = window.view.viewport().geometry()
    assert card.geometry().right() <= viewport.right() and card.geometry().top() <= viewport.top() + 20

    def current_how() -> list[str]:
        return [how.text() for _mark, _title, how in card.rows if how.isVisible()]

    assert current_how() == [card.rows[0][2].text()] and "Input" in current_how()[0]
    push = window.edits.push_edit
    image = window.add_layer("Input")
    assert card.done() == 1 and card.rows[0][0].text() == "✓" and card.progress.text() == "Step 2 of 7"
    conv = window.add_layer("Conv2d")
    assert card.done() == 1  # not wired yet
    push(Connect(image, "y", conv, "x"))
    assert card.done() == 2
    previous = conv
    for type_name in ("ReLU", "MaxPool2d", "Flatten"):
        node = window.add_layer(type_name)
        push(Connect(previous, "y", node, "x"))
        previous = node
    assert card.done() == 5
    scores = window.add_layer("Linear")
    push(Connect(previous, "y", scores, "x"))
    logits = window.add_layer("Output")
    push(Connect(scores, "y", logits, "x"))
    assert card.done() == 5  # 128 scores, not ten
    push(SetParam(scores, "out_features", 10))
    assert card.done() == 6 and "Train" in current_how()[0]
    window.edits.undo()
    assert card.done() == 5  # undone: un-ticked
    window.edits.redo()
    window._on_run_started("run-1")  # what the Train panel's run_started signal calls when Start is pressed
    assert card.done() == 7 and card.progress.text().startswith("Done") and current_how() == []

    click(card.close_button)
    qtbot.waitUntil(lambda: window.tutorial is None)
    assert len(window.bridge.document.graph) == 7  # the graph built stays


def test_the_tutorial_starts_on_a_blank_graph(window, monkeypatch):
    window.files.new_from_template("mnist-cnn")
    asked: list[str] = []
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: asked.append("?") or "cancel")
    window.add_layer("ReLU")
    assert window.start_tutorial() is None and window.tutorial is None  # the user kept the graph
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: asked.append("?") or "discard")
    card = window.start_tutorial()
    assert card is not None and len(window.bridge.document.graph) == 0 and asked == ["?", "?"]
    assert window.commands["help.tutorial"].text() == "&First Steps Tutorial"
