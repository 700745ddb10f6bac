"""File ▸ New from Template: the gallery opens at once, then draws each template's graph and works out its
numbers (the selected one first) and keeps them, so it opens with everything the next time."""

from __future__ import annotations

import time

import pytest
from PySide6.QtGui import QImage

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.dialogs import gallery as gallery_module
from neuralforge_desktop.ui.dialogs.gallery import THUMB, GalleryDialog, format_params


@pytest.fixture
def fresh_caches(monkeypatch):
    monkeypatch.setattr(gallery_module, "_previews", {})
    monkeypatch.setattr(gallery_module, "_summaries", {})


def colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)})


def test_the_gallery_opens_at_once_and_fills_in_previews_and_numbers(qtbot, fresh_caches):
    started = time.perf_counter()
    dialog = GalleryDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    opened = time.perf_counter() - started
    names = [entry.name for entry in zoo.list_models()]
    assert dialog.pending()[0] == "mnist-cnn" and sorted(dialog.pending()) == sorted(names)  # nothing drawn yet
    assert opened < 2.0, f"the gallery took {opened:.2f} s to open"
    qtbot.waitUntil(lambda: not dialog.pending(), timeout=30_000)

    for item in (dialog.tree.topLevelItem(i).child(j) for i in range(dialog.tree.topLevelItemCount())
                 for j in range(dialog.tree.topLevelItem(i).childCount())):
        name = item.data(0, gallery_module._NAME_ROLE)
        thumb = item.icon(0).pixmap(THUMB).toImage()
        assert colours(thumb) > 6, f"{name}: no drawing in its thumbnail"
        counted = Document(zoo.build(name)).cost().params  # what the Summary panel says once it is open
        assert item.text(1) == format_params(counted)

    dialog.select("mnist-cnn")
    document = Document(zoo.build("mnist-cnn"))
    facts = dialog.facts_text()
    assert facts["Parameters"] == f"{document.cost().params:,}  ({format_params(document.cost().params)})"
    assert facts["Input"] == f"image {document.shapes.spec('image')}"
    assert facts["Output"] == f"logits {document.shapes.edge_spec(document.graph.incoming('logits')['x'])}"
    assert facts["MACs"].endswith("per sample")
    assert colours(dialog.preview.pixmap().toImage()) > 20  # the graph drawn large beside the list
    assert dialog.title.text() == "MNIST CNN" and dialog.details.text() == zoo.get_model("mnist-cnn").description

    dialog.select("gpt2-small")  # symbolic sizes: the MACs say which length they assume
    assert "(at T = " in dialog.facts_text()["MACs"]

    again = GalleryDialog()  # the same session: everything is ready when it opens
    qtbot.addWidget(again)
    assert again.pending() == [] and again.facts_text() == {
        "Parameters": facts["Parameters"], "MACs": facts["MACs"], "Input": facts["Input"],
        "Output": facts["Output"]}
