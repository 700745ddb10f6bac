"""Model cards kept in the store (schema v11), one per model version.

A card holds the rendered Markdown, the generated facts it was rendered from, and the human sections. The
facts are regenerated on request (:func:`generate_card`); the human sections are kept as they are. A new
version's first card starts from the human sections of the model's latest earlier card, since what a model is
for rarely changes between versions, while each version still gets its own card to review.

A card is *stale* when it is older than what it describes: written for a version row that has since been
replaced (``written_for`` is the version's registration time), or generated before a fact it shows changed
(a fairness or explanation result attached to the run later).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.cards.facts import EXPLANATIONS_ARTIFACT, FAIRNESS_ARTIFACT, gather_facts
from neuralforge_desktop.core.cards.fields import (
    DEFAULT_REQUIRED,
    FIELD_KEYS,
    check_fields,
    missing_fields,
)
from neuralforge_desktop.core.cards.render import render_markdown
from neuralforge_desktop.core.errors import UserError

_COLUMNS = "model, version, markdown, fields, facts, created, updated, generated, who, written_for"


@dataclass(frozen=True)
class ModelCard:
    model: str
    version: int
    markdown: str
    fields: dict[str, str]
    facts: dict[str, Any]
    created: float
    updated: float  # the last change of anything: regeneration or an edit
    generated: float  # when the facts were gathered
    who: str
    written_for: float  # the registration time of the version it describes

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "model": self.model, "version": self.version, "fields": self.fields,
                "created": self.created, "updated": self.updated, "generated": self.generated, "who": self.who,
                "written_for": self.written_for, "facts": self.facts, "markdown": self.markdown}


@dataclass(frozen=True)
class CardStatus:
    """Whether a version's card may let it go to production: every required field written and not stale."""

    ref: str
    exists: bool
    missing: list[str] = field(default_factory=list)
    stale: str = ""  # why the card is older than what it describes; empty when it is current

    @property
    def complete(self) -> bool:
        return self.exists and not self.missing and not self.stale

    def problems(self) -> list[str]:
        if not self.exists:
            return [f"{self.ref} has no model card: `neuralforge card {self.ref} --edit` writes one"]
        found = []
        if self.missing:
            found.append(f"the model card of {self.ref} lacks required field(s): {', '.join(self.missing)} "
                         f"(`neuralforge card {self.ref} --set FIELD=TEXT`)")
        if self.stale:
            found.append(f"the model card of {self.ref} is stale: {self.stale}; regenerate it with "
                         f"`neuralforge card {self.ref}`")
        return found


def _resolve(store: Any, ref: str) -> Any:
    from neuralforge_desktop.core.registry import resolve

    return resolve(store, ref)


def _read(conn: Any, model: str, version: int) -> ModelCard | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM model_cards WHERE model = ? AND version = ?",
                       (model, version)).fetchone()
    if row is None:
        return None
    name, number, markdown, fields, facts, created, updated, generated, who, written_for = row
    return ModelCard(name, int(number), markdown, json.loads(fields), json.loads(facts), float(created),
                     float(updated), float(generated), who, float(written_for))


def get_card(store: Any, ref: str) -> ModelCard | None:
    """The stored card of the version ``ref`` names, or None when none was written."""
    version = _resolve(store, ref)
    with store.database.read() as conn:
        return _read(conn, version.name, version.version)


def _inherited_fields(conn: Any, model: str, version: int) -> dict[str, str]:
    row = conn.execute("SELECT fields FROM model_cards WHERE model = ? AND version < ? ORDER BY version DESC",
                       (model, version)).fetchone()
    return json.loads(row[0]) if row else {}


def generate_card(store: Any, ref: str, fields: dict[str, str] | None = None, *,
                  facts: tuple[dict[str, Any], float] | None = None) -> ModelCard:
    """Gather the version's facts afresh and (re)write its card, keeping the human sections already written;
    ``fields`` replaces the sections it names (an edit, recorded in the audit log). ``facts`` gives facts
    already gathered (by :func:`gather_facts`) with the time they were gathered, which the card records as
    its generation time, so anything recorded since still makes it stale."""
    from neuralforge_desktop.core.registry.tables import who

    version = _resolve(store, ref)
    edits = check_fields(fields or {})
    gathered = time.time()
    if facts is None:
        gathered_facts = gather_facts(store, version)  # outside the write transaction: it reads the dataset
    else:
        gathered_facts, gathered = facts
        if gathered_facts.get("ref") != version.ref:
            raise UserError(f"the facts given are {gathered_facts.get('ref')!r}'s, not {version.ref}'s")
    with store.database.read() as conn:
        old = _read(conn, version.name, version.version)
        kept = old.fields if old is not None else _inherited_fields(conn, version.name, version.version)
    merged = {key: kept.get(key, "") for key in FIELD_KEYS}
    merged.update(edits)
    markdown = render_markdown(gathered_facts, merged)
    now, actor = time.time(), who()
    with store.database.write() as conn:
        conn.execute(f"INSERT OR REPLACE INTO model_cards ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (version.name, version.version, markdown, json.dumps(merged, sort_keys=True),
                      json.dumps(gathered_facts, sort_keys=True, default=str), old.created if old else now, now,
                      gathered, actor, version.created))
        card = _read(conn, version.name, version.version)
    assert card is not None
    changed = {k: v for k, v in edits.items() if (old.fields.get(k, "") if old else "") != v}
    if changed:
        _audit(store, "card.edited", version.ref, {"fields": sorted(changed)})
    return card


def save_fields(store: Any, ref: str, fields: dict[str, str],
                facts: tuple[dict[str, Any], float] | None = None) -> ModelCard:
    """Write the human sections given (others kept) with the facts given, or regenerated now."""
    return generate_card(store, ref, fields, facts=facts)


def card_status(store: Any, ref: str, required: tuple[str, ...] | list[str] = DEFAULT_REQUIRED) -> CardStatus:
    version = _resolve(store, ref)
    with store.database.read() as conn:
        card = _read(conn, version.name, version.version)
    if card is None:
        return CardStatus(version.ref, False, list(required))
    return CardStatus(version.ref, True, missing_fields(card.fields, tuple(required)),
                      _staleness(store, version, card))


def _staleness(store: Any, version: Any, card: ModelCard) -> str:
    if abs(card.written_for - version.created) > 1e-6:
        return (f"it was written for a version registered at {card.written_for:.0f}, but {version.ref} was "
                f"registered at {version.created:.0f}")
    try:
        artifacts = store.list_artifacts(version.run_id)
    except (UserError, KeyError):
        return ""
    for artifact in artifacts:
        if artifact.name in (FAIRNESS_ARTIFACT, EXPLANATIONS_ARTIFACT) and artifact.created > card.generated:
            return f"the run's {artifact.name} was recorded after the card was generated"
    return ""


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any] | None = None) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)
