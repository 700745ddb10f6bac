"""View ▸ Lineage…: the lineage of a served prediction drawn as boxes per node and labelled arrows; double-clicking
a run opens it in the Runs dock, a version in the Registry view, a graph in the editor."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from neuralforge_desktop.ui.lineage import LineageView
from neuralforge_desktop.ui.lineage.scene import NodeBox


@pytest.fixture
def window(qtbot: Any, served, tmp_path, monkeypatch):
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    opened = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=served["store"])
    qtbot.addWidget(opened)
    monkeypatch.setattr(opened.files, "ask_save_changes", lambda: "discard")
    return opened


def test_the_view_draws_every_node_and_relation(qtbot: Any, served, fingerprint) -> None:
    view = LineageView(served["store"])
    qtbot.addWidget(view)
    assert view.show_ref(served["prediction"])
    boxes = [i for i in view.canvas.scene().items() if isinstance(i, NodeBox)]
    assert {b.node.id for b in boxes} == set(view.lineage.nodes)
    assert {"prediction", "version", "run", "graph", "dataset", "code"} <= {b.node.kind for b in boxes}
    texts = {i.text() for i in view.canvas.scene().items() if isinstance(i, QGraphicsSimpleTextItem)}
    assert {"served by", "registered from", "quantize-static-int8 of", "trained on"} <= texts
    # left to right: the prediction first, the version next, the dataset beyond the parent run
    x = {node_id: box.pos().x() for node_id, box in view.boxes.items()}
    assert x[f"prediction:{served['prediction']}"] < x["version:digits@2"] < x[f"run:{served['quantised']}"]
    assert x[f"run:{served['run']}"] < x[f"dataset:{fingerprint}"]

    assert not view.show_ref("nothing-like-this")
    assert "NAME@V" in view.message.text()
    assert view.show_ref("mnist-10k", dataset=True)
    assert {"digits@1", "digits@2"} == {n.key for n in view.lineage.of_kind("version")}


def test_double_clicking_nodes_opens_the_run_the_version_and_the_graph(qtbot: Any, window, served) -> None:
    window.commands.by_name["view.lineage"].trigger()
    view = window.lineage_view
    assert view.isVisible() and view.show_ref(served["prediction"])
    run_box = view.boxes[f"run:{served['run']}"]
    point = view.canvas.mapFromScene(run_box.sceneBoundingRect().center())
    with qtbot.waitSignal(view.open_run) as opened:
        QTest.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert opened.args == [served["run"]]
    assert window.runs_panel.selected_run_ids() == [served["run"]]

    view.activate("version:digits@2")
    assert window.registry_view.selected_version().ref == "digits@2"
    window.registry_view.lineage_button.click()  # and back: the selected version's lineage in a new view
    from_registry = window.lineage_view
    assert from_registry is not view and from_registry.lineage.root == "version:digits@2"
    from_registry.close()
    window.registry_view.close()

    graph = next(n for n in view.lineage.of_kind("graph") if n.key == window_graph_key(view, served["run"]))
    view.activate(graph.id)
    assert window.files.document.path is not None and window.files.document.path.name == "graph.nfg"
    view.close()


def window_graph_key(view: LineageView, run_id: str) -> str:
    return next(e.target for e in view.lineage.edges if e.source == f"run:{run_id}" and e.relation == "graph")[6:]
