"""Edit ▸ New Custom Layer: the template layer is checked, saved and listed in the palette under Custom at once;
code that fails its check is reported in the dialog and nothing is added."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.catalog import user_layers
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.dialogs.custom_layer import TEMPLATES
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    made = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(),
                      store_path=tmp_path / "store.db")
    monkeypatch.setattr(made.files, "ask_save_changes", lambda: "discard")
    made.resize(1200, 760)
    made.show()
    qtbot.waitExposed(made)
    yield made
    for manifest in user_layers.manifests():
        user_layers.remove(manifest.name, catalog())
    if shiboken6.isValid(made):
        made.close()
        made.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_the_dialog_adds_a_layer_to_the_palette(qtbot, window) -> None:
    window.commands.by_name["edit.custom_layer"].trigger()
    dialog = window.custom_layer_dialog
    assert dialog.name.text() == "ScaledResidual" and "channels=16" in dialog.init.text()
    assert dialog.editor.font().styleHint() == QFont.StyleHint.Monospace
    assert dialog.add(), dialog.status.text()
    assert (user_layers.default_layers_dir() / "ScaledResidual.py").is_file()
    palette = window.palette_panel
    assert "ScaledResidual" in palette.visible_types()
    item = palette.item_for("ScaledResidual")
    assert item is not None and item.parent().text(0) == "Custom" and item.text(0).endswith("· yours")
    node = window.add_layer("ScaledResidual")
    assert window.bridge.document.graph.node(node).type == "ScaledResidual"


def test_a_template_loss_is_added_too(qtbot, window) -> None:
    dialog = window.new_custom_layer()
    dialog.template.setCurrentText("Loss (nn.Module class)")
    assert dialog.name.text() == "FocalLoss"
    assert dialog.add(), dialog.status.text()
    assert catalog().get("FocalLoss").is_loss


def test_code_that_fails_is_reported_and_not_added(qtbot, window) -> None:
    dialog = window.new_custom_layer()
    source, _, _ = TEMPLATES["Layer (nn.Module)"]
    dialog.editor.setPlainText(source.replace("return x + ", "return undefined_name + "))
    assert not dialog.add()
    assert "undefined_name" in dialog.status.text() and dialog.isVisible()
    assert "ScaledResidual" not in catalog()
    dialog.editor.setPlainText("def broken(:\n")
    dialog.name.setText("broken")
    assert not dialog.add() and "SyntaxError" in dialog.status.text()
