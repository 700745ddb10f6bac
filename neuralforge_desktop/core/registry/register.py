"""Registering a run as a new version of a model, and attaching documents to a version.

Registration exports the run's best checkpoint to ONNX with the exporter the ``export`` command uses (verified
against torch on random inputs and on the run's validation examples), copies the file, the export report and
the run's graph into the store's artifact area, and writes the model (when new), the version, its files and
its first transition in one transaction. A failure anywhere (no checkpoint, an export that does not verify, a
full disk) leaves no row and no file behind. A run made by ``neuralforge optimize`` is registered with its
optimised ONNX file as the version's model (:mod:`neuralforge_desktop.core.registry.derived`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.registry.derived import OptimisedModel, optimised_model
from neuralforge_desktop.core.registry.entities import ModelVersion, RegistryError, check_name, parse_ref
from neuralforge_desktop.core.registry.tables import (
    EXPORT_REPORT_FILE,
    GRAPH_FILE,
    ONNX_FILE,
    read_version,
    version_id,
    who,
)

Progress = Callable[[float, str], None]
_UNFINISHED = ("running", "queued", "paused")


def _files_folder(store: Any) -> Path:
    from neuralforge_desktop.core.store.location import files_folder

    folder = files_folder(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def register(store: Any, run_id: str, name: str, description: str = "", *, tags: Mapping[str, str] | None = None,
             progress: Progress | None = None) -> ModelVersion:
    """Make run ``run_id`` the next version of model ``name`` (created with ``description`` and ``tags`` when
    new; a description given for an existing model describes the version)."""
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph
    from neuralforge_desktop.core.ir.serialize import load_graph

    check_name(name)
    run = store.get_run(run_id)
    from neuralforge_desktop.core.team.access import cache_of

    cache_of(store).check_run(run.id, "register")  # a contributor of the run's project
    if run.status in _UNFINISHED:
        raise RegistryError(f"run {run.id} is {run.status}: register it once it has finished")
    try:
        graph_file = store.artifact_path(run.id, GRAPH_FILE)
    except KeyError:
        raise RegistryError(f"run {run.id} has no graph artifact ({GRAPH_FILE}), so it cannot be registered") from None
    graph = load_graph(graph_file)
    metrics = metrics_snapshot(store, run)
    optimised = optimised_model(store, run)
    with tempfile.TemporaryDirectory(prefix=".register-", dir=_files_folder(store)) as tmp:
        if optimised is not None:  # the optimised file is the model: exporting the float weights would undo it
            report_file = Path(tmp) / EXPORT_REPORT_FILE
            report_file.write_text(json.dumps(_optimised_report(store, run, optimised), indent=2), encoding="utf-8")
            files = [(ONNX_FILE, "onnx", optimised.path), (EXPORT_REPORT_FILE, "export-report", report_file),
                     (GRAPH_FILE, "graph", graph_file)]
            number = _write_version(store, name, run.id, description, tags or {}, onnx_input_shape(optimised.path),
                                    metrics, files)
            return resolve_number(store, name, number)
        onnx_file = Path(tmp) / ONNX_FILE
        report = export_graph(ExportRequest(graph=graph, format="onnx", output=onnx_file, run_id=run.id,
                                            store=Path(store.path), record=False, latency_batches=()), progress)
        if not report.verified:
            raise RegistryError(f"the ONNX export of run {run.id} was not verified ({report.verification}); "
                                "a registered version must be")
        report_file = Path(tmp) / EXPORT_REPORT_FILE
        report_file.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
        shape = onnx_input_shape(onnx_file)
        files = [(ONNX_FILE, "onnx", onnx_file), (EXPORT_REPORT_FILE, "export-report", report_file),
                 (GRAPH_FILE, "graph", graph_file)]
        number = _write_version(store, name, run.id, description, tags or {}, shape, metrics, files)
    return resolve_number(store, name, number)


def _optimised_report(store: Any, run: Any, optimised: OptimisedModel) -> dict[str, Any]:
    """What stands for the export report of an optimised version: where its model came from, and the
    optimisation's before/after report when the run logged one."""
    from neuralforge_desktop.core.optimize.lineage import REPORT_NAME

    report: dict[str, Any] = {"format": "onnx", "source": "optimised model", "run_id": run.id,
                              "parent_run": optimised.parent_run, "optimization": optimised.method,
                              "model_artifact": run.tags.get("optimized_model", "")}
    # Without it the figures are still in the run's metrics; the model file is what matters here.
    with contextlib.suppress(KeyError, OSError, ValueError):
        report["optimize_report"] = json.loads(store.artifact_path(run.id, REPORT_NAME).read_text(encoding="utf-8"))
    return report


