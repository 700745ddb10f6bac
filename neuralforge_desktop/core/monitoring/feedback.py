"""Labels sent back for served predictions, and the accuracy they show.

A client that learns the true answer later (an inspector's verdict, a customer's choice) sends it with the
prediction id the server returned: ``record_feedback(store, prediction_id, label)`` (the serving API's
feedback endpoint and ``neuralforge monitor feedback`` both call it). A later label for the same prediction
replaces the earlier one: a correction. The label may arrive before its request is written (requests are
buffered in the replicas for up to a second), so it is kept either way and joined when both are there.

Labels compare by value, not by type: ``3``, ``3.0`` and ``"3"`` are the same class, as a label typed on a
command line must equal the integer class a model predicts.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError

MAX_ID_LENGTH = 64
MAX_LABEL_BYTES = 4096


@dataclass(frozen=True)
class Feedback:
    prediction_id: str
    label: Any
    time: float
    matched: bool  # the prediction is in the store (else it may still be buffered, or the id is wrong)


@dataclass(frozen=True)
class Accuracy:
    labelled: int  # instances with a label and a prediction
    correct: int
    per_version: dict[str, tuple[int, int]]  # version → (labelled, correct)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def as_dict(self) -> dict[str, Any]:
        return {"labelled": self.labelled, "correct": self.correct, "accuracy": self.accuracy,
                "per_version": {v: {"labelled": n, "correct": c, "accuracy": c / n if n else None}
                                for v, (n, c) in self.per_version.items()}}


def parse_label(text: str) -> Any:
    """A label typed as text: JSON when it parses (``3``, ``[1, 0]``, ``"cat"``), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _check(prediction_id: Any, label: Any) -> str:
    if not isinstance(prediction_id, str) or not prediction_id.strip():
        raise UserError("prediction_id: give the id the server returned with the prediction")
    if len(prediction_id) > MAX_ID_LENGTH or not prediction_id.isalnum():
        raise UserError(f"prediction_id: {prediction_id[:80]!r} is not a prediction id (letters and digits, "
                        f"at most {MAX_ID_LENGTH})")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise UserError("label: a feedback label cannot be empty")
    try:
        text = json.dumps(label, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"label: must be plain JSON (a class id, a name or a list of them): {exc}") from None
    if len(text.encode()) > MAX_LABEL_BYTES:
        raise UserError(f"label: at most {MAX_LABEL_BYTES} bytes of JSON")
    return text


def record_feedback(store: Any, prediction_id: str, label: Any, *, when: float | None = None) -> Feedback:
    """Keep ``label`` as the true answer for ``prediction_id`` (one label, or a list: one per instance)."""
    text = _check(prediction_id, label)
    now = time.time() if when is None else float(when)
    with store.write_transaction() as conn:
        conn.execute("INSERT INTO monitor_feedback (prediction_id, label, time) VALUES (?, ?, ?) "
                     "ON CONFLICT (prediction_id) DO UPDATE SET label = excluded.label, time = excluded.time",
                     (prediction_id, text, now))
        matched = conn.execute("SELECT 1 FROM monitor_requests WHERE prediction_id = ?",
                               (prediction_id,)).fetchone() is not None
    return Feedback(prediction_id, label, now, matched)


def same_label(a: Any, b: Any) -> bool:
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    if isinstance(value, str):
        stripped = value.strip()
        try:
            value = float(stripped)
        except ValueError:
            return stripped
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True)


def accuracy(store: Any, model_name: str, *, since: float | None = None, until: float | None = None) -> Accuracy:
    """Accuracy over the labelled predictions of ``model_name`` served in the window, per version too."""
    with store.read_transaction() as conn:
        rows = conn.execute(
            "SELECT r.version, r.predicted, f.label FROM monitor_requests r JOIN monitor_feedback f "
            "ON f.prediction_id = r.prediction_id WHERE r.model = ? AND r.time >= ? AND r.time <= ? "
            "AND r.predicted IS NOT NULL", (model_name, -1.0 if since is None else since,
                                            time.time() if until is None else until)).fetchall()
    per_version: dict[str, tuple[int, int]] = {}
    for version, predicted_text, label_text in rows:
        predicted = json.loads(predicted_text)
        label = json.loads(label_text)
        labels = label if isinstance(label, list) and len(label) == len(predicted) else [label]
        if len(labels) != len(predicted):
            continue  # one label for a batch of several instances: which one it meant is unknown
        n, c = per_version.get(version, (0, 0))
        for guess, truth in zip(predicted, labels, strict=True):
            if guess is None:
                continue
            n += 1
            c += same_label(guess, truth)
        per_version[version] = (n, c)
    return Accuracy(sum(n for n, _ in per_version.values()), sum(c for _, c in per_version.values()),
                    dict(sorted(per_version.items())))
