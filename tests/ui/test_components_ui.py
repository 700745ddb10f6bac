"""Components in the editor: the palette section, inserting one as a single undoable Block, dropping one,
and Save as Component on a selected block. Offscreen (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.components import library
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import BLOCK
from neuralforge_desktop.ui.dialogs.save_component import open_save_dialog
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(library, "library_dir", lambda: tmp_path / "library")
    c = Composer("host")
    x = c.input("image", [16, 8, 8])
    c.layer("Conv2d", x, "conv", out_channels=24, kernel_size=3, padding=1)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db",
                   document=Document(c.done()))
    monkeypatch.setattr(w.files, "ask_save_changes", lambda: "discard")
    w.show()
    qtbot.waitExposed(w)
    yield w
    if shiboken6.isValid(w):
        w.close()
        w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_palette_lists_the_builtins(window: MainWindow) -> None:
    section = window.palette_panel.components
    assert {"residual_block", "self_attention", "unet_stage"} <= set(section.names())
    window.palette_panel.set_search_text("excitation")
    assert section.names() == ["squeeze_excitation"]


def test_inserting_from_the_palette_is_one_block_in_one_undo_step(window: MainWindow) -> None:
    graph = window.bridge.document.graph
    window.selection.set(["conv"])
    before, steps = len(graph), window.edits.count()
    window.palette_panel.component_activated.emit("residual_block")
    blocks = [n for n in graph if n.type == BLOCK]
    assert len(graph) == before + 1 and len(blocks) == 1 and window.edits.count() == steps + 1
    block = blocks[0]
    assert graph.edge_into(block.id, "x") is not None  # wired from the selected conv
    # Built for conv's 24 channels: the width follows them, so the skip stays an identity.
    assert block.body is not None and "downsample" not in block.body.nodes
    assert block.body.node("conv2").params["out_channels"] == 24 and "width=24" in block.notes
    assert not infer_shapes(graph).errors
    window.edits.undo()
    assert len(graph) == before and not [n for n in graph if n.type == BLOCK]


def test_squeeze_excitation_gives_back_the_selected_width(window: MainWindow) -> None:
    graph = window.bridge.document.graph
    window.selection.set(["conv"])
    node_id = window.insert_component("squeeze_excitation")
    body = graph.node(node_id).body
    assert body is not None and body.node("excite").params["out_channels"] == 24
    assert not infer_shapes(graph).errors


def test_save_selected_block_as_component(window: MainWindow) -> None:
    window.selection.set(["conv"])
    node_id = window.insert_component("unet_stage")
    dialog = open_save_dialog(window, window.bridge.document.graph, window.bridge.document.shapes, [node_id])
    assert not isinstance(dialog, str)
    dialog.name_edit.setText("my_stage")
    dialog.expose("width", ["conv1.out_channels", "conv2.out_channels"])
    dialog._save()
    assert dialog.saved is not None and dialog.saved.param("width").targets == ("conv1.out_channels",
                                                                                 "conv2.out_channels")
    window.palette_panel.components.reload()
    assert "my_stage" in window.palette_panel.components.names()
    assert open_save_dialog(window, window.bridge.document.graph, None, []) == \
        "select a block or the layers to save as a component"


def test_insert_with_parameters(window: MainWindow) -> None:
    from neuralforge_desktop.ui.dialogs.component_params import ComponentParamsDialog

    dialog = ComponentParamsDialog(library.find_component("residual_block"), window)
    dialog.fields["width"].setText("0")
    dialog._check()
    assert "out_channels" in dialog.error.text() and not dialog.values
    dialog.fields["width"].setText("48")
    dialog._check()
    assert dialog.values["width"] == 48
    window.selection.set(["conv"])
    window.palette_panel.components.insert_requested.emit("residual_block", dialog.values)
    graph = window.bridge.document.graph
    block = next(n for n in graph if n.type == BLOCK)
    assert block.body is not None and block.body.node("downsample").body is not None
    assert block.body.node("conv2").params["out_channels"] == 48 and "width=48" in block.notes
    assert not infer_shapes(graph).errors


def test_save_layers_groups_a_copy_and_checks_names(window: MainWindow) -> None:
    graph = window.bridge.document.graph
    before = list(graph.nodes)
    dialog = open_save_dialog(window, graph, window.bridge.document.shapes, ["conv"])
    assert not isinstance(dialog, str) and list(graph.nodes) == before  # the document is not edited
    dialog.name_edit.setText("conv_only")
    dialog.expose("out channels", ["conv.out_channels"])
    dialog._save()
    assert dialog.saved is None and "parameter name" in dialog.error.text()
    dialog.expose("width", ["conv.out_channels"])
    dialog._save()
    assert dialog.saved is not None and library.find_component("conv_only").param("width").default == 24


def test_dropping_a_component_inserts_it_unwired_where_dropped(window: MainWindow) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDropEvent

    from neuralforge_desktop.ui.panels.components_section import component_mime

    graph = window.bridge.document.graph
    window.selection.set(["conv"])
    steps = window.edits.count()
    mime = component_mime("self_attention")
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)
    block = next(n for n in graph if n.type == BLOCK)
    assert window.edits.count() == steps + 1 and not graph.incoming(block.id)
    assert block.label == "Multi-head self-attention"
