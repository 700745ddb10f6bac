"""The main window's dock panels and their default arrangement.

Left: the layer palette. Right: the Inspector above the Summary. Bottom, under the canvas, as tabs: the
generated code, Problems, the undo history, Train and Runs. Every dock has a stable object
name, so the layout the user makes is restored from the saved window state. The window builds its panels and
docks; this module holds the dock pieces and the arrangement. Train and Runs are built on first show
(:class:`LazyPanel`: they bring pyqtgraph, which start-up does not need).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow


@dataclass
class Docks:
    palette: QDockWidget
    inspector: QDockWidget
    summary: QDockWidget
    code: QDockWidget
    problems: QDockWidget
    history: QDockWidget
    train: QDockWidget
    runs: QDockWidget

    def all(self) -> list[QDockWidget]:
        return [self.palette, self.inspector, self.summary, self.code, self.problems, self.history, self.train,
                self.runs]


class LazyPanel(QWidget):
    """Holds a panel that is built the first time it is shown (or when asked for with ``panel()``)."""

    def __init__(self, factory: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._panel: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def panel(self) -> QWidget:
        if self._panel is None:
            self._panel = self._factory()
            self.layout().addWidget(self._panel)
        return self._panel

    @property
    def built(self) -> bool:
        return self._panel is not None

    def showEvent(self, event: QShowEvent) -> None:  # Qt names this method
        super().showEvent(event)
        # Docks are all shown for a moment while the window arranges its tabs; build only if still visible.
        QTimer.singleShot(0, self._build_if_visible)

    def watch(self, dock: QDockWidget) -> None:
        """Build when the dock's tab is brought forward (tabs do not re-show their widgets)."""
        dock.visibilityChanged.connect(lambda visible: visible and QTimer.singleShot(0, self._build_if_visible))

    def _build_if_visible(self) -> None:
        if self.isVisible() and not self.visibleRegion().isEmpty() and self._panel is None:
            self.panel()


