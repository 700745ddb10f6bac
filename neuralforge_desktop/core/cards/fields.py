"""The human sections of a model card: what only people can say about a model (its intended use, what it must
not be used for, its limitations …), and their exchange format for editing in a text editor.

The editable text is Markdown with one ``## Title`` heading per field, in :data:`HUMAN_FIELDS` order; text
before the first heading, and headings that name no field, are refused by name so a typo cannot silently
drop a section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from neuralforge_desktop.core.errors import UserError


@dataclass(frozen=True)
class HumanField:
    key: str  # as policies and `--set` name it
    title: str  # the card's section heading
    hint: str  # what to write, shown in the editor and in an empty section


HUMAN_FIELDS: tuple[HumanField, ...] = (
    HumanField("intended_use", "Intended use",
               "Who should use the model, for what task and on what kind of input."),
    HumanField("out_of_scope_use", "Out-of-scope use",
               "Uses the model was not made or checked for, and misuse to avoid."),
    HumanField("limitations", "Limitations",
               "Where the model is known to fail or was not evaluated (inputs, groups, conditions)."),
    HumanField("ethical_considerations", "Ethical considerations",
               "Whom the model's errors could harm, sensitive data, fairness concerns."),
    HumanField("caveats_and_recommendations", "Caveats and recommendations",
               "What users should do: monitoring, thresholds, human review, retraining."),
)
FIELD_KEYS = tuple(f.key for f in HUMAN_FIELDS)
DEFAULT_REQUIRED = ("intended_use", "limitations", "ethical_considerations")
_BY_TITLE = {f.title.lower(): f.key for f in HUMAN_FIELDS}
_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$")


def field_by_key(key: str) -> HumanField:
    for human in HUMAN_FIELDS:
        if human.key == key:
            return human
    raise UserError(f"unknown model card field {key!r} (fields: {', '.join(FIELD_KEYS)})")


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """The fields with known keys only, their text stripped; an unknown key is refused by name."""
    clean = {}
    for key, text in fields.items():
        field_by_key(key)
        if not isinstance(text, str):
            raise UserError(f"model card field {key!r}: expected text, got {type(text).__name__}")
        clean[key] = text.strip()
    return clean


def missing_fields(fields: dict[str, str], required: tuple[str, ...] | list[str]) -> list[str]:
    """The required fields that are empty, in the order given."""
    return [key for key in required if not fields.get(key, "").strip()]


def parse_assignment(text: str) -> tuple[str, str]:
    """``FIELD=TEXT`` as ``--set`` takes it."""
    key, equals, value = text.partition("=")
    if not equals:
        raise UserError(f"--set {text!r}: expected FIELD=TEXT (fields: {', '.join(FIELD_KEYS)})")
    return field_by_key(key.strip()).key, value


def fields_to_markdown(fields: dict[str, str]) -> str:
    """The human sections as Markdown, with each field's hint as an HTML comment (invisible once rendered)."""
    parts = []
    for human in HUMAN_FIELDS:
        parts.append(f"## {human.title}\n<!-- {human.hint} -->\n\n{fields.get(human.key, '').strip()}\n")
    return "\n".join(parts)


def markdown_to_fields(text: str) -> dict[str, str]:
    """The inverse of :func:`fields_to_markdown`; hint comments are dropped, every field is returned."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(1).strip()
            if title.lower() not in _BY_TITLE:
                raise UserError(f"line {number}: heading {title!r} names no model card section "
                                f"(sections: {', '.join(f.title for f in HUMAN_FIELDS)})")
            current = _BY_TITLE[title.lower()]
            found[current] = []
        elif current is not None:
            found[current].append(line)
        elif line.strip():
            raise UserError(f"line {number}: text before the first section heading ({line.strip()[:40]!r}); "
                            "put it under one of the '## …' headings")
    result = {}
    for key in FIELD_KEYS:
        body = "\n".join(found.get(key, []))
        result[key] = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL).strip()
    return result
