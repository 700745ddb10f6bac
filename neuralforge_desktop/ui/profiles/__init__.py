"""Persona profiles in the app: apply one to the main window, pick one (first start, Team ▸ Profile…)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from neuralforge_desktop.ui.profiles.apply import apply_profile, apply_saved_profile, was_offered
from neuralforge_desktop.ui.profiles.picker import ProfilePicker, open_profile_picker

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

ASK_ENV = "NEURALFORGE_PROFILE_PICKER"  # "1": offer the first-start picker even offscreen; "0": never offer it

__all__ = ["ASK_ENV", "ProfilePicker", "apply_profile", "apply_saved_profile", "open_profile_picker",
           "should_offer_picker", "start_profiles"]


def should_offer_picker(window: MainWindow, ask: bool | None = None) -> bool:
    """Offer the picker once: never shown before, no profile chosen yet (here or with `neuralforge persona
    set`), and a real screen (offscreen, as in tests and picture-writing commands, only when asked)."""
    from PySide6.QtGui import QGuiApplication

    if ask is None:
        env = os.environ.get(ASK_ENV, "").strip()
        ask = {"1": True, "0": False}.get(env, QGuiApplication.platformName() != "offscreen")
    return bool(ask) and not was_offered(window) and getattr(window, "profile", None) is None


def start_profiles(window: MainWindow, ask: bool | None = None) -> None:
    """At start-up: apply the chosen profile; on the first start, offer the picker after the first paint."""
    from PySide6.QtCore import QTimer

    from neuralforge_desktop.core.errors import UserError

    try:
        window.profile = apply_saved_profile(window)  # type: ignore[attr-defined]
    except UserError as exc:  # a damaged settings file: the window opens as it would without a profile
        window.profile = None  # type: ignore[attr-defined]
        window.show_message(str(exc))
        return
    if should_offer_picker(window, ask):
        QTimer.singleShot(0, window, lambda: open_profile_picker(window, first_start=True))
