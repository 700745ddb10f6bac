"""The card editor: typing in a section re-renders the preview after a short pause, Save writes the sections to
the store, Export… writes the file; the Registry view opens it for the selected version."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("PySide6")

from neuralforge_desktop.core import cards
from neuralforge_desktop.ui.cards.editor import CardEditor
from neuralforge_desktop.ui.registry import RegistryView


def test_the_preview_follows_typing_and_save_writes_the_card(qtbot: Any, registered, store, tmp_path) -> None:
    editor = CardEditor(registered["store"], "mnist@1")
    qtbot.addWidget(editor)
    assert "Model card for mnist@1" in editor.preview.toPlainText()  # at once, before the facts are gathered
    assert not editor.save()  # nothing to save with yet
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=60_000)  # the facts arrived from the thread
    assert "Parameters: 421,642" in editor.preview.toPlainText()
    assert editor.status.text() == "Required fields still empty: intended_use, limitations, ethical_considerations"

    before = editor.previews
    editor.boxes["intended_use"].setPlainText("Reading digits in scanned forms.")
    editor.boxes["limitations"].insertPlainText("Only 26 validation digits.")
    assert editor.previews == before  # debounced: not yet
    qtbot.waitUntil(lambda: "Reading digits in scanned forms." in editor.preview.toPlainText(), timeout=5000)
    assert editor.previews == before + 1 and "Only 26 validation digits." in editor.preview.toPlainText()
    assert editor.status.text() == "Required fields still empty: ethical_considerations"

    assert cards.get_card(store, "mnist@1") is None  # nothing is written until Save
    assert editor.save()
    saved = cards.get_card(store, "mnist@1")
    assert saved.fields["intended_use"] == "Reading digits in scanned forms."
    assert saved.fields["limitations"] == "Only 26 validation digits."

    html = editor.export(tmp_path / "card.html")
    assert html is not None and "Reading digits in scanned forms." in html.read_text(encoding="utf-8")
    assert editor.export(tmp_path / "card.md").read_text(encoding="utf-8").startswith("---\n")


def test_the_registry_view_opens_the_card_of_the_selected_version(qtbot: Any, registered) -> None:
    view = RegistryView(registered["store"])
    qtbot.addWidget(view)
    view.refresh()
    assert view.card_button.isEnabled()
    editor = view.open_card()
    qtbot.addWidget(editor)
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=60_000)
    assert editor.ref == "mnist@1" and editor.windowTitle() == "Model Card — mnist@1"
    editor.boxes["ethical_considerations"].setPlainText("A person reviews every misread form.")
    assert editor.save() and "saved the model card of mnist@1" in view.status.text()
