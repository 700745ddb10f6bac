"""Bootstrap confidence intervals (scipy.stats.bootstrap, percentile method, seeded, rows resampled with their
label, prediction and group together) for the per-group rates and the disparities.

Re-running fairlearn's ``MetricFrame`` on every resample takes ~85 ms each here (its pandas group-by), so the
resamples are scored by one vectorised statistic over all of them at once; the tests check that on the
original rows it gives exactly fairlearn's figures, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralforge_desktop.core.fairness.metrics import RATES

DISPARITIES = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")


def _rate(hits: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(hits / total)


def figures(y: np.ndarray, pred: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    """Per group (in code order) accuracy, selection rate, TPR, FPR, then the three disparities; works on
    one sample (1-D arrays) or a stack of resamples (last axis = rows)."""
    rows: list[np.ndarray] = []
    sel, tpr, fpr = [], [], []
    for k in range(groups):
        inside = codes == k
        n = inside.sum(axis=-1)
        pos, neg = (inside & (y == 1)), (inside & (y == 0))
        rates = [_rate((inside & (pred == y)).sum(axis=-1), n), _rate((inside & (pred == 1)).sum(axis=-1), n),
                 _rate((pos & (pred == 1)).sum(axis=-1), pos.sum(axis=-1)),
                 _rate((neg & (pred == 1)).sum(axis=-1), neg.sum(axis=-1))]
        rows.extend(rates)
        sel.append(rates[1])
        tpr.append(rates[2])
        fpr.append(rates[3])
    s, t, f = np.stack(sel), np.stack(tpr), np.stack(fpr)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = s.min(axis=0) / s.max(axis=0)
    rows += [s.max(axis=0) - s.min(axis=0), ratio,
             np.maximum(t.max(axis=0) - t.min(axis=0), f.max(axis=0) - f.min(axis=0))]
    return np.stack(rows)


def confidence_intervals(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, names: list[str], *,
                         resamples: int, confidence: float, seed: int) -> dict[str, Any]:
    """{"groups": {name: {rate: (low, high)}}, "disparities": {name: (low, high)}} over the groups ``names``
    (rows of other groups are left out first). An interval that some resample cannot define is None."""
    from scipy.stats import bootstrap

    keep = np.isin(groups, names)
    codes = np.searchsorted(np.asarray(names), groups[keep])
    y, pred = y[keep].astype(np.int8), pred[keep].astype(np.int8)

    def statistic(y_: np.ndarray, pred_: np.ndarray, codes_: np.ndarray, axis: int = -1) -> np.ndarray:
        return figures(y_, pred_, codes_, len(names))

    result = bootstrap((y, pred, codes), statistic, paired=True, vectorized=True, n_resamples=resamples,
                       confidence_level=confidence, method="percentile", random_state=seed, batch=50)
    low, high = result.confidence_interval.low, result.confidence_interval.high

    def interval(i: int) -> tuple[float, float] | None:
        if not (np.isfinite(low[i]) and np.isfinite(high[i])):
            return None
        return float(low[i]), float(high[i])

    per_group = {name: {rate: interval(g * len(RATES) + r) for r, rate in enumerate(RATES)}
                 for g, name in enumerate(names)}
    base = len(names) * len(RATES)
    return {"groups": per_group, "disparities": {d: interval(base + i) for i, d in enumerate(DISPARITIES)}}
