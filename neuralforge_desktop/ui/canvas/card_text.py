"""How wide a node's card is: wide enough for its name and its parameter summary, within bounds.

A fixed card width cut long names short ("position_embedd…"), on the canvas and in exported figures. A card now
grows to fit its texts, from :data:`WIDTH` up to :data:`MAX_WIDTH`, and only past that are they cut short. The
widths come from the theme's memoised font metrics, so sizing an unchanged node again costs a few look-ups.
Layouts place the cards at the sizes they are drawn, so wider cards never overlap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

WIDTH = 150.0  # the narrowest card (and the width a layout assumes for a node it has not measured)
MAX_WIDTH = 260.0  # past this a name or summary is cut short ("…"); the node's tooltip has it whole
WIDTH_STEP = 10.0  # widths go in steps, so a name a letter longer rarely changes the card's geometry
TEXT_PAD = 22.0  # the stripe and left padding (12) plus the right padding (10) around the text column

Measure = Callable[[str, str], float]  # (theme font name, text) → advance width in scene pixels


class CardText(NamedTuple):
    """A card's width and whether its summary needs a row of its own (it did not fit beside the type)."""

    width: float
    summary_row: bool


def _stepped(text_width: float, least: float, most: float) -> float:
    return min(most, max(least, math.ceil((text_width + TEXT_PAD) / WIDTH_STEP) * WIDTH_STEP))


def card_text(measure: Measure, title: str, badge: float, type_text: str, summary: str, port_rows: float = 0.0,
              least: float = WIDTH, most: float = MAX_WIDTH) -> CardText:
    """The card a node needs: wide enough for its title (and a block's ×N badge, ``badge`` wide), for its
    summary (beside the type if it fits there, else on a row of its own) and for its named input and output
    ports side by side (``port_rows``: the widest such pair); ``least`` to ``most`` wide, in steps.

    ``measure(font, text)`` is the theme's memoised text width: sizing an unchanged node is a few look-ups."""
    needed = max(measure("title", title) + badge, port_rows)
    width = _stepped(needed, least, most)
    if not summary:
        return CardText(width, False)
    type_width = measure("type", type_text)
    summary_width = measure("summary", summary)
    beside = type_width + 10.0 + summary_width
    if beside <= width - TEXT_PAD:
        return CardText(width, False)
    width = _stepped(max(needed, type_width, summary_width), least, most)
    return CardText(width, beside > width - TEXT_PAD)
