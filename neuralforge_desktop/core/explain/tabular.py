"""SHAP values and permutation importance for tabular classifiers.

SHAP uses ``shap.KernelExplainer``: it treats the model as a black box (any layers, BatchNorm and dropout
included, which DeepExplainer's backward rules do not all cover), and its weighted regression is constrained so
that the values of an example add up exactly to its prediction minus the expected prediction over the background
(the efficiency property the card can quote). The model is explained in probabilities (softmax), which read
plainly: "this feature raised the chance of class c by 0.12". The background is a k-means summary of the
training split (``shap.kmeans``), which keeps the explainer's cost at a few thousand model calls per example.

Permutation importance is scikit-learn's ``permutation_importance`` with an accuracy scorer over the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.explain.subject import Subject, logits_of

BACKGROUND_CLUSTERS = 10
PERMUTATION_REPEATS = 5


@dataclass
class ShapResult:
    """SHAP values (examples × features) for each example's explained class, and what they add up to."""

    values: Any
    expected: Any  # the expected probability of each explained class over the background, one per example
    predicted: Any  # the model's probability of each explained class, one per example
    targets: list[int]


def probabilities(subject: Subject) -> Any:
    """numpy features → numpy class probabilities, in batches, without gradients."""
    import numpy as np
    import torch

    names = list(getattr(subject.model, "output_names", []))

    def call(features: Any) -> Any:
        with torch.no_grad():
            logits = logits_of(subject.model(torch.as_tensor(np.asarray(features, dtype=np.float32))), names)
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)
    return call


def shap_values(subject: Subject, rows: Any, targets: list[int] | None = None) -> ShapResult:
    import numpy as np
    import shap  # type: ignore[import-untyped]

    call = probabilities(subject)
    background = np.asarray(subject.background if subject.background is not None else subject.inputs[0])
    summary = shap.kmeans(background, min(BACKGROUND_CLUSTERS, len(background)))
    explainer = shap.KernelExplainer(call, summary, link="identity")
    rows = np.asarray(rows, dtype=np.float64)
    probs = call(rows)
    chosen = list(targets) if targets is not None else [int(c) for c in probs.argmax(axis=1)]
    raw = explainer.shap_values(rows, silent=True)
    # shap gives a list (one array per class) or one array examples × features × classes, by version
    per_class = np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw)
    picked = np.stack([per_class[i, :, c] for i, c in enumerate(chosen)])
    expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    return ShapResult(picked, expected[chosen], probs[np.arange(len(rows)), chosen], chosen)


class _ModelEstimator:
    """The model as scikit-learn's permutation_importance calls it: ``predict`` on a feature matrix."""

    def __init__(self, subject: Subject) -> None:
        self._call = probabilities(subject)

    def fit(self, features: Any, labels: Any) -> _ModelEstimator:  # trained already: nothing to fit
        return self

    def predict(self, features: Any) -> Any:
        return self._call(features).argmax(axis=1)


def _accuracy(estimator: _ModelEstimator, features: Any, labels: Any) -> float:
    import numpy as np

    return float(np.mean(estimator.predict(features) == labels))


def permutation(subject: Subject, count: int) -> dict[str, Any]:
    """Mean and standard deviation of the accuracy lost per feature over ``count`` validation examples."""
    import numpy as np
    from sklearn.inspection import permutation_importance

    rows = np.asarray(subject.inputs[0][:count])
    labels = np.asarray(subject.labels[:count]) if subject.labels is not None else None
    if labels is None:
        from neuralforge_desktop.core.errors import UserError

        raise UserError(f"run {subject.run_id}: its dataset has no class labels, so no accuracy to permute")
    found = permutation_importance(_ModelEstimator(subject), rows, labels, scoring=_accuracy,
                                   n_repeats=PERMUTATION_REPEATS, random_state=0)
    return {"mean": found.importances_mean, "std": found.importances_std,
            "baseline_accuracy": _accuracy(_ModelEstimator(subject), rows, labels)}
