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

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

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


def apply_default_sizes(window: MainWindow, docks: Docks) -> None:
    """Default dock sizes for the window's current size (Qt keeps them proportional on resize)."""
    width, height = max(window.width(), 1000), max(window.height(), 700)
    side = min(440, width // 4)
    window.resizeDocks([docks.palette, docks.inspector], [min(240, width // 6), side], Qt.Orientation.Horizontal)
    window.resizeDocks([docks.inspector, docks.summary], [height * 11 // 20, height * 9 // 20],
                       Qt.Orientation.Vertical)
    window.resizeDocks([docks.code], [height // 4], Qt.Orientation.Vertical)
