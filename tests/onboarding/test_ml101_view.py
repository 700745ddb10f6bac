"""Help ▸ ML 101: each explained example with its picture, plain words, formula and why it matters, and Open on
canvas making it a new graph to edit; and the first start offering the tutorial once."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.ml101 import EXAMPLES
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.onboarding.first_run import offer_first_run
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    yield made
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def nodes_and_edges(graph) -> tuple[dict, list]:
    """The graph without its layout: what each node is and how they are wired."""
    nodes = {node_id: (node.type, dict(node.params)) for node_id, node in graph.nodes.items()}
    return nodes, sorted(str(edge) for edge in graph.edges)


def test_each_example_shows_its_picture_and_texts_and_opens_on_the_canvas(window, qtbot):
    window.commands["help.ml101"].trigger()
    view = window.ml101_view
    assert view.isVisible() and view.list.count() == len(EXAMPLES)
    for row, item in enumerate(EXAMPLES):
        view.list.setCurrentRow(row)
        assert view.title.text() == item.title and item.why == view.why.text()
        assert item.plain[1:] in view.plain.text() and view.plain.text().startswith(item.layer)
        assert not view.formula.pixmap().isNull() and not view.preview.pixmap().isNull()
        graph = item.graph()
        assert view.shapes.text().count("N×") == len(graph) - len(graph.output_nodes)  # one shape per layer

    view.list.setCurrentRow(3)  # the LSTM
    window.add_layer("ReLU")  # something on the canvas already: it is offered for saving (discarded here)
    QTest.mouseClick(view.open_button, Qt.MouseButton.LeftButton)
    document = window.bridge.document
    assert document.path is None and document.shapes.ok
    assert nodes_and_edges(document.graph) == nodes_and_edges(EXAMPLES[3].graph())
    assert "LSTM" in window.statusBar().currentMessage()
    window.edits.undo()  # a new document: nothing to undo into the old one
    assert len(document.graph) == len(EXAMPLES[3].graph())


def test_the_first_start_offers_the_tutorial_once_and_not_over_an_opened_file(window, tmp_path):
    window.files.new_from_template("mnist-cnn")
    assert offer_first_run(window) is None and window.tutorial is None  # a file was opened: not over it
    assert window.settings.tutorial_offered
    window.files.new_blank()
    assert offer_first_run(window) is None  # already offered, once ever
    window.settings.tutorial_offered = False
    card = offer_first_run(window)
    assert card is not None and window.tutorial is card and card.progress.text() == "Step 1 of 7"
    assert window.commands["help.tutorial"].text() == "&First Steps Tutorial"
