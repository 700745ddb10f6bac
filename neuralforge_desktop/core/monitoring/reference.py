"""The two sides drift compares: the served inputs that were sampled, and a sample of the training data.

The training data is found from the model version: the registry (``core.registry.resolve``) gives the run it
came from, the run's params say how it loaded its dataset (name, seed, split, limit, normalisation, loader
options), and :func:`~neuralforge_desktop.core.training.datasets.load_dataset` loads it again the same way,
so the reference is in the same space as what the model is served (normalised as in training).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import Counter
from typing import Any

import numpy as np

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.monitoring.drift import DriftReport, compute_drift, save_report
from neuralforge_desktop.core.monitoring.recorder import decompress_json

log = logging.getLogger(__name__)
REFERENCE_SIZE = 2000
MAX_SAMPLED_REQUESTS = 5000  # the latest ones: a long window's drift is that of its recent traffic
_CACHE: dict[tuple[str, str], tuple[np.ndarray, list[str] | None]] = {}  # (store, run id) → sample; runs do not change


def sampled_inputs(store: Any, model_name: str, version: str, *, since: float | None = None,
                   until: float | None = None, limit: int = MAX_SAMPLED_REQUESTS) -> np.ndarray:
    """The sampled served instances of one version (of the latest ``limit`` sampled requests in the window),
    stacked; instances whose shape differs from the most common one (malformed requests that were still
    recorded) are left out."""
    with store.read_transaction() as conn:
        rows = conn.execute("SELECT inputs FROM monitor_samples WHERE model = ? AND version = ? AND time >= ? AND "
                            "time <= ? AND inputs IS NOT NULL ORDER BY time DESC LIMIT ?",
                            (model_name, version, -1.0 if since is None else since,
                             time.time() if until is None else until, int(limit))).fetchall()
    instances: list[np.ndarray] = []
    for (blob,) in rows:
        try:
            for instance in decompress_json(blob):
                instances.append(np.asarray(instance, dtype=np.float64))
        except (ValueError, TypeError):
            continue  # a ragged or non-numeric instance cannot be compared
    if not instances:
        return np.zeros((0,))
    shape, _count = Counter(i.shape for i in instances).most_common(1)[0]
    return np.stack([i for i in instances if i.shape == shape])


def run_of_version(store: Any, model_name: str, version: str) -> str | None:
    """The run a registered model version came from, or None when the registry does not know it."""
    try:
        registry = importlib.import_module("neuralforge_desktop.core.registry")
    except ImportError:
        return None
    try:
        return str(registry.resolve(store, f"{model_name}@{version}").run_id)
    except Exception as exc:  # an unregistered name or version: drift is then not computed, not an error
        log.info("no registered version %s@%s for the drift reference: %s", model_name, version, exc)
        return None


def training_reference(store: Any, run_id: str, size: int = REFERENCE_SIZE) -> tuple[np.ndarray, list[str] | None]:
    """A seeded random sample of the run's training split, loaded as the run loaded it; feature names if any."""
    key = (str(store.path), run_id)
    if key not in _CACHE:
        from neuralforge_desktop.core.training.datasets import load_dataset

        params = store.get_run(run_id).params
        if "dataset" not in params:
            raise UserError(f"run {run_id}: it records no dataset, so there is no training data to compare with")
        bundle = load_dataset(str(params["dataset"]), val_fraction=float(params.get("val_fraction", 0.1)),
                              seed=int(params.get("seed", 0)), normalize=bool(params.get("normalize", True)),
                              limit=params.get("limit"), options=dict(params.get("dataset_options", {}) or {}))
        x = np.asarray(bundle.train.x)
        pick = np.random.default_rng(0).choice(len(x), min(size, len(x)), replace=False)
        names = getattr(bundle, "feature_names", None)
        _CACHE[key] = (x[np.sort(pick)], list(names) if names else None)
    return _CACHE[key]


def versions_sampled(store: Any, model_name: str, since: float | None) -> list[str]:
    with store.read_transaction() as conn:
        rows = conn.execute("SELECT DISTINCT version FROM monitor_samples WHERE model = ? AND time >= ?",
                            (model_name, -1.0 if since is None else since)).fetchall()
    return sorted(str(v) for (v,) in rows)


def check_drift(store: Any, model_name: str, *, since: float | None = None, until: float | None = None,
                reference: np.ndarray | None = None, names: list[str] | None = None, min_samples: int = 20,
                save: bool = True, skipped: dict[str, str] | None = None) -> dict[str, DriftReport]:
    """Drift of each version's sampled inputs in the window against the training data (``reference`` when
    given, else the registered version's run's dataset); stored in ``monitor_drift`` when ``save``. Versions
    with fewer than ``min_samples`` sampled instances, or no known training data, are left out (and why, in
    ``skipped`` when given)."""
    why = skipped if skipped is not None else {}
    end = time.time() if until is None else until
    reports: dict[str, DriftReport] = {}
    for version in versions_sampled(store, model_name, since):
        current = sampled_inputs(store, model_name, version, since=since, until=end)
        if len(current) < min_samples:
            why[version] = f"{len(current)} sampled inputs, fewer than the {min_samples} needed"
            continue
        ref, ref_names = reference, names
        if ref is None:
            run_id = run_of_version(store, model_name, version)
            if run_id is None:
                why[version] = f"{model_name}@{version} is not in the model registry, so its training data is unknown"
                continue
            ref, ref_names = training_reference(store, run_id)
        report = compute_drift(ref, current, ref_names)
        reports[version] = report
        if save:
            save_report(store, model_name, version, report, window_start=-1.0 if since is None else since,
                        window_end=end, when=end)
    return reports


__all__ = ["DriftReport", "check_drift", "run_of_version", "sampled_inputs", "training_reference"]
