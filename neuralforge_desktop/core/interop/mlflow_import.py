"""Runs made elsewhere, from a file-based MLflow tracking directory into the store.

Read with MLflow's own client: each MLflow run becomes a run in the NeuralForge experiment of the same name,
with its params, every metric point (step, value, time, through the store's batch API), its user tags and
its artifacts. The MLflow run id is kept in the tag ``mlflow.run_id``; a run imported before is skipped.
The store stamps a run's creation time itself: MLflow's start time is kept in the tag ``mlflow.start_time``.
Params come back as the values the export wrote (JSON text → number, boolean, list); other text stays text.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralforge_desktop.core.interop.mlflow_export import RUN_ID_TAG, file_store_allowed, tracking_uri
from neuralforge_desktop.core.store.entities import MetricSeries, RunStatus
from neuralforge_desktop.core.store.sqlite_store import Store

MLFLOW_RUN_TAG = "mlflow.run_id"
START_TAG = "mlflow.start_time"
IMPORTED_TAG = "imported_from"
STORE_STATUS: dict[str, RunStatus] = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "stopped"}
PAGE = 1000


@dataclass(slots=True)
class ImportSummary:
    imported: list[tuple[str, str]] = field(default_factory=list)  # (MLflow run id, NeuralForge run id)
    skipped: list[str] = field(default_factory=list)
    points: int = 0
    artifacts: int = 0


def param_value(text: str) -> Any:
    """An MLflow param (always text) as a value: JSON numbers, booleans, lists and objects become those
    (``"0.01"`` → 0.01, as the export writes them); anything else stays the text it is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, str) else value


def _all_runs(client: Any, experiment_id: str) -> list[Any]:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], max_results=PAGE, page_token=token, order_by=["start_time ASC"])
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _artifact_files(client: Any, run_id: str, path: str | None = None) -> list[str]:
    files: list[str] = []
    for info in client.list_artifacts(run_id, path):
        files.extend(_artifact_files(client, run_id, info.path) if info.is_dir else [info.path])
    return files


def _series(client: Any, run_id: str, key: str) -> MetricSeries:
    history = client.get_metric_history(run_id, key)
    return MetricSeries(key, np.array([m.step for m in history], dtype=np.int64),
                        np.array([m.value for m in history], dtype=np.float64),
                        np.array([m.timestamp / 1000.0 for m in history], dtype=np.float64))


def import_run(store: Store, client: Any, mlflow_run: Any, experiment: str) -> tuple[str, int, int]:
    """One MLflow run into the store; returns (NeuralForge run id, metric points, artifacts)."""
    info, data = mlflow_run.info, mlflow_run.data
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.") and k != RUN_ID_TAG}
    tags.update({MLFLOW_RUN_TAG: info.run_id, IMPORTED_TAG: "mlflow", START_TAG: str(info.start_time)})
    name = info.run_name or data.tags.get("mlflow.runName") or None
    status = STORE_STATUS.get(info.status, "stopped")  # a run still RUNNING elsewhere is no process of ours
    params = {k: param_value(v) for k, v in data.params.items()}
    run = store.create_run(experiment, name, params=params, tags=tags, environment={}, status=status)
    series = [_series(client, info.run_id, key) for key in sorted(data.metrics)]
    if series:
        store.log_batch(run.id, metrics=series)
    if info.end_time:
        store.set_status(run.id, status, end=info.end_time / 1000.0)
    artifacts = 0
    files = _artifact_files(client, info.run_id)
    if files:
        with tempfile.TemporaryDirectory(prefix="nf-mlflow-") as scratch:
            for path in files:
                local = client.download_artifacts(info.run_id, path, scratch)
                store.log_artifact(run.id, local, name=path)
                artifacts += 1
    return run.id, sum(len(s) for s in series), artifacts


def import_from_mlflow(store: Store, directory: str | os.PathLike[str],
                       experiments: list[str] | None = None) -> ImportSummary:
    """Import every run (of the named MLflow experiments, or all) from the tracking directory."""
    from mlflow.tracking import MlflowClient

    if not Path(directory).is_dir():
        raise FileNotFoundError(2, "no MLflow tracking directory", str(directory))
    summary = ImportSummary()
    with file_store_allowed():
        client = MlflowClient(tracking_uri=tracking_uri(directory))
        for experiment in client.search_experiments():
            if experiments and experiment.name not in experiments:
                continue
            for mlflow_run in _all_runs(client, experiment.experiment_id):
                if store.list_runs(tags={MLFLOW_RUN_TAG: mlflow_run.info.run_id}, limit=1):
                    summary.skipped.append(mlflow_run.info.run_id)
                    continue
                run_id, points, artifacts = import_run(store, client, mlflow_run, experiment.name)
                summary.imported.append((mlflow_run.info.run_id, run_id))
                summary.points += points
                summary.artifacts += artifacts
    return summary
