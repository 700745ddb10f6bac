"""Per-group figures and disparities, computed by fairlearn (``MetricFrame`` and its disparity functions), and
calibration per group (scikit-learn's ``calibration_curve``).

A group with fewer than ``MIN_GROUP`` examples gets no figures: a rate over a dozen people swings by tens of
points from one person to the next. A rate whose own denominator (positives for TPR, negatives for FPR) is
below it is withheld the same way. Disparities are taken over the groups that are large enough.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_GROUP = 30
RATES = ("accuracy", "selection_rate", "tpr", "fpr")
CALIBRATION_BINS = 10


def _metric_functions() -> dict[str, Any]:
    from fairlearn.metrics import (  # type: ignore[import-untyped]
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    return {"accuracy": accuracy_score, "selection_rate": selection_rate, "tpr": true_positive_rate,
            "fpr": false_positive_rate, "count": count}


def metric_frame(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> Any:
    from fairlearn.metrics import MetricFrame

    return MetricFrame(metrics=_metric_functions(), y_true=y, y_pred=pred, sensitive_features=groups)


def denominators(y: np.ndarray, groups: np.ndarray, name: str) -> dict[str, int]:
    """How many examples each rate of group ``name`` is taken over."""
    inside = groups == name
    return {"accuracy": int(inside.sum()), "selection_rate": int(inside.sum()),
            "tpr": int((inside & (y == 1)).sum()), "fpr": int((inside & (y == 0)).sum())}


def large_groups(groups: np.ndarray) -> list[str]:
    names, counts = np.unique(groups, return_counts=True)
    return [str(n) for n, c in zip(names, counts, strict=True) if c >= MIN_GROUP]


def disparities(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """fairlearn's demographic parity difference and ratio and equalised odds difference over the large
    enough groups (between groups: largest minus smallest, smallest over largest)."""
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
    )

    keep = np.isin(groups, large_groups(groups))
    y, pred, groups = y[keep], pred[keep], groups[keep]
    return {
        "demographic_parity_difference": float(demographic_parity_difference(y, pred, sensitive_features=groups)),
        "demographic_parity_ratio": float(demographic_parity_ratio(y, pred, sensitive_features=groups)),
        "equalized_odds_difference": float(equalized_odds_difference(y, pred, sensitive_features=groups)),
    }


def calibration(y: np.ndarray, scores: np.ndarray, groups: np.ndarray, name: str,
                bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """The reliability curve (mean predicted probability → observed rate, over the non-empty of ``bins``
    equal-width bins) and the expected calibration error: the bins' |observed − predicted|, weighted by how
    many examples fall in each."""
    from sklearn.calibration import calibration_curve

    inside = groups == name
    prob_true, prob_pred = calibration_curve(y[inside], scores[inside], n_bins=bins, strategy="uniform")
    # the same edges calibration_curve uses, to weight its non-empty bins by their sizes
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], scores[inside], side="right"), minlength=bins)
    counts = counts[counts > 0]
    ece = float(np.sum(counts * np.abs(prob_true - prob_pred)) / counts.sum())
    return {"prob_true": [float(v) for v in prob_true], "prob_pred": [float(v) for v in prob_pred],
            "bin_counts": [int(c) for c in counts], "ece": ece}
