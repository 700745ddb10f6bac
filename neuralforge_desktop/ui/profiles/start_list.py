"""The profile's start list, in the empty canvas's "where to start" card: what this kind of user opens first.

Each entry triggers a menu action by name (or, for ``view.dock.*``, brings that dock forward). An entry whose
action this build lacks uses its fallback, or is left out. The card's own "Take the tutorial" button shows only
when the profile offers the tutorial, and its template button only when the list does not already offer the
gallery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from neuralforge_desktop.core.team.profiles import Profile, StartItem

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

WIDE = 420  # the card's width with a start list (its labels are longer than the three default buttons')
DOCK_PREFIX = "view.dock."


def resolve(window: MainWindow, item: StartItem) -> str | None:
    """The action name this entry triggers in ``window`` (its own, else its fallback), or None."""
    for name in (item.action, item.fallback):
        if not name:
            continue
        if name.startswith(DOCK_PREFIX) and hasattr(window.docks, name[len(DOCK_PREFIX):]):
            return name
        if name in window.commands.by_name:
            return name
    return None


def run_entry(window: MainWindow, name: str) -> None:
    if name.startswith(DOCK_PREFIX):  # the dock's toggle would hide a shown dock: show and raise it instead
        key = name[len(DOCK_PREFIX):]
        shower = {"runs": window.show_runs, "train": window.show_training}.get(key)
        if shower is not None:
            shower()
        else:
            dock = getattr(window.docks, key)
            dock.show()
            dock.raise_()
        return
    window.commands[name].trigger()


class StartList(QWidget):
    """The profile's entries as buttons, in order, under a heading naming the profile."""

    def __init__(self, window: MainWindow, profile: Profile) -> None:
        super().__init__()
        self.setObjectName("ProfileStartList")
        self.profile = profile
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 4)
        box.setSpacing(6)
        self.caption = QLabel(f"Chosen for the {profile.title} profile")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self.caption)
        self.entries: list[tuple[StartItem, str]] = []
        self.buttons: list[QPushButton] = []
        for item in profile.start:
            name = resolve(window, item)
            if name is None:
                continue
            button = QPushButton(item.label)
            button.setObjectName(f"start.{item.action}")
            button.setToolTip(f"From a terminal: {item.command}" if item.command else item.label)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab on the canvas keeps opening the layer search
            button.clicked.connect(lambda _checked=False, n=name: run_entry(window, n))
            box.addWidget(button)
            self.entries.append((item, name))
            self.buttons.append(button)
        # Tighter than the card's own buttons: five entries and the card's own still fit a canvas shortened by
        # a tall bottom panel (the Runs panel needs about 420 pixels).
        self.setStyleSheet("QPushButton { padding: 4px 10px; font-size: 12px; }")


def install_start_list(window: MainWindow, profile: Profile) -> StartList:
    """Put the profile's start list at the top of the empty-canvas card (replacing an earlier profile's)."""
    hint = window.empty_hint
    old = hint.findChild(StartList, "ProfileStartList")
    if old is not None:
        old.setParent(None)
        old.deleteLater()
    start = StartList(window, profile)
    layout = hint.layout()
    layout.insertWidget(1, start)  # under the heading
    hint.heading.setText("Start here" if profile.start else "Start a network")
    offered = {item.action for item, _name in start.entries}
    hint.buttons["tutorial"].setVisible(False)  # offered through the list when the profile offers it
    palette = profile.docks.where("palette") is not None
    hint.buttons["template"].setVisible(palette and "file.new_template" not in offered)
    hint.gestures.setVisible(palette)  # it speaks of the Layers panel
    hint.setFixedWidth(WIDE)
    hint.set_theme(window.theme)
    layout.activate()  # the card's size hint counts the new list before the card is sized and centred
    hint.sync()
    QTimer.singleShot(0, hint, hint.sync)  # again once the docks have given the canvas its new size
    window.start_list = start  # type: ignore[attr-defined]
    return start
