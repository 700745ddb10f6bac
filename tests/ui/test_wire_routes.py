"""Wires go around cards, not over them: in a wrapped layout a skip connection running forward to a lower row (a
U-Net's encoder feeding its decoder) drops beside its source and runs along the gap above the row it enters,
instead of cutting diagonally across the rows between; wires turning back to a row's start keep their lane."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QRectF, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.canvas.export import ExportOptions, diagram_scene
from neuralforge_desktop.ui.canvas.scene import GraphScene
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings


def cards_crossed(scene: GraphScene) -> list[tuple[str, str, str]]:
    """(source, destination, card) for every wire that passes over a card other than its own two ends."""
    cards = {nid: QRectF(item.x(), item.y(), item.look.width, item.look.height).adjusted(2.0, 2.0, -2.0, -2.0)
             for nid, item in scene.nodes.items()}
    crossed = []
    for wire in scene.edges.values():
        path = wire.path()
        points = [path.pointAtPercent(i / 400.0) for i in range(401)]
        for nid, card in cards.items():
            if nid not in (wire.edge.src, wire.edge.dst) and any(card.contains(p) for p in points):
                crossed.append((wire.edge.src, wire.edge.dst, nid))
    return crossed


@pytest.fixture
def laptop_window(qtbot, tmp_path: Path):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db",
                        document=Document())
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(20)
    yield window
    if shiboken6.isValid(window):
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_unet_skip_wires_stay_off_the_cards_when_the_template_opens_on_a_laptop(laptop_window):
    laptop_window.files.new_from_template("unet-small")  # wrapped to this canvas: the skips span rows
    scene = laptop_window.view.graph_scene
    assert not cards_crossed(scene)
    skip = next(w for w in scene.edges.values() if (w.edge.src, w.edge.dst) == ("enc1", "cat1"))
    src, dst = scene.nodes["enc1"], scene.nodes["cat1"]
    assert dst.y() > src.y() + src.look.height + 70.0  # cat1 is rows below enc1 …
    assert dst.x() > src.x() + src.look.width  # … and further right: the wire runs forward and down
    assert skip.laned and skip.label.text  # along a lane, its shape written on it


@pytest.mark.parametrize("orientation", ["wrapped", "horizontal", "vertical"])
def test_no_wire_of_a_unet_figure_runs_over_a_card(qapp, orientation):
    scene = diagram_scene(zoo.build("unet-small"), ExportOptions(layout=orientation))
    assert not cards_crossed(scene)
