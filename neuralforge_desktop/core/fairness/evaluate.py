"""``evaluate_fairness``: score the evaluation set with the model, compute every sensitive column's figures,
read them in plain words, optionally mitigate, and keep the result as the run's ``fairness.json``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.fairness import mitigate
from neuralforge_desktop.core.fairness.attribute import attribute_report
from neuralforge_desktop.core.fairness.data import EvaluationData, evaluation_data
from neuralforge_desktop.core.fairness.metrics import MIN_GROUP
from neuralforge_desktop.core.fairness.model import load_scoring_model
from neuralforge_desktop.core.fairness.reading import flags, read_attribute

ARTIFACT = "fairness.json"
THRESHOLD = 0.5


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any] | None = None) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)


def column_figures(data: EvaluationData, scores: np.ndarray, pred: np.ndarray, *, resamples: int,
                   confidence: float, seed: int, rows: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Every sensitive column's report (optionally on ``rows`` only), with its reading and flags."""
    pick = slice(None) if rows is None else rows
    reports = []
    for column, groups in data.sensitive.items():
        report = attribute_report(column, data.y[pick], scores[pick], pred[pick], groups[pick],
                                  resamples=resamples, confidence=confidence, seed=seed)
        report["reading"] = read_attribute(report, confidence)
        report["flags"] = flags(report)
        reports.append(report)
    return reports


def evaluate_fairness(store: Any, ref: str, data: str | Path, sensitive: list[str], *, label: str | None = None,
                      mitigation: str | None = None, resamples: int = 500, confidence: float = 0.95,
                      seed: int = 0, save: bool = True) -> dict[str, Any]:
    """The fairness report of model ``ref`` on ``data`` (a table file or ``example:credit``) for the
    ``sensitive`` columns; saved as the run's ``fairness.json`` artifact when ``save``."""
    if mitigation is not None and mitigation not in mitigate.CONSTRAINTS:
        from neuralforge_desktop.core.errors import UserError

        raise UserError(f"--mitigate must be one of {', '.join(mitigate.CONSTRAINTS)}, got {mitigation!r}")
    model = load_scoring_model(store, ref)
    evaluation = evaluation_data(data, features=model.features, sensitive=list(sensitive),
                                 label=label or model.target, class_names=model.class_names)
    scores = model.probabilities(evaluation.x)[:, 1]
    pred = (scores >= THRESHOLD).astype(np.int64)
    settings: dict[str, Any] = {"resamples": resamples, "confidence": confidence, "seed": seed}
    report: dict[str, Any] = {
        "model": ref, "run_id": model.run_id, "model_description": model.description, "data": evaluation.source,
        "rows": int(len(evaluation.y)), "label": evaluation.label, "positive": evaluation.positive,
        "features": model.features, "threshold": THRESHOLD, "min_group_size": MIN_GROUP,
        "bootstrap": {**settings, "method": "percentile (scipy.stats.bootstrap)"}, "created": time.time(),
        "overall": {"accuracy": float(np.mean(pred == evaluation.y)), "selection_rate": float(np.mean(pred))},
        "attributes": column_figures(evaluation, scores, pred, **settings),
        "mitigation": None,
    }
    if mitigation is not None:
        report["mitigation"] = _mitigated(evaluation, scores, pred, mitigation, settings)
    report["flagged"] = sorted({f"{a['column']}: {f}" for a in report["attributes"] for f in a["flags"]})
    if save:
        store.log_artifact(model.run_id, json.dumps(report, indent=2).encode("utf-8"), name=ARTIFACT, kind="report")
    _audit(store, "fairness.evaluated", ref, {"run_id": model.run_id, "data": evaluation.source,
                                               "sensitive": list(sensitive), "flagged": report["flagged"],
                                               "mitigation": mitigation})
    return report


def _mitigated(data: EvaluationData, scores: np.ndarray, pred: np.ndarray, constraint: str,
               settings: dict[str, Any]) -> dict[str, Any]:
    """Before and after the threshold optimiser, on the half of the rows it was not fitted on, for the first
    sensitive column (the one mitigated)."""
    column = next(iter(data.sensitive))
    groups = data.sensitive[column]
    fit_rows, held = mitigate.split_halves(data.y, groups, settings["seed"])
    decide = mitigate.threshold_optimizer(constraint, scores, data.y, groups, fit_rows, settings["seed"])
    after_pred = pred.copy()
    after_pred[held] = decide(scores[held], groups[held])
    only = EvaluationData(data.source, data.x, data.y, {column: groups}, data.label, data.positive)
    before = column_figures(only, scores, pred, rows=held, **settings)[0]
    after = column_figures(only, scores, after_pred, rows=held, **settings)[0]
    return {"constraint": constraint, "column": column, "fit_rows": int(len(fit_rows)),
            "evaluated_rows": int(len(held)), "method": "fairlearn ThresholdOptimizer (post-processing)",
            "before": before, "after": after,
            "accuracy_before": float(np.mean(pred[held] == data.y[held])),
            "accuracy_after": float(np.mean(after_pred[held] == data.y[held]))}


def load_saved(store: Any, run_id: str) -> dict[str, Any] | None:
    """The run's saved fairness report, or None."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    try:
        path = store.artifact_path(run_id, ARTIFACT)
    except NotFoundError:
        return None
    result: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return result
