"""Model cards (Hugging Face format) for registered model versions: generated facts (architecture, cost,
training data and its fingerprint, settings, metrics with intervals, fairness and explanation results, export
targets, lineage) plus human sections written in the app or with ``neuralforge card``. Policies name the
sections a card needs before its version may go to production (see :mod:`neuralforge_desktop.core.registry`).
"""

from neuralforge_desktop.core.cards.cards import (
    CardStatus,
    ModelCard,
    card_status,
    generate_card,
    get_card,
    save_fields,
)
from neuralforge_desktop.core.cards.fields import (
    DEFAULT_REQUIRED,
    FIELD_KEYS,
    HUMAN_FIELDS,
    HumanField,
    fields_to_markdown,
    markdown_to_fields,
    parse_assignment,
)
from neuralforge_desktop.core.cards.pdf import pdf_page_count, write_pdf
from neuralforge_desktop.core.cards.render import render_html, render_markdown

__all__ = [
    "DEFAULT_REQUIRED", "FIELD_KEYS", "HUMAN_FIELDS", "CardStatus", "HumanField", "ModelCard", "card_status",
    "fields_to_markdown", "generate_card", "get_card", "markdown_to_fields", "parse_assignment", "pdf_page_count",
    "render_html", "render_markdown", "save_fields", "write_pdf",
]
