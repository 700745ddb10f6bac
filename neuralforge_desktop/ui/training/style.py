"""Colours the training widgets paint themselves (plots, heat map, run statuses), per theme.

Standard widgets (forms, tables, buttons) follow the application palette; only what is painted by hand needs
these, so a theme switch is ``set_theme(name)`` on the panels. The values match the dock panels' colours.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class TrainingColors:
    background: str  # plot and heat-map background
    text: str
    muted: str  # axes, grid, secondary text
    border: str
    accent: str
    ok: str
    warning: str
    error: str
    train: str  # live curves: training series
    train_step: str  # per-step training loss: many points, drawn thin and translucent
    val: str  # live curves: validation series
    heat_low: str  # heat map: empty cell
    heat_high: str  # heat map: the largest count


DARK = TrainingColors(background="#1e1f22", text="#dfe1e5", muted="#8c8f96", border="#43454a", accent="#3574f0",
                      ok="#98c379", warning="#e5c07b", error="#e06c75", train="#61afef", train_step="#8fb8de99",
                      val="#e5a050", heat_low="#26282c", heat_high="#3574f0")
LIGHT = TrainingColors(background="#ffffff", text="#1f2329", muted="#6c707e", border="#d3d5db", accent="#3574f0",
                       ok="#3f8f2f", warning="#a86e00", error="#c7374a", train="#1d5fc4", train_step="#1d5fc470",
                       val="#c45f00", heat_low="#f3f4f6", heat_high="#2f6fdf")

THEMES: dict[str, TrainingColors] = {"dark": DARK, "light": LIGHT}

# One colour per overlaid run, chosen to stay apart from each other on both backgrounds.
RUN_COLORS: tuple[str, ...] = ("#4c9aff", "#f0883e", "#56c271", "#e06c75", "#b48ead", "#e5c07b", "#56b6c2",
                               "#d19a66", "#9aa0ff", "#ff7fbf")


def theme_colors(name: str) -> TrainingColors:
    return THEMES.get(name, THEMES[DEFAULT_THEME])


def status_color(status: str, colors: TrainingColors) -> str:
    return {"finished": colors.ok, "running": colors.accent, "paused": colors.warning, "stopped": colors.warning,
            "failed": colors.error, "crashed": colors.error}.get(status, colors.text)
