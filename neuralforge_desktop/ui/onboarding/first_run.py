"""The first start: the tutorial is offered once, on the empty canvas of a window opened without a file.

Offered means started: its card is the offer, with a close button, and the status bar says how to bring it
back. A one-time flag in the settings keeps it from coming again, whether or not it was taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.tutorial import TutorialCard


def offer_first_run(window: MainWindow) -> TutorialCard | None:
    """Start the tutorial if this is the first start and the canvas is empty; returns the card if it did."""
    settings = window.settings
    if settings.tutorial_offered:
        return None
    settings.tutorial_offered = True
    settings.sync()
    if len(window.bridge.document.graph) or window.tutorial is not None:
        return None  # opened with a file, or already taking it
    card = window.start_tutorial()
    if card is not None:
        window.show_message("Welcome to NeuralForge. Close the card to skip the tutorial; Help ▸ First Steps "
                            "Tutorial brings it back")
    return card
