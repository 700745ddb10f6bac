"""The main window's dock panels and their default arrangement.

Left: the layer palette. Right: the Inspector above the Summary. Bottom, under the canvas: the generated
code beside Problems and the undo history (tabs). Every dock has a stable object name, so the layout the user makes
is restored from the saved window state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QUndoView, QWidget

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

    def all(self) -> list[QDockWidget]:
        return [self.palette, self.inspector, self.summary, self.code, self.problems, self.history]


def _dock(window: MainWindow, key: str, title: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock.{key}")  # saveState/restoreState find docks by object name
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


def build_docks(window: MainWindow) -> Docks:
    """Create the panels (the window keeps them as attributes) and dock them in the default arrangement."""
    from neuralforge_desktop.ui.panels import CodeView, Inspector, Palette, ProblemsPanel, SummaryPanel

    bridge, selection, edits = window.bridge, window.selection, window.edits
    window.palette = Palette()
    window.inspector = Inspector(bridge, selection, edits)
    window.summary = SummaryPanel(bridge, selection)
    window.code_view = CodeView(bridge, selection)
    window.problems = ProblemsPanel(bridge, selection)
    window.history = QUndoView(edits)
    window.history.setEmptyLabel("<opened>")

    docks = Docks(
        palette=_dock(window, "palette", "Layers", window.palette),
        inspector=_dock(window, "inspector", "Inspector", window.inspector),
        summary=_dock(window, "summary", "Summary", window.summary),
        code=_dock(window, "code", "Code", window.code_view),
        problems=_dock(window, "problems", "Problems", window.problems),
        history=_dock(window, "history", "History", window.history),
    )
    arrange_default(window, docks)
    return docks


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
    # Split before tabbing: a dock that is already a tab can only receive more tabs, not a neighbour.
    window.splitDockWidget(docks.code, docks.problems, Qt.Orientation.Horizontal)
    window.tabifyDockWidget(docks.problems, docks.history)
    docks.problems.raise_()
    apply_default_sizes(window, docks)


def apply_default_sizes(window: MainWindow, docks: Docks) -> None:
    """Default dock sizes for the window's current size (Qt keeps them proportional on resize)."""
    width, height = max(window.width(), 1000), max(window.height(), 700)
    side = min(440, width // 4)
    window.resizeDocks([docks.palette, docks.inspector], [min(240, width // 6), side], Qt.Orientation.Horizontal)
    window.resizeDocks([docks.inspector, docks.summary], [height * 11 // 20, height * 9 // 20],
                       Qt.Orientation.Vertical)
    window.resizeDocks([docks.code], [height // 4], Qt.Orientation.Vertical)
    canvas = width - min(240, width // 6) - side
    window.resizeDocks([docks.code, docks.problems], [canvas * 3 // 5, canvas * 2 // 5], Qt.Orientation.Horizontal)