def make_dock(window: MainWindow, key: str, title: str, widget: QWidget) -> QDockWidget:
    """A movable, closable, floatable dock holding ``widget``, named so the saved layout finds it again."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock.{key}")  # saveState/restoreState find docks by object name
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


def arrange_default(window: MainWindow, docks: Docks) -> None:
    """The arrangement of a first start (and of View → Panels → Reset Layout)."""
    for dock in docks.all():
        dock.setFloating(False)
        dock.show()
    left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                           Qt.DockWidgetArea.BottomDockWidgetArea)
    # Side panels run the full height; the bottom area sits under the canvas only. Graphs grow left to
    # right, so a wide, shorter canvas shows more of them than a tall, narrow one.
    window.setCorner(Qt.Corner.BottomLeftCorner, left)
    window.setCorner(Qt.Corner.BottomRightCorner, right)
    window.addDockWidget(left, docks.palette)
    window.addDockWidget(right, docks.inspector)
    window.splitDockWidget(docks.inspector, docks.summary, Qt.Orientation.Vertical)
    window.addDockWidget(bottom, docks.code)
    # One tab group under the canvas. Qt 6.12 leaves a stray, visible tab bar when a second tabbed group is
    # formed in the same area, so the bottom panels share one group (Problems counts are in the status bar).
    previous = docks.code
    for dock in (docks.problems, docks.history, docks.train, docks.runs):
        window.tabifyDockWidget(previous, dock)
        previous = dock
    QTimer.singleShot(0, docks.code.raise_)  # after the window has laid out its tab bars
    docks.code.raise_()
    apply_default_sizes(window, docks)


# Default dock sizes, as fractions of the window, so 1280×720 and 1920×1080 both leave the canvas most of the room.
PALETTE_SHARE, PALETTE_MIN, PALETTE_MAX = 0.16, 220, 320  # the minimum fits "Mean Squared Error Loss"
SIDE_SHARE, SIDE_MAX = 0.25, 460  # the Inspector / Summary column
SUMMARY_SHARE = 0.7  # of the right column: the Summary's totals and at least four per-node rows
BOTTOM_SHARE = 0.22  # the Code / Problems / … tabs under the canvas
RESCALE_AT = 0.15  # a window change of more than this (maximising, another screen) rescales the docks


def default_sizes(width: int, height: int) -> dict[str, int]:
    """The default dock sizes (pixels) for a window of ``width`` × ``height``."""
    palette = max(PALETTE_MIN, min(PALETTE_MAX, int(width * PALETTE_SHARE)))
    side = min(SIDE_MAX, int(width * SIDE_SHARE))
    return {"palette": palette, "side": side, "inspector": int(height * (1 - SUMMARY_SHARE)),
            "summary": int(height * SUMMARY_SHARE), "bottom": int(height * BOTTOM_SHARE)}


def apply_default_sizes(window: QMainWindow, docks: Docks) -> None:
    """Default dock sizes for the window's current size."""
    sizes = default_sizes(window.width(), window.height())
    window.resizeDocks([docks.palette, docks.inspector], [sizes["palette"], sizes["side"]],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([docks.inspector, docks.summary], [sizes["inspector"], sizes["summary"]],
                       Qt.Orientation.Vertical)
    window.resizeDocks([docks.code], [sizes["bottom"]], Qt.Orientation.Vertical)


def default_window_size(preferred: tuple[int, int], available: QSize | None) -> tuple[int, int]:
    """The first-start window size: ``preferred``, but never more than 90 % of the screen's free area (a
    window larger than the screen is cut by the window manager after its docks were sized for it)."""
    if available is None or available.isEmpty():
        return preferred
    return min(preferred[0], int(available.width() * 0.9)), min(preferred[1], int(available.height() * 0.9))


def suits_screen(saved_on: tuple[int, int] | None, available: QSize | None) -> bool:
    """Whether a layout saved on a screen of ``saved_on`` (its free area) suits this one: not if either side
    differs by more than a quarter (its dock sizes and window size were made for another screen)."""
    if saved_on is None or available is None or available.isEmpty():
        return True
    here = (available.width(), available.height())
    return all(abs(old - new) <= new / 4 for old, new in zip(saved_on, here, strict=True))


class DockRescaler(QObject):
    """Keeps the docks' share of the window when the window changes size a lot (maximising, restoring,
    moving to another screen): Qt gives all the new room to the canvas, which leaves a maximised window with
    the narrow palette of the small one. Small resizes by hand keep the user's dock sizes untouched."""

    def __init__(self, window: QMainWindow, docks: Docks) -> None:
        super().__init__(window)
        self.window = window
        self.docks = docks
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this method
        if event.type() == QEvent.Type.Resize and watched is self.window and isinstance(event, QResizeEvent):
            old, new = event.oldSize(), event.size()
            if old.isValid() and old.width() > 0 and old.height() > 0 and self.window.isVisible():
                self.rescale(old, new)
        return False

    def rescale(self, old: QSize, new: QSize) -> None:
        fx, fy = new.width() / old.width(), new.height() / old.height()
        if abs(fx - 1) <= RESCALE_AT and abs(fy - 1) <= RESCALE_AT:
            return
        window = self.window
        docked = [d for d in self.docks.all() if d.isVisible() and not d.isFloating()]
        sides = [d for d in docked if window.dockWidgetArea(d) in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                                                    Qt.DockWidgetArea.RightDockWidgetArea)]
        bottoms = [d for d in docked if window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        # The window has not laid out its new size yet: resize after it has.
        widths = [max(1, int(d.width() * fx)) for d in sides]
        heights = [max(1, int(d.height() * fy)) for d in bottoms]
        # bound to the window: a window closed before the timer fires cancels it
        QTimer.singleShot(0, window, lambda: self._apply(sides, widths, bottoms, heights))

    def _apply(self, sides: list[QDockWidget], widths: list[int], bottoms: list[QDockWidget],
               heights: list[int]) -> None:
        layout = self.window.layout()
        if layout is not None:
            layout.activate()  # lay the docks out at the new size first, or that layout undoes these sizes
        if sides:
            self.window.resizeDocks(sides, widths, Qt.Orientation.Horizontal)
        if bottoms:
            self.window.resizeDocks(bottoms, heights, Qt.Orientation.Vertical)
