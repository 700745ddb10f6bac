"""Post-processing mitigation with fairlearn's ``ThresholdOptimizer``: per-group thresholds on the model's
score that satisfy demographic parity or equalised odds. It is fitted on one half of the evaluation set
(seeded, stratified by group and label) and judged on the other half, so the "after" figures are not measured
on the rows the thresholds were chosen on."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError

CONSTRAINTS = ("demographic_parity", "equalized_odds")


def _given_scores() -> Any:
    from sklearn.base import BaseEstimator, ClassifierMixin

    class GivenScores(ClassifierMixin, BaseEstimator):
        """The model's positive-class probability, passed in as the only column: lets ThresholdOptimizer
        post-process a model it cannot call itself."""

        def fit(self, x: Any, y: Any) -> GivenScores:
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, x: Any) -> np.ndarray:
            s = np.asarray(x, dtype=np.float64)[:, 0]
            return np.column_stack([1.0 - s, s])

        def predict(self, x: Any) -> np.ndarray:
            return (np.asarray(x, dtype=np.float64)[:, 0] >= 0.5).astype(np.int64)

    return GivenScores


def split_halves(y: np.ndarray, groups: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    strata = np.char.add(groups.astype(str), y.astype(str))
    _, counts = np.unique(strata, return_counts=True)
    fit, held = train_test_split(index, test_size=0.5, random_state=seed,
                                 stratify=strata if counts.min() >= 2 else None)
    return np.sort(fit), np.sort(held)


def threshold_optimizer(constraint: str, scores: np.ndarray, y: np.ndarray, groups: np.ndarray,
                        fit_rows: np.ndarray, seed: int) -> Any:
    """Fit the optimiser on ``fit_rows``; returns a function (scores, groups) → mitigated 0/1 decisions."""
    from fairlearn.postprocessing import ThresholdOptimizer  # type: ignore[import-untyped]

    if constraint not in CONSTRAINTS:
        raise UserError(f"--mitigate must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    estimator = _given_scores()().fit(scores[:, None], y)
    optimizer = ThresholdOptimizer(estimator=estimator, constraints=constraint, prefit=True,
                                   predict_method="predict_proba")
    try:
        optimizer.fit(scores[fit_rows, None], y[fit_rows], sensitive_features=groups[fit_rows])
    except ValueError as exc:  # e.g. a group whose fitting half has one label only
        raise UserError(f"mitigation ({constraint}) could not be fitted: {exc}") from None

    def decide(s: np.ndarray, g: np.ndarray) -> np.ndarray:
        return np.asarray(optimizer.predict(s[:, None], sensitive_features=g, random_state=seed), dtype=np.int64)

    return decide
