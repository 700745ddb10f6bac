"""Approval requests on registered model versions (schema v14): ask a teammate to review ``NAME@V``, see the
requests waiting for you, approve or reject them.

Approving a request records an approval in the model registry (:func:`neuralforge_desktop.core.registry.approve`,
the same as ``neuralforge registry approve``), so a promotion whose policy requires an approval sees it. Whoever
asked for a review cannot approve it (that would be approving one's own work); they may reject it, which
withdraws it. A decided request stays decided.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError

STATUSES = ("pending", "approved", "rejected")
_COLUMNS = ("id, model, version, requested_by, reviewer, note, created, status, decided_by, decided_at, "
            "decision_note")


class ReviewError(UserError):
    """A review request that cannot be made or decided as asked."""


@dataclass(frozen=True)
class ReviewRequest:
    id: int
    model: str
    version: int
    requested_by: str
    reviewer: str
    note: str
    created: float
    status: str  # "pending" | "approved" | "rejected"
    decided_by: str | None
    decided_at: float | None
    decision_note: str | None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ref": self.ref, "model": self.model, "version": self.version,
                "requested_by": self.requested_by, "reviewer": self.reviewer, "note": self.note,
                "created": self.created, "status": self.status, "decided_by": self.decided_by,
                "decided_at": self.decided_at, "decision_note": self.decision_note}


def request_review(store: Any, ref: str, reviewer: str, note: str = "", *, requested_by: str | None = None,
                   created: float | None = None) -> ReviewRequest:
    """Ask ``reviewer`` to review the registered version ``ref`` (``NAME@V``, or ``NAME@staging`` …)."""
    from neuralforge_desktop.core.team.comments import CommentError, model_version_id
    from neuralforge_desktop.core.team.identity import current_user

    asker = (requested_by or current_user()).strip()
    reviewer = (reviewer or "").strip().lstrip("@")
    if not reviewer:
        raise ReviewError("name the reviewer (--reviewer USER)")
    if reviewer == asker:
        raise ReviewError(f"{asker} cannot review their own request; name another reviewer")
    try:
        version_ref = model_version_id(store, ref)
    except CommentError as exc:
        raise ReviewError(str(exc).replace("to comment on", "to review")) from None
    model, _, number = version_ref.rpartition("@")
    when = time.time() if created is None else float(created)
    with store.database.write() as conn:
        cursor = conn.execute("INSERT INTO review_requests (model, version, requested_by, reviewer, note, created) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (model, int(number), asker, reviewer, note.strip(), when))
        made = _read_one(conn, int(cursor.lastrowid or 0))
    _audit(store, "review.requested", made, {"reviewer": reviewer, "note": made.note})
    return made


def review_queue(store: Any, reviewer: str | None = None) -> list[ReviewRequest]:
    """The pending requests (for ``reviewer`` only, when given), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM review_requests WHERE status = 'pending'"
    values: list[Any] = []
    if reviewer is not None:
        sql += " AND reviewer = ?"
        values.append(reviewer)
    with store.database.read() as conn:
        return [_request(row) for row in conn.execute(sql + " ORDER BY created, id", values)]


def list_reviews(store: Any, ref: str | None = None) -> list[ReviewRequest]:
    """Every request, decided ones included (on the version ``ref`` names, when given), oldest first."""
    sql, values = f"SELECT {_COLUMNS} FROM review_requests", []
    if ref is not None:
        model, _, number = ref.rpartition("@")
        sql += " WHERE model = ? AND version = ?"
        values = [model, int(number) if number.isdigit() else -1]
    with store.database.read() as conn:
        return [_request(row) for row in conn.execute(sql + " ORDER BY created, id", values)]


def get_review(store: Any, request_id: int) -> ReviewRequest:
    with store.database.read() as conn:
        return _read_one(conn, request_id)


def decide(store: Any, request_id: int, approve: bool, note: str = "", *, who: str | None = None) -> ReviewRequest:
    """Approve (recording a registry approval of the version) or reject a pending request."""
    from neuralforge_desktop.core.registry import approve as registry_approve
    from neuralforge_desktop.core.team.identity import current_user

    actor = (who or current_user()).strip()
    note = note.strip()
    request = get_review(store, request_id)
    if not request.pending:
        raise ReviewError(f"review request {request.id} ({request.ref}) was already {request.status} by "
                          f"{request.decided_by}; it cannot be decided again (ask for a new review instead)")
    if approve and actor == request.requested_by:
        raise ReviewError(f"{actor} asked for review request {request.id} and cannot approve it; "
                          f"{request.reviewer} (or another teammate) has to")
    if not approve and not note:
        raise ReviewError("say why the version is rejected (--note …)")
    status = "approved" if approve else "rejected"
    with store.database.write() as conn:
        # Guarded by the status, so two reviewers deciding at once cannot both win.
        changed = conn.execute("UPDATE review_requests SET status = ?, decided_by = ?, decided_at = ?, "
                               "decision_note = ? WHERE id = ? AND status = 'pending'",
                               (status, actor, time.time(), note, request.id)).rowcount
    if changed != 1:
        raise ReviewError(f"review request {request.id} was decided meanwhile; it cannot be decided again")
    if approve:
        comment = f"review {request.id}" + (f": {note}" if note else "")
        try:
            registry_approve(store, request.ref, comment)
        except Exception:  # the version went away meanwhile: the request is pending again, not half-approved
            with store.database.write() as conn:
                conn.execute("UPDATE review_requests SET status = 'pending', decided_by = NULL, decided_at = NULL, "
                             "decision_note = NULL WHERE id = ?", (request.id,))
            raise
    decided = get_review(store, request.id)
    _audit(store, f"review.{status}", decided, {"by": actor, "note": note})
    return decided


def _read_one(conn: Any, request_id: int) -> ReviewRequest:
    row = conn.execute(f"SELECT {_COLUMNS} FROM review_requests WHERE id = ?", (int(request_id),)).fetchone()
    if row is None:
        raise ReviewError(f"no review request {request_id} (see `neuralforge review queue`)")
    return _request(row)


def _request(row: tuple) -> ReviewRequest:
    rid, model, version, asker, reviewer, note, created, status, by, at, decision = row
    return ReviewRequest(int(rid), model, int(version), asker, reviewer, note, float(created), status, by,
                         None if at is None else float(at), decision)


def _audit(store: Any, kind: str, request: ReviewRequest, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, request.ref, {"request": request.id, **details})