def metrics_snapshot(store: Any, run: Any) -> dict[str, float]:
    """The run's metrics for the weights that are registered: its best checkpoint's. Per-epoch metrics (those
    logged once an epoch, as ``val/loss`` is) are taken at the best epoch; ``final/`` metrics, measured on the
    last epoch's weights, only when that was the best. Other metrics (the learning rate …) at their latest."""
    latest = {k: float(m.value) for k, m in store.latest_metrics(run.id).items()}
    best = run.tags.get("best_epoch", "")
    if not best.isdigit() or "val/loss" not in latest:
        return {k: v for k, v in latest.items() if math.isfinite(v)}
    epoch_steps = store.metric_history(run.id, "val/loss").steps
    best_epoch = int(best)
    if not 1 <= best_epoch <= len(epoch_steps):
        return {k: v for k, v in latest.items() if math.isfinite(v)}
    snapshot = {}
    for name, value in latest.items():
        if name.startswith("final/") and best_epoch != len(epoch_steps):
            continue
        series = store.metric_history(run.id, name)
        if len(series.steps) == len(epoch_steps) and (series.steps == epoch_steps).all():
            value = float(series.values[best_epoch - 1])
        if math.isfinite(value):
            snapshot[name] = value
    snapshot["best_epoch"] = float(best_epoch)
    return snapshot


def _write_version(store: Any, name: str, run_id: str, description: str, tags: Mapping[str, str],
                   shape: tuple[int, ...], metrics: dict[str, float], files: list[tuple[str, str, Path]]) -> int:
    """Copy the files in, then write every row in one transaction; on failure remove the copies this made."""
    area = store.artifact_files
    added: list[Path] = []
    stored: list[tuple[str, str, str, int]] = []
    try:
        for file_name, kind, path in files:
            existed = area.path_for(_sha256(path)).exists()
            sha, size = area.put(path)
            if not existed:
                added.append(area.path_for(sha))
            stored.append((file_name, kind, sha, size))
        now, actor = time.time(), who()
        with store.database.write() as conn:
            row = conn.execute("SELECT id, description FROM registered_models WHERE name = ?", (name,)).fetchone()
            if row is None:
                model_id = conn.execute(
                    "INSERT INTO registered_models (name, description, tags, created) VALUES (?, ?, ?, ?)",
                    (name, description, json.dumps(dict(tags), sort_keys=True), now)).lastrowid
            else:
                model_id = row[0]
            (last,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE model_id = ?",
                                   (model_id,)).fetchone()
            number = int(last) + 1
            vid = conn.execute(
                "INSERT INTO model_versions (model_id, version, run_id, stage, description, input_shape, metrics, "
                "created, created_by) VALUES (?, ?, ?, 'none', ?, ?, ?, ?, ?)",
                (model_id, number, run_id, description, json.dumps(list(shape)), json.dumps(metrics, sort_keys=True),
                 now, actor)).lastrowid
            conn.executemany("INSERT INTO model_version_files (version_id, name, kind, sha256, size, created) "
                             "VALUES (?, ?, ?, ?, ?, ?)", [(vid, n, k, s, z, now) for n, k, s, z in stored])
            conn.execute("INSERT INTO model_transitions (version_id, from_stage, to_stage, who, created, comment) "
                         "VALUES (?, NULL, 'none', ?, ?, ?)", (vid, actor, now, f"registered from run {run_id}"))
        _audit(store, "registry.registered", f"{name}@{number}", {
            "run_id": run_id, "files": {file_name: sha for file_name, _kind, sha, _size in stored}})
        return number
    except BaseException:
        for path in added:
            path.unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    # Hashed before copying, to know whether the content was stored already (and so must stay on failure).
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def onnx_input_shape(path: Path) -> tuple[int, ...]:
    """The first graph input's shape without its batch axis (a dynamic axis other than the batch reads 0)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in initializers)
    dims = first.type.tensor_type.shape.dim
    return tuple(int(d.dim_value) if d.HasField("dim_value") else 0 for d in dims[1:])


def resolve_number(store: Any, name: str, number: int) -> ModelVersion:
    with store.database.read() as conn:
        return read_version(conn, store.artifact_files, version_id(conn, parse_ref(f"{name}@{number}")))


def attach_document(store: Any, ref: str, document: str, source: str | Path | bytes) -> ModelVersion:
    """Attach a document (a model card, a risk assessment …) to a version as ``documents/<document><suffix>``;
    gates that require ``document`` find it there."""
    if not document.replace("_", "").replace("-", "").isalnum():
        raise RegistryError(f"document name {document!r}: use letters, digits, '_' or '-'")
    suffix = "" if isinstance(source, bytes) else Path(source).suffix
    area = store.artifact_files
    sha, size = area.put(source)
    with store.database.write() as conn:
        vid = version_id(conn, parse_ref(ref))
        conn.execute("DELETE FROM model_version_files WHERE version_id = ? AND kind = 'document' AND "
                     "(name = ? OR name LIKE ?)", (vid, f"documents/{document}", f"documents/{document}.%"))
        conn.execute("INSERT INTO model_version_files (version_id, name, kind, sha256, size, created) "
                     "VALUES (?, ?, 'document', ?, ?, ?)",
                     (vid, f"documents/{document}{suffix}", sha, size, time.time()))
        attached = read_version(conn, area, vid)
    _audit(store, "registry.document_attached", attached.ref, {"document": document, "sha256": sha})
    return attached


def _audit(store: Any, kind: str, subject: str, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, subject, details)
