"""The Portfolio view: projects with their owner, status, best result, models and spend against budget; the month
per user; budget alerts. Importing this package is light: the view (and the core it reads) load when opened."""

from __future__ import annotations

from typing import Any


def open_portfolio_view(window: Any) -> Any:
    """Team ▸ Portfolio…: the view of ``window``'s store in its own window."""
    from neuralforge_desktop.ui.portfolio.view import open_portfolio_view as open_view

    return open_view(window)
