"""Profiles in the window (offscreen): choosing one arranges the docks, the palette and the start list as its data
says; the first-start picker sets the QSettings key and is offered once; Team ▸ Profile… opens it at any time."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.team import choices
from neuralforge_desktop.core.team.profiles import DOCK_KEYS, PROFILES, choose_profile, chosen_profile, profile_named
from neuralforge_desktop.core.team.tiers import current_plan
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.profiles import apply_profile, open_profile_picker, should_offer_picker, start_profiles
from neuralforge_desktop.ui.profiles.apply import NAME_KEY, docks_shown, was_offered
from neuralforge_desktop.ui.profiles.start_list import resolve
from neuralforge_desktop.ui.settings import Settings


@pytest.fixture
def make_window(qtbot, tmp_path: Path, monkeypatch):
    """Main windows on this test's settings file (the same file for every window a test opens)."""
    made: list[MainWindow] = []

    def make() -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=tmp_path / "store.db")
        monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
        window.resize(1400, 880)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if shiboken6.isValid(window):
            window.close()
            window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def settle(qtbot) -> None:
    qtbot.wait(30)


def assert_arranged(window: MainWindow, name: str) -> None:
    profile = profile_named(name)
    shown = docks_shown(window)
    assert {key: shown[key] for key in DOCK_KEYS} == {key: profile.docks.where(key) for key in DOCK_KEYS}
    assert window.palette_panel.show_all() is (profile.palette == "full")
    assert window.commands["view.show_all"].isChecked() is (profile.palette == "full")
    assert window.settings.concept_mode is profile.concept_mode
    assert window.commands["view.concept"].isChecked() is profile.concept_mode
    expected = [item.label for item in profile.start if resolve(window, item) is not None]
    assert [b.text() for b in window.start_list.buttons] == expected
    assert expected, f"{name}: nothing of its start list is in this build"


def test_choosing_manager_arranges_docks_palette_and_start_list(make_window, qtbot) -> None:
    window = make_window()
    apply_profile(window, "manager")
    settle(qtbot)
    assert_arranged(window, "manager")
    shown = docks_shown(window)
    assert shown["runs"] == "bottom" and shown["palette"] is None and shown["inspector"] is None
    assert window.docks.runs.height() > window.height() * 0.4  # the tall Runs panel the profile asks for
    assert window.settings.store.value(NAME_KEY) == "manager"
    assert chosen_profile() is profile_named("manager")  # the CLI reads the same choice
    assert window.empty_hint.isVisible() and not window.empty_hint.buttons["tutorial"].isVisible()
    assert not window.empty_hint.gestures.isVisible()  # no Layers panel to drag from


@pytest.mark.parametrize("name", [p.name for p in PROFILES if p.name != "manager"])
def test_every_profile_arranges_the_window_as_its_data_says(make_window, qtbot, name: str) -> None:
    window = make_window()
    apply_profile(window, "manager")  # from another arrangement, not only from the default one
    apply_profile(window, name)
    settle(qtbot)
    assert_arranged(window, name)
    assert window.empty_hint.buttons["tutorial"].isVisible() is False
    offered = [b.text() for b in window.start_list.buttons]
    assert ("Take the First Steps tutorial" in offered) is (profile_named(name).tutorial is not None)


def test_a_start_list_entry_opens_what_it_names(make_window, qtbot) -> None:
    window = make_window()
    apply_profile(window, "student")
    settle(qtbot)
    assert window.start_list.buttons[0].text() == "Take the First Steps tutorial"
    window.start_list.buttons[0].click()
    assert window.tutorial is not None and window.tutorial.isVisible()
    window.tutorial.close()
    apply_profile(window, "manager")
    from neuralforge_desktop.ui.cost.view import CostView

    cost = next(b for b in window.start_list.buttons if b.text() == "Cost and GPU-hours")
    cost.click()  # Team ▸ Cost & Capacity…
    settle(qtbot)
    opened = [w for w in QApplication.topLevelWidgets() if isinstance(w, CostView) and w.isVisible()]
    assert len(opened) == 1
    opened[0].close()


def test_the_picker_sets_the_key_and_applies_at_once(make_window, qtbot) -> None:
    window = make_window()
    assert not was_offered(window) and window.settings.store.value(NAME_KEY) is None
    picker = open_profile_picker(window, first_start=True)
    assert picker.isVisible() and len(picker.cards) == 8
    assert was_offered(window)
    qtbot.mouseClick(picker.cards["analyst"], qtbot_button())
    picker.plan_box.setCurrentIndex(picker.plan_box.findData("pro"))
    picker.choose_button.click()
    settle(qtbot)
    assert window.settings.store.value(NAME_KEY) == "analyst"
    assert choices.read_choices() == {"persona": "analyst", "plan": "pro"} and current_plan().name == "pro"
    assert_arranged(window, "analyst")


def test_not_now_chooses_nothing_and_no_plan(make_window, qtbot) -> None:
    window = make_window()
    picker = open_profile_picker(window, first_start=True)
    picker.later_button.click()
    assert window.settings.store.value(NAME_KEY) is None and choices.read_choices() == {}
    assert was_offered(window)


def test_the_first_start_picker_is_offered_once(make_window, qtbot) -> None:
    first = make_window()
    assert should_offer_picker(first, ask=True)
    assert not should_offer_picker(first)  # offscreen, as here: only when asked
    start_profiles(first, ask=True)
    qtbot.waitUntil(lambda: getattr(first, "profile_picker", None) is not None and first.profile_picker.isVisible())
    first.profile_picker.later_button.click()
    second = make_window()  # the next start, on the same settings
    start_profiles(second, ask=True)
    settle(qtbot)
    assert getattr(second, "profile_picker", None) is None


def test_a_profile_chosen_from_the_terminal_is_applied_at_start(make_window, qtbot) -> None:
    choose_profile("compliance")  # `neuralforge persona set compliance` before the app starts
    window = make_window()
    start_profiles(window, ask=True)
    settle(qtbot)
    assert getattr(window, "profile_picker", None) is None  # chosen already: no picker
    assert window.settings.store.value(NAME_KEY) == "compliance"
    assert_arranged(window, "compliance")


def test_team_menu_profile_opens_the_picker_on_the_current_profile(make_window, qtbot) -> None:
    window = make_window()
    apply_profile(window, "senior")
    window.commands["team.profile"].trigger()
    picker = window.profile_picker
    assert picker.isVisible() and picker.selected == "senior"
    picker._choose_now("designer")  # a double-click on its card
    settle(qtbot)
    assert window.settings.store.value(NAME_KEY) == "designer"
    assert_arranged(window, "designer")


def test_a_damaged_settings_file_leaves_the_window_usable(make_window, qtbot) -> None:
    path = choices.default_choices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[]", encoding="utf-8")
    window = make_window()
    start_profiles(window, ask=False)
    assert window.profile is None and str(path) in window.statusBar().currentMessage()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_the_next_start_keeps_the_users_own_changes_and_the_start_list(make_window, qtbot) -> None:
    first = make_window()
    apply_profile(first, "student")
    first.set_show_all_layers(True)  # the user asks for every layer after all
    first.docks.code.show()
    first.close()
    second = make_window()  # the next start: its settings restored, the same profile chosen
    start_profiles(second, ask=True)
    settle(qtbot)
    assert second.palette_panel.show_all() is True
    assert [b.text() for b in second.start_list.buttons][0] == "Take the First Steps tutorial"
    assert getattr(second, "profile_picker", None) is None
