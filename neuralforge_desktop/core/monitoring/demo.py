"""A realistic served history written into a store: for the Monitoring view's screenshot, demos and tests.

Two versions of a tabular classifier behind one name: version 1 takes most of the traffic, version 2 is a
20 % canary from the middle of the window. Latencies are log-normal with a daily-looking swell; the canary
has a latency spike and a burst of 5xx errors late in the window; the inputs of one feature drift away from
the training data in the last third; labels come back for a share of requests and the canary's accuracy
sags with the drift. Drift reports and alert evaluations are written every ``step`` seconds, as a
monitoring loop would have done, so the history shows drift over time and the alerts it raised.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralforge_desktop.core.monitoring.alerts import evaluate_alerts
from neuralforge_desktop.core.monitoring.drift import compute_drift, save_report
from neuralforge_desktop.core.monitoring.recorder import compress_json
from neuralforge_desktop.core.monitoring.reference import sampled_inputs

FEATURES = 4
CLASSES = 3


@dataclass(frozen=True)
class DemoHistory:
    model: str
    start: float
    end: float
    requests: int
    reference: np.ndarray  # the "training data" the drift is measured against


def _reference(rng: np.random.Generator, n: int = 2000) -> np.ndarray:
    return rng.normal(0.0, 1.0, size=(n, FEATURES))


def generate_demo_history(store: Any, model_name: str = "mnist", *, hours: float = 2.0, rate: float = 3.0,
                          end: float | None = None, seed: int = 0, sample_rate: float = 0.25,
                          step: float = 600.0, alert_config: dict[str, Any] | None = None) -> DemoHistory:
    rng = np.random.default_rng(seed)
    finish = time.time() if end is None else float(end)
    start = finish - hours * 3600.0
    count = int(rng.poisson(rate * hours * 3600.0))
    times = np.sort(rng.uniform(start, finish, count))
    phase = (times - start) / (finish - start)  # 0 … 1 through the window
    canary = (phase > 0.5) & (rng.random(count) < 0.2)
    versions = np.where(canary, "2", "1")
    swell = 1.0 + 0.35 * np.sin(phase * np.pi * 2)
    latency = rng.lognormal(np.log(12.0), 0.35, count) * swell
    spike = canary & (phase > 0.78) & (phase < 0.86)
    latency[spike] *= rng.uniform(3.0, 8.0, int(spike.sum()))
    fail_p = np.where(canary & (phase > 0.8) & (phase < 0.84), 0.12, 0.004)
    ok = rng.random(count) >= fail_p
    status = np.where(ok, 200, np.where(rng.random(count) < 0.5, 500, 503))
    inputs = rng.normal(0.0, 1.0, size=(count, FEATURES))
    drift = np.clip((phase - 0.66) / 0.34, 0, 1)  # feature 2 moves away in the last third
    inputs[:, 2] += 1.6 * drift
    truth = rng.integers(0, CLASSES, count)
    accuracy = np.where(canary, 0.95 - 0.25 * drift, 0.97 - 0.08 * drift)
    right = rng.random(count) < accuracy
    predicted = np.where(right, truth, (truth + rng.integers(1, CLASSES, count)) % CLASSES)
    ids = [uuid.uuid4().hex for _ in range(count)]
    request_rows = [(ids[i], model_name, str(versions[i]), float(times[i]), float(latency[i]), int(ok[i]),
                     int(status[i]), None, json.dumps([int(predicted[i])]) if ok[i] else None) for i in range(count)]
    sampled = np.flatnonzero((rng.random(count) < sample_rate) & ok)
    sample_rows = []
    for i in sampled:
        scores = np.full(CLASSES, 0.05)
        scores[predicted[i]] = 0.9
        sample_rows.append((ids[i], model_name, str(versions[i]), float(times[i]),
                            compress_json([inputs[i].round(4).tolist()]), compress_json([scores.tolist()])))
    labelled = np.flatnonzero(ok & (rng.random(count) < 0.25))
    feedback_rows = [(ids[i], json.dumps(int(truth[i])), float(times[i]) + 30.0) for i in labelled]
    with store.write_transaction() as conn:
        conn.executemany("INSERT INTO monitor_requests (prediction_id, model, version, time, latency_ms, ok, status, "
                         "request_key, predicted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", request_rows)
        conn.executemany("INSERT INTO monitor_samples (prediction_id, model, version, time, inputs, predictions) "
                         "VALUES (?, ?, ?, ?, ?, ?)", sample_rows)
        conn.executemany("INSERT INTO monitor_feedback (prediction_id, label, time) VALUES (?, ?, ?)", feedback_rows)
    reference = _reference(rng)
    config = {"window": step, "p99_latency_ms": 60.0, "error_rate": 0.05, "drift_psi": 0.25,
              "accuracy_drop": 0.08, "baseline_accuracy": 0.96, "min_requests": 20, **(alert_config or {})}
    checkpoint = start + step
    while checkpoint <= finish + 1e-6:
        for version in ("1", "2"):
            current = sampled_inputs(store, model_name, version, since=checkpoint - step, until=checkpoint)
            if len(current) >= 20:
                save_report(store, model_name, version, compute_drift(reference, current),
                            window_start=checkpoint - step, window_end=checkpoint, when=checkpoint)
        evaluate_alerts(store, model_name, config, now=checkpoint)
        checkpoint += step
    return DemoHistory(model_name, start, finish, count, reference)
