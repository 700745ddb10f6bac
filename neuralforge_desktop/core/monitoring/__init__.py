"""Monitoring of served models: every request's latency, version and outcome, sampled inputs and
predictions, input drift against the training data, accuracy from labels sent back, and alerts.

    recorder = RequestRecorder(store_path, "mnist", sample_rate=0.1)   # in each serving replica
    prediction_id = recorder.record(version="2", latency_ms=3.1, ok=True, status=200, request_key=None,
                                    inputs=instances, predictions=outputs)
    record_feedback(store, prediction_id, 7)                          # the true label, later
    report = monitor_report(store, "mnist", since=time.time() - 3600)  # figures, drift, accuracy, alerts

The tables are the store's (schema v8); nothing here imports Qt, torch or Ray.
"""

from neuralforge_desktop.core.monitoring.alerts import evaluate_alerts, list_alerts, load_config, parse_duration
from neuralforge_desktop.core.monitoring.feedback import accuracy, record_feedback
from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
from neuralforge_desktop.core.monitoring.report import known_models, monitor_report

__all__ = ["RequestRecorder", "accuracy", "evaluate_alerts", "known_models", "list_alerts", "load_config",
           "monitor_report", "parse_duration", "record_feedback"]
