"""Everything monitoring knows about one served model, gathered in one plain dict (the CLI prints it, the
app plots it, ``--json`` hands it to other tools)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.monitoring import alerts, feedback, stats
from neuralforge_desktop.core.monitoring.drift import drift_history
from neuralforge_desktop.core.monitoring.reference import check_drift

log = logging.getLogger(__name__)


def known_models(store: Any) -> list[str]:
    with store.read_transaction() as conn:
        return [str(m) for (m,) in conn.execute("SELECT DISTINCT model FROM monitor_requests ORDER BY model")]


def monitor_report(store: Any, model_name: str, *, since: float | None = None, until: float | None = None,
                   alert_config: dict[str, Any] | str | Path | None = None, refresh_drift: bool = True,
                   evaluate: bool = True, reference: np.ndarray | None = None,
                   bucket_seconds: float | None = None) -> dict[str, Any]:
    """The figures of ``model_name`` served in [since, until] (``since`` None: everything recorded).

    ``refresh_drift``: compute drift of the window's sampled inputs against the training data now (stored as
    a drift report) before reading the drift history; ``evaluate``: judge the alert thresholds
    (``alert_config``, see :mod:`.alerts`) so new breaches are raised before open alerts are listed. A drift
    check that cannot run (no training data found, a dataset not on this machine) leaves a note, not an error.
    """
    end = time.time() if until is None else float(until)
    requests = stats.load_requests(store, model_name, since=since, until=end)
    known = known_models(store) if len(requests) == 0 else [model_name]
    if model_name not in known:
        raise UserError(f"no served requests of model {model_name!r} in the store"
                        + (f"; models with requests: {', '.join(known)}" if known else
                           " (none yet: `neuralforge serve` records every request it answers)"))
    notes: list[str] = []
    if refresh_drift:
        try:
            skipped: dict[str, str] = {}
            check_drift(store, model_name, since=since, until=end, reference=reference, skipped=skipped)
            notes += [f"drift of version {version} not computed: {why}" for version, why in skipped.items()]
        except UserError as exc:
            notes.append(f"drift not computed: {exc}")
        except Exception as exc:  # a dataset that fails to load must not hide the serving figures
            log.exception("drift check of %s failed", model_name)
            notes.append(f"drift not computed: {type(exc).__name__}: {exc}")
    new_alerts = alerts.evaluate_alerts(store, model_name, alert_config, now=end) if evaluate else []
    history = drift_history(store, model_name, since=since)
    latest: dict[str, dict[str, Any]] = {}
    for when, version, report in history:
        latest[version] = {"time": when, **report.as_dict()}
    scored = feedback.accuracy(store, model_name, since=since, until=end)
    return {
        "model": model_name,
        "since": requests.start,
        "until": end,
        "summary": stats.summary(requests).as_dict(),
        "versions": stats.per_version(requests),
        "over_time": stats.over_time(requests, bucket_seconds).as_dict(),
        "drift": {"latest": latest,
                  "history": [{"time": t, "version": v, "max_psi": r.max_psi,
                               "features": {f.name: f.psi for f in r.features}} for t, v, r in history]},
        "accuracy": scored.as_dict(),
        "alerts": {"open": [a.as_dict() | {"text": a.describe()} for a in alerts.list_alerts(
                       store, model_name, open_only=True)],
                   "raised_now": [a.id for a in new_alerts]},
        "notes": notes,
    }
