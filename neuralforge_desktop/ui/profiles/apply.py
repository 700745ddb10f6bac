"""Apply a persona profile (``core/team/profiles.py``) to a main window: its docks, its palette, its start list.

The docks, the palette's mode and Concept Mode are set when a profile is chosen (the picker, Team ▸ Profile…,
or a ``neuralforge persona set`` the app had not seen yet); afterwards the user's own changes, which the window
saves and restores, are left alone. The start list follows the profile on every start.

The chosen profile's name is kept under the QSettings key ``profile/name`` (beside the window's other
preferences) and in the settings file the CLI shares (``persona``); when the two differ at start-up, the file
wins: it is what ``neuralforge persona set`` changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from neuralforge_desktop.core.team.profiles import DOCK_KEYS, Profile, choose_profile, chosen_profile, profile_named
from neuralforge_desktop.ui.docks import default_sizes

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

NAME_KEY = "profile/name"
RUNS_FIRST_SHARE = 0.4  # a bottom area this tall holding Runs: the profile is about runs (Analyst, Manager)
OFFERED_KEY = "profile/offered"  # the one-time flag: the first-start picker has been shown
_AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
          "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
# Where a hidden dock waits, so that showing it from View ▸ Panels puts it somewhere sensible.
_HOME = {"palette": "left", "inspector": "right", "summary": "right"}


def saved_profile_name(window: MainWindow) -> str | None:
    value = window.settings.store.value(NAME_KEY)
    return str(value) if value else None


def was_offered(window: MainWindow) -> bool:
    value = window.settings.store.value(OFFERED_KEY)
    return str(value).lower() in {"true", "1"}


def mark_offered(window: MainWindow) -> None:
    window.settings.store.setValue(OFFERED_KEY, True)


def dock_of(window: MainWindow, key: str) -> QDockWidget:
    return getattr(window.docks, key)


def arrange_docks(window: MainWindow, profile: Profile) -> None:
    """Place the profile's docks (each side's groups stacked, each group one tab stack) and hide the rest."""
    layout = profile.docks
    for dock in window.docks.all():
        dock.setFloating(False)
        window.removeDockWidget(dock)
    for side in ("left", "right", "bottom"):
        area = _AREAS[side]
        previous_group: QDockWidget | None = None
        for group in layout.side(side):
            first = dock_of(window, group[0])
            if previous_group is None:
                window.addDockWidget(area, first)
            else:
                # Side groups stack top to bottom; bottom groups sit side by side under the canvas.
                orientation = Qt.Orientation.Horizontal if side == "bottom" else Qt.Orientation.Vertical
                window.splitDockWidget(previous_group, first, orientation)
            first.show()
            for key in group[1:]:
                dock = dock_of(window, key)
                window.tabifyDockWidget(first, dock)
                dock.show()
            previous_group = first
    for key in layout.hidden():
        dock = dock_of(window, key)
        window.addDockWidget(_AREAS[_HOME.get(key, "bottom")], dock)
        dock.hide()
    for group in (g for side in ("left", "right", "bottom") for g in layout.side(side)):
        front = next((key for key in layout.front if key in group), group[0])
        dock_of(window, front).raise_()
    resize_docks(window, profile)
    QTimer.singleShot(0, window, lambda: resize_docks(window, profile))  # again once the docks are laid out
    if layout.where("runs") == "bottom" and layout.bottom_share >= RUNS_FIRST_SHARE:
        window.show_runs()  # the profile's main panel: built now, its run table given more of its height
        splitter = window.runs_panel.splitter
        splitter.setSizes([1100, 900])  # proportions: the splitter scales them to its height when laid out
        QTimer.singleShot(0, splitter, lambda: splitter.setSizes([1100, 900]))


def resize_docks(window: MainWindow, profile: Profile) -> None:
    """The default widths of the side columns and the profile's share of the height for the bottom area."""
    sizes = default_sizes(window.width(), window.height())
    layout = profile.docks
    width = {"left": sizes["palette"], "right": sizes["side"]}
    sides = [(dock_of(window, groups[0][0]), width[side]) for side in ("left", "right")
             if (groups := layout.side(side))]
    if sides:
        window.resizeDocks([d for d, _ in sides], [w for _, w in sides], Qt.Orientation.Horizontal)
    if layout.bottom:
        window.resizeDocks([dock_of(window, layout.bottom[0][0])], [int(window.height() * layout.bottom_share)],
                           Qt.Orientation.Vertical)


def apply_profile(window: MainWindow, profile: Profile | str, *, arrange: bool = True) -> Profile:
    """Make ``window`` the profile's: docks, palette and Concept Mode (when ``arrange``: the profile is newly
    chosen), and the start list; and remember the choice (QSettings ``profile/name`` and the shared settings
    file)."""
    from neuralforge_desktop.ui.profiles.start_list import install_start_list

    profile = profile_named(profile) if isinstance(profile, str) else profile
    if arrange:
        arrange_docks(window, profile)
        window.set_show_all_layers(profile.palette == "full")
        window.set_concept_mode(profile.concept_mode)
        for name, on in (("view.show_all", profile.palette == "full"), ("view.concept", profile.concept_mode)):
            action = window.commands[name]
            action.blockSignals(True)  # the menu's tick shows the state just set; no second call of its slot
            action.setChecked(on)
            action.blockSignals(False)
    install_start_list(window, profile)
    window.settings.store.setValue(NAME_KEY, profile.name)
    if chosen_profile() is not profile:
        choose_profile(profile.name)
    window.profile = profile  # type: ignore[attr-defined]  # read by tests and the picker
    window.show_message(f"profile: {profile.title}")
    return profile


def apply_saved_profile(window: MainWindow) -> Profile | None:
    """At start-up: the chosen profile, if any. Its docks are arranged only when the choice is new to this
    window's settings (made with ``neuralforge persona set`` since the app last ran)."""
    profile = chosen_profile()
    saved = saved_profile_name(window)
    if profile is None and saved:
        try:
            profile = profile_named(saved)
        except Exception:  # a name from an older version: as if none was chosen
            return None
    if profile is None:
        return None
    return apply_profile(window, profile, arrange=profile.name != saved)


def docks_shown(window: MainWindow) -> dict[str, str | None]:
    """Each dock's side ("left", "right", "bottom") or None when hidden (for tests and screenshots)."""
    names = {area: side for side, area in _AREAS.items()}
    return {key: (names.get(window.dockWidgetArea(dock)) if not dock.isHidden() else None)
            for key in DOCK_KEYS for dock in [dock_of(window, key)]}
