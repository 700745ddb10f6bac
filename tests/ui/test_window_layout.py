"""The window's default layout leaves room to work at the common screen sizes (offscreen, tests/conftest.py):
a canvas of a usable height, a minimap that does not cover it, palette names that fit, a Summary that shows
several per-node rows; and a maximised or restored window keeps its docks' share."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QRect, QSettings, QSize, Qt
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.canvas import minimap as minimap_module
from neuralforge_desktop.ui.docks import default_window_size, suits_screen
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings

SCREENS = [(1280, 720), (1600, 1000), (1920, 1080)]


@pytest.fixture
def open_at(qtbot, tmp_path, monkeypatch):
    """Opens a window at a given size on a fresh settings file, with a 20-odd-node network loaded."""
    made: list[MainWindow] = []

    def open_window(width: int, height: int, settings_file: Path | None = None) -> MainWindow:
        settings = Settings(QSettings(str(settings_file or tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db",
                            document=Document(zoo.build("mnist-cnn")))
        monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        qtbot.wait(20)  # the deferred default sizes
        made.append(window)
        return window

    yield open_window
    for window in made:
        if shiboken6.isValid(window):
            window.close()
            window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def visible_rows(table) -> int:
    """Whole per-node rows the Summary's table shows without scrolling."""
    view_height = table.viewport().height()
    row = table.rowHeight(0) if table.model().rowCount() else table.verticalHeader().defaultSectionSize()
    return view_height // max(1, row)


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_default_layout_leaves_the_canvas_room_and_every_panel_readable(open_at, width, height):
    window = open_at(width, height)
    viewport = window.view.viewport()
    assert viewport.height() >= 0.45 * height, (viewport.height(), height)
    assert viewport.width() >= 0.45 * width, (viewport.width(), width)

    # Zoomed in so the graph does not fit: the minimap is wanted, and covers little of the canvas. A laptop's
    # canvas has no corner to spare, so there it waits to be switched on from the View menu.
    window.view.scale(3.0, 3.0)
    window.view.minimap.update_visible_rect()
    minimap = window.view.minimap
    toggle = window.commands.by_name["view.minimap"]
    roomy = minimap_module.roomy(viewport.width(), viewport.height())
    assert roomy == (width >= 1600)
    assert minimap.isVisible() == roomy and toggle.isChecked() == roomy
    if not roomy:
        toggle.trigger()
    assert minimap.isVisible() and toggle.isChecked()
    covered = minimap.width() * minimap.height() / (viewport.width() * viewport.height())
    assert covered <= 0.25, covered

    # The widest essential layer name is shown whole in the palette.
    tree = window.palette_panel.tree()
    names = [name for name in window.palette_panel.visible_types() if window.palette_panel.item_for(name)]
    widest = max((window.palette_panel.item_for(n) for n in names),
                 key=lambda item: tree.fontMetrics().horizontalAdvance(item.text(0)))
    rect = tree.visualItemRect(widest)
    text_width = tree.fontMetrics().horizontalAdvance(widest.text(0))
    assert rect.left() + text_width + 8 <= tree.viewport().width(), (widest.text(0), rect, tree.viewport().width())

    table = window.summary.table()
    assert table.model().rowCount() >= 4
    assert visible_rows(table) >= 4, (visible_rows(table), table.viewport().height())


def test_the_minimap_shrinks_with_the_canvas_and_hides_when_it_is_small():
    assert minimap_module.size_for(2000, 1200) == minimap_module.SIZE
    small = minimap_module.size_for(500, 300)
    assert small is not None and small[0] < minimap_module.SIZE[0]
    assert small[0] * small[1] <= 0.25 * 500 * 300
    assert minimap_module.size_for(300, 180) is None


def test_the_minimap_hides_on_a_small_canvas_in_the_window(open_at, qtbot):
    window = open_at(1280, 720)
    window.commands.by_name["view.minimap"].trigger()  # switched on by hand
    window.view.scale(3.0, 3.0)
    window.view.minimap.update_visible_rect()
    assert window.view.minimap.isVisible()
    window.resize(760, 420)  # the docks keep most of it: a small strip of canvas is left
    qtbot.wait(50)
    viewport = window.view.viewport()
    assert viewport.width() * minimap_module.MAX_SHARE < minimap_module.MIN_SIZE[0] or \
        viewport.height() * minimap_module.MAX_SHARE < minimap_module.MIN_SIZE[1], viewport.size()
    assert not window.view.minimap.isVisible()


