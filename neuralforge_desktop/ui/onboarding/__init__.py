"""Getting started: the tutorial's spotlights and shape animation, the first-run offer, the ML 101 gallery and
the Preferences dialog (GPU, tracking, team store). The views are imported when first opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.onboarding.ml101_view import Ml101View
    from neuralforge_desktop.ui.onboarding.preferences import PreferencesDialog


def open_ml101_view(window: MainWindow) -> Ml101View:
    from neuralforge_desktop.ui.onboarding.ml101_view import open_ml101_view as open_view

    return open_view(window)


def open_preferences(window: MainWindow) -> PreferencesDialog:
    from neuralforge_desktop.ui.onboarding.preferences import open_preferences as open_dialog

    return open_dialog(window)
