"""Input drift: are the inputs a model is served still like the data it was trained on?

The served side is the sampled inputs (``monitor_samples``); the reference is a sample of the training split
of the dataset the model's run trained on (:mod:`.reference`). Two measures per feature, both standard:

* PSI (population stability index) over ten bins cut at the reference's deciles: the usual reading is
  below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a major shift (see :func:`verdict`).
* The two-sample Kolmogorov–Smirnov test (``scipy.stats.ks_2samp``): its statistic (the largest gap between
  the two distribution functions) and p-value.

Tabular inputs (N×F) get one row per feature. Images (N×C×H×W) get, per channel, the PSI of the pixel
intensity histogram and KS on the per-image channel mean (brightness), and one row for the per-image
standard deviation (contrast): summary statistics rather than a model embedding, which would need the
model loaded here and more than one forward pass per refresh.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError

PSI_MODERATE, PSI_MAJOR = 0.1, 0.25
KS_PVALUE = 0.01  # a KS difference counts only when this unlikely under "same distribution" …
KS_STATISTIC = 0.1  # … and large enough to matter (with thousands of samples tiny gaps are "significant")
PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin's share, so the logarithm stays finite
MAX_PIXELS = 200_000  # pixels per channel drawn for the intensity histograms


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    psi: float
    ks_statistic: float
    ks_pvalue: float
    reference_mean: float
    current_mean: float
    reference_std: float
    current_std: float
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    kind: str  # "tabular" | "image"
    samples: int  # served instances compared
    reference_samples: int
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def max_psi(self) -> float | None:
        """The largest PSI among the features that shifted (0 when none did; None with no features): the
        figure the drift alert watches. Features judged stable are left out, so noise is not an alert."""
        if not self.features:
            return None
        return max((f.psi for f in self.features if f.verdict != "stable"), default=0.0)

    @property
    def verdict(self) -> str:
        drifted = [f.name for f in self.features if f.verdict != "stable"]
        if not drifted:
            return "inputs look like the training data"
        worst = max(self.features, key=lambda f: f.psi)
        return (f"{len(drifted)} of {len(self.features)} {'channels' if self.kind == 'image' else 'features'} "
                f"drifted; the largest shift is {worst.name} (PSI {worst.psi:.2f}: {worst.verdict})")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "samples": self.samples, "reference_samples": self.reference_samples,
                "max_psi": self.max_psi, "verdict": self.verdict, "features": [f.as_dict() for f in self.features]}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> DriftReport:
        return DriftReport(kind=str(data["kind"]), samples=int(data["samples"]),
                           reference_samples=int(data["reference_samples"]),
                           features=[FeatureDrift(**f) for f in data["features"]])


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of ``current`` against ``reference``, bins cut at the reference's quantiles."""
    reference = np.asarray(reference, dtype=np.float64).ravel()
    current = np.asarray(current, dtype=np.float64).ravel()
    if len(reference) == 0 or len(current) == 0:
        raise UserError("drift: PSI needs values on both sides (the reference or the served sample is empty)")
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    # Right-closed bins: a constant feature puts its value in one bin on both sides (PSI 0).
    expected = np.bincount(np.searchsorted(inner, reference, side="left"), minlength=len(inner) + 1)
    actual = np.bincount(np.searchsorted(inner, current, side="left"), minlength=len(inner) + 1)
    e = np.maximum(expected / len(reference), PSI_FLOOR)
    a = np.maximum(actual / len(current), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    try:
        from scipy.stats import ks_2samp
    except ImportError:
        raise UserError("drift: the KS test needs scipy, which is not installed here; install it with "
                        "`pip install neuralforge-desktop[stats]`") from None

    result = ks_2samp(np.asarray(reference, dtype=np.float64).ravel(), np.asarray(current, dtype=np.float64).ravel())
    return float(result.statistic), float(result.pvalue)


def verdict(psi_value: float, ks_statistic: float, ks_pvalue: float) -> str:
    """KS decides whether there is a shift at all, PSI how large it is. PSI alone is biased upwards on small
    samples (about bins / n for two samples of one distribution: 0.3 with 30 served instances), so it never
    reports a shift by itself that the KS test cannot tell from chance."""
    if ks_pvalue >= KS_PVALUE:
        return "stable"
    if psi_value >= PSI_MAJOR:
        return "major shift"
    if psi_value >= PSI_MODERATE or ks_statistic >= KS_STATISTIC:
        return "moderate shift"
    return "stable"


def _feature(name: str, ref_psi: np.ndarray, cur_psi: np.ndarray, ref_ks: np.ndarray,
             cur_ks: np.ndarray) -> FeatureDrift:
    p = psi(ref_psi, cur_psi)
    statistic, pvalue = ks(ref_ks, cur_ks)
    return FeatureDrift(name=name, psi=p, ks_statistic=statistic, ks_pvalue=pvalue,
                        reference_mean=float(np.mean(ref_ks)), current_mean=float(np.mean(cur_ks)),
                        reference_std=float(np.std(ref_ks)), current_std=float(np.std(cur_ks)),
                        verdict=verdict(p, statistic, pvalue))


def tabular_drift(reference: np.ndarray, current: np.ndarray, names: list[str] | None = None) -> DriftReport:
    reference = reference.reshape(len(reference), -1).astype(np.float64)
    current = current.reshape(len(current), -1).astype(np.float64)
    if reference.shape[1] != current.shape[1]:
        raise UserError(f"drift: served inputs have {current.shape[1]} features, the training data "
                        f"{reference.shape[1]}")
    names = names if names is not None and len(names) == reference.shape[1] else [
        f"feature {i}" for i in range(reference.shape[1])]
    features = [_feature(names[i], reference[:, i], current[:, i], reference[:, i], current[:, i])
                for i in range(reference.shape[1])]
    return DriftReport("tabular", len(current), len(reference), features)


def _pixels(images: np.ndarray, channel: int, rng: np.random.Generator) -> np.ndarray:
    values = images[:, channel].ravel()
    if len(values) > MAX_PIXELS:
        values = values[rng.choice(len(values), MAX_PIXELS, replace=False)]
    return values


def image_drift(reference: np.ndarray, current: np.ndarray) -> DriftReport:
    if reference.shape[1:] != current.shape[1:]:
        raise UserError(f"drift: served images have shape {tuple(current.shape[1:])}, the training data "
                        f"{tuple(reference.shape[1:])}")
    rng = np.random.default_rng(0)
    reference = reference.astype(np.float64)
    current = current.astype(np.float64)
    features = []
    for c in range(reference.shape[1]):
        features.append(_feature(f"channel {c}", _pixels(reference, c, rng), _pixels(current, c, rng),
                                 reference[:, c].mean(axis=(1, 2)), current[:, c].mean(axis=(1, 2))))
    ref_contrast = reference.reshape(len(reference), -1).std(axis=1)
    cur_contrast = current.reshape(len(current), -1).std(axis=1)
    features.append(_feature("contrast (per-image std)", ref_contrast, cur_contrast, ref_contrast, cur_contrast))
    return DriftReport("image", len(current), len(reference), features)


def compute_drift(reference: np.ndarray, current: np.ndarray, names: list[str] | None = None) -> DriftReport:
    """Images when instances are C×H×W (or H×W: one channel), else one feature per value."""
    if len(reference) == 0 or len(current) == 0:
        raise UserError("drift: nothing to compare (the reference or the served sample is empty)")
    if reference.ndim == 3 and current.ndim == 3:
        reference, current = reference[:, None], current[:, None]
    if reference.ndim == 4:
        return image_drift(reference, current)
    return tabular_drift(reference, current, names)


# -- stored reports ------------------------------------------------------------------------------------------


def save_report(store: Any, model_name: str, version: str, report: DriftReport, *, window_start: float,
                window_end: float, when: float | None = None) -> None:
    from neuralforge_desktop.core.monitoring.recorder import compress_json

    with store.write_transaction() as conn:
        conn.execute("INSERT INTO monitor_drift (model, version, time, window_start, window_end, samples, max_psi, "
                     "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (model_name, version, time.time() if when is None else when, window_start, window_end,
                      report.samples, report.max_psi, compress_json(report.as_dict())))


def drift_history(store: Any, model_name: str, *, since: float | None = None
                  ) -> list[tuple[float, str, DriftReport]]:
    """Stored reports of ``model_name`` (time, version, report), oldest first."""
    from neuralforge_desktop.core.monitoring.recorder import decompress_json

    with store.read_transaction() as conn:
        rows = conn.execute("SELECT time, version, data FROM monitor_drift WHERE model = ? AND time >= ? ORDER BY "
                            "time, id", (model_name, -1.0 if since is None else since)).fetchall()
    return [(float(t), str(v), DriftReport.from_dict(decompress_json(blob))) for t, v, blob in rows]
