"""Runs into a file-based MLflow tracking directory (``mlflow ui --backend-store-uri DIR`` shows them).

Written with MLflow's own client, so the layout is whatever this MLflow version reads: one MLflow experiment
per NeuralForge experiment (same name), one MLflow run per run with its params, every metric point (step,
value, time), its tags and its artifacts. The NeuralForge run id goes into the tag ``neuralforge.run_id``;
a run already exported to the directory is skipped, so exporting again adds only the new runs.

MLflow 3 keeps its file store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE=true``;
a directory of plain files is what other machines and ``mlflow ui`` read without a database, so the export
and import opt in for their own duration (:func:`file_store_allowed`). ``mlflow ui`` needs the same
variable to open the directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.store import batch
from neuralforge_desktop.core.store.entities import Run
from neuralforge_desktop.core.store.sqlite_store import Store

RUN_ID_TAG = "neuralforge.run_id"
EXPERIMENT_TAG = "neuralforge.experiment"
# MLflow's limits per log_batch call (1,000 metrics, 100 params, 100 tags in all, 1,000 entities).
METRICS_PER_BATCH = 1000
PARAMS_PER_BATCH = 100
MLFLOW_STATUS = {"finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED", "stopped": "KILLED"}


@dataclass(slots=True)
class ExportSummary:
    exported: list[tuple[str, str]] = field(default_factory=list)  # (NeuralForge run id, MLflow run id)
    skipped: list[str] = field(default_factory=list)  # already in the directory
    points: int = 0
    artifacts: int = 0


ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"


@contextlib.contextmanager
def file_store_allowed() -> Iterator[None]:
    """Let MLflow open a file-based tracking directory while inside (the variable is put back after)."""
    before = os.environ.get(ALLOW_FILE_STORE)
    os.environ[ALLOW_FILE_STORE] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOW_FILE_STORE, None)
        else:
            os.environ[ALLOW_FILE_STORE] = before


def tracking_uri(directory: str | os.PathLike[str]) -> str:
    return Path(directory).resolve().as_uri()


def param_value_text(value: object) -> str:
    """MLflow params are text: a string as it is, anything else as JSON (``true``, ``0.01``, ``[3, 3]``), which
    the import reads back to the same value."""
    return value if isinstance(value, str) else batch.param_text(value)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    return str(client.create_experiment(name, tags={EXPERIMENT_TAG: name}))


def _already_exported(client: Any, experiment_id: str, run_id: str) -> bool:
    found = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'", max_results=1)
    return bool(found)


def export_run(store: Store, client: Any, run: Run, experiment_id: str) -> tuple[str, int, int]:
    """One run into MLflow; returns (MLflow run id, metric points, artifacts)."""
    from mlflow.entities import Metric, Param

    tags = {**{k: str(v) for k, v in run.tags.items()}, RUN_ID_TAG: run.id, EXPERIMENT_TAG: run.experiment}
    if run.graph_sha256:
        tags["neuralforge.graph_sha256"] = run.graph_sha256
    started = run.started if run.started is not None else run.created
    created = client.create_run(experiment_id, start_time=int(started * 1000), tags=tags, run_name=run.name)
    mlflow_id = created.info.run_id
    params = [Param(str(k), param_value_text(v)) for k, v in sorted(run.params.items())]
    for chunk in _chunks(params, PARAMS_PER_BATCH):
        client.log_batch(mlflow_id, params=chunk)
    points = 0
    for name in store.metric_names(run.id):
        series = store.metric_history(run.id, name)
        metrics = [Metric(name, float(v), int(t * 1000), int(s))
                   for s, v, t in zip(series.steps.tolist(), series.values.tolist(), series.timestamps.tolist(),
                                      strict=True)]
        for chunk in _chunks(metrics, METRICS_PER_BATCH):
            client.log_batch(mlflow_id, metrics=chunk)
        points += len(metrics)
    artifacts = 0
    stored = store.list_artifacts(run.id)
    if stored:
        with tempfile.TemporaryDirectory(prefix="nf-mlflow-") as scratch:
            for artifact in stored:
                # The store keeps content by hash; MLflow keeps it by name: copy under the artifact's own name.
                relative = Path(*[part for part in Path(artifact.name).parts if part not in ("..", "/")])
                local = Path(scratch, relative)
                local.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(artifact.path, local)
                parent = relative.parent.as_posix()
                client.log_artifact(mlflow_id, str(local), None if parent == "." else parent)
                artifacts += 1
    status = MLFLOW_STATUS.get(run.status)
    if status is not None:
        ended = run.ended if run.ended is not None else started
        client.set_terminated(mlflow_id, status, end_time=int(ended * 1000))
    return mlflow_id, points, artifacts


def export_to_mlflow(store: Store, directory: str | os.PathLike[str], runs: Iterable[Run]) -> ExportSummary:
    """Export ``runs`` into the MLflow tracking directory ``directory`` (created when missing)."""
    from mlflow.tracking import MlflowClient

    Path(directory).mkdir(parents=True, exist_ok=True)
    summary = ExportSummary()
    experiments: dict[str, str] = {}
    with file_store_allowed():
        client = MlflowClient(tracking_uri=tracking_uri(directory))
        for run in runs:
            if run.experiment not in experiments:
                experiments[run.experiment] = _experiment_id(client, run.experiment)
            experiment_id = experiments[run.experiment]
            if _already_exported(client, experiment_id, run.id):
                summary.skipped.append(run.id)
                continue
            mlflow_id, points, artifacts = export_run(store, client, run, experiment_id)
            summary.exported.append((run.id, mlflow_id))
            summary.points += points
            summary.artifacts += artifacts
    return summary