def node_rects_on_screen(window: MainWindow) -> list[QRect]:
    """Where each node's card is in the canvas widget's coordinates (the minimap's parent's), for those at least
    partly on screen."""
    view = window.view
    viewport = view.viewport()
    rects = [view.mapFromScene(item.sceneBoundingRect()).boundingRect() for item in view.graph_scene.nodes.values()]
    return [r.translated(viewport.pos()) for r in rects if r.intersects(viewport.rect())]


def test_a_template_opened_on_a_laptop_screen_is_not_covered_by_the_minimap(open_at, qtbot, tmp_path):
    window = open_at(1280, 720)
    window.files.new_from_template("vgg11")  # rows down to the canvas's bottom edge, where the minimap sits
    qtbot.wait(20)
    view, minimap = window.view, window.view.minimap
    assert node_rects_on_screen(window)
    assert not view.mapToScene(view.viewport().rect()).boundingRect().contains(view.content_rect())
    covered = [r for r in node_rects_on_screen(window) if minimap.isVisible() and r.intersects(minimap.geometry())]
    assert not covered, f"the minimap at {minimap.geometry()} covers nodes at {covered}"
    toggle = window.commands.by_name["view.minimap"]
    assert not toggle.isChecked()

    toggle.trigger()  # the user asks for it: it comes, on this canvas too, and the choice is kept
    assert minimap.isVisible()
    assert window.settings.minimap is True
    toggle.trigger()
    assert not minimap.isVisible() and window.settings.minimap is False

    window.resize(1920, 1080)  # a big canvas does not overrule a choice the user made
    qtbot.wait(50)
    assert not minimap.isVisible() and not toggle.isChecked()


def test_with_no_choice_made_the_minimap_follows_the_canvas_size(open_at, qtbot):
    window = open_at(1280, 720)
    window.view.scale(3.0, 3.0)  # the graph no longer fits: a minimap would be useful
    window.view.minimap.update_visible_rect()
    toggle = window.commands.by_name["view.minimap"]
    assert not window.view.minimap.isVisible() and not toggle.isChecked()
    window.resize(1920, 1080)

    def shown() -> None:
        assert window.view.minimap.isVisible() and toggle.isChecked()

    qtbot.waitUntil(shown, timeout=2000)
    assert window.settings.minimap is None  # still no choice: a smaller window hides it again


def test_maximising_keeps_the_docks_share_of_the_window(open_at, qtbot):
    window = open_at(1280, 720)
    palette_share = window.docks.palette.width() / window.width()
    window.resize(1920, 1080)

    def keeps_share() -> None:
        assert window.docks.palette.width() / window.width() == pytest.approx(palette_share, abs=0.03)

    qtbot.waitUntil(keeps_share, timeout=2000)
    assert window.docks.palette.width() > 260
    assert window.view.viewport().height() >= 0.45 * 1080


def test_a_layout_saved_on_another_screen_size_is_not_restored_as_is():
    screen = QSize(1280, 720)
    assert default_window_size((1600, 1000), screen) == (1152, 648)
    assert default_window_size((1600, 1000), QSize(2560, 1440)) == (1600, 1000)
    assert suits_screen((1280, 700), screen)
    assert suits_screen(None, screen)  # saved before the screen was recorded
    assert not suits_screen((2560, 1400), screen)  # saved on a 1440p screen
    assert not suits_screen((1366, 740), QSize(3840, 2100))  # saved on a small laptop, opened on 4K


def test_a_layout_saved_on_a_larger_screen_gives_way_to_the_defaults(tmp_path, qtbot):
    ini = tmp_path / "saved.ini"
    screen = QApplication.primaryScreen().availableGeometry().size()
    first = MainWindow(Settings(QSettings(str(ini), QSettings.Format.IniFormat)), recovery_dir=tmp_path / "r",
                       store_path=tmp_path / "store.db")
    first.resize(screen.width() - 40, screen.height() - 40)
    first.show()
    qtbot.waitExposed(first)
    first.resizeDocks([first.docks.palette], [screen.width() // 2], Qt.Orientation.Horizontal)
    first.close()
    first.deleteLater()

    def reopen() -> MainWindow:
        window = MainWindow(Settings(QSettings(str(ini), QSettings.Format.IniFormat)), recovery_dir=tmp_path / "r",
                            store_path=tmp_path / "store.db")
        window.deleteLater()
        return window

    assert not reopen()._default_sizes_pending  # same screen: the user's layout comes back
    saved = QSettings(str(ini), QSettings.Format.IniFormat)
    saved.setValue("window/screen", [screen.width() * 2, screen.height() * 2])  # as if saved on a bigger one
    saved.sync()
    again = reopen()
    assert again._default_sizes_pending  # its dock sizes are dropped for this window's defaults
    assert again.width() <= screen.width() and again.height() <= screen.height()
