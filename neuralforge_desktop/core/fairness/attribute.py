"""The figures for one sensitive column: per group (fairlearn's MetricFrame), the disparities (fairlearn's
functions), calibration per group, and bootstrap intervals for all of them."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralforge_desktop.core.fairness import bootstrap, metrics
from neuralforge_desktop.core.fairness.metrics import MIN_GROUP, RATES


def attribute_report(column: str, y: np.ndarray, scores: np.ndarray, pred: np.ndarray, groups: np.ndarray, *,
                     resamples: int, confidence: float, seed: int) -> dict[str, Any]:
    frame = metrics.metric_frame(y, pred, groups)
    by_group = frame.by_group
    eligible = metrics.large_groups(groups)
    intervals = (bootstrap.confidence_intervals(y, pred, groups, eligible, resamples=resamples,
                                                confidence=confidence, seed=seed)
                 if eligible else {"groups": {}, "disparities": {}})
    rows = []
    for name in sorted(str(n) for n in np.unique(groups)):
        count = int((groups == name).sum())
        sizes = metrics.denominators(y, groups, name)
        figures: dict[str, Any] = {}
        for rate in RATES:
            if sizes[rate] < MIN_GROUP:
                figures[rate] = {"too_few": sizes[rate]}
            else:
                value = float(by_group.loc[name, rate])
                figures[rate] = {"value": value, "ci": intervals["groups"].get(name, {}).get(rate)}
        row: dict[str, Any] = {"group": name, "count": count, "too_few": count < MIN_GROUP, "metrics": figures}
        if count >= MIN_GROUP:
            row["calibration"] = metrics.calibration(y, scores, groups, name)
        rows.append(row)
    report: dict[str, Any] = {"column": column, "groups": rows,
                              "excluded_groups": [r["group"] for r in rows if r["too_few"]]}
    if len(eligible) >= 2:
        values = metrics.disparities(y, pred, groups)
        report["disparities"] = {name: {"value": value, "ci": intervals["disparities"].get(name)}
                                 for name, value in values.items()}
    else:
        report["disparities"] = None
    return report
