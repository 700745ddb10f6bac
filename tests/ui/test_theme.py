"""The theme's role tables: readable text in both themes, a colour of its own for every layer category."""

from __future__ import annotations

import colorsys

import pytest

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.ui.theme import ROLES, UNKNOWN_COLOR, Roles, category_color, qcolor, roles


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Surfaces that standard widgets and panels write text on.
SURFACES = ("window", "base", "raised")


@pytest.mark.parametrize("table", ROLES.values(), ids=ROLES.keys())
def test_text_and_messages_are_readable_on_every_surface(table: Roles) -> None:
    # WCAG AA for normal text: 4.5:1. Messages (errors, warnings, hints) are text too.
    for role in ("text", "text_dim", "muted", "error", "warning", "ok", "hint"):
        for surface in SURFACES:
            ratio = contrast(getattr(table, role), getattr(table, surface))
            assert ratio >= 4.5, f"{table.name}: {role} on {surface} is {ratio:.2f}:1"
    assert contrast(table.on_accent, table.accent) >= 4.5  # selected rows, highlighted menu items


@pytest.mark.parametrize("table", ROLES.values(), ids=ROLES.keys())
def test_canvas_and_code_colours_stand_out(table: Roles) -> None:
    # Node text on a node; the accent (selection ring, dragged wire) and port names as UI marks: 3:1.
    assert contrast(table.text, table.card) >= 4.5 and contrast(table.text_dim, table.card) >= 4.5
    assert contrast(table.faint, table.card) >= 3.0
    for surface in ("window", "base", "card"):
        assert contrast(table.accent, getattr(table, surface)) >= 3.0, surface
    for role in ("code_keyword", "code_builtin", "code_string", "code_number", "code_self", "code_decorator",
                 "code_definition"):
        assert contrast(getattr(table, role), table.base) >= 4.5, role
    assert contrast(table.code_comment, table.base) >= 3.0  # comments recede on purpose


def test_one_accent_for_both_themes() -> None:
    assert roles("dark").accent == roles("light").accent
    assert roles("no such theme") is roles("dark")  # a stale setting falls back to the default


def test_every_catalog_category_has_its_own_colour() -> None:
    categories = sorted({layer.category for layer in catalog()})
    colours = [category_color(category) for category in categories]
    assert UNKNOWN_COLOR not in colours
    assert len(set(colours)) == len(categories)


def test_a_plugin_category_gets_a_stable_colour_away_from_error_and_warning() -> None:
    colour = category_color("Quantum gates")
    assert colour == category_color("Quantum gates") != UNKNOWN_COLOR
    assert category_color("Spiking") != colour
    hue = colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360
    assert 120 <= hue <= 340  # not the red–amber range of errors and warnings


def test_translucent_roles_read_in_css_order() -> None:
    shadow = qcolor(roles("dark").shadow)  # "#0000005a": black at alpha 0x5a
    assert (shadow.red(), shadow.green(), shadow.blue(), shadow.alpha()) == (0, 0, 0, 0x5A)
