"""The lineage nodes of what the store knows: a served prediction row, a registered version, a run, and the graph,
dataset and code a run records (its ``graph_sha256`` and graph artifact, and its environment's ``dataset`` and
``source``, written when it trained)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from neuralforge_desktop.core.lineage.graph import LineageNode

# The figures of a run's environment worth showing in a lineage; the full snapshot stays in `runs show`.
_ENVIRONMENT_KEYS = ("python", "torch", "numpy", "platform", "hostname")
_SHOWN_METRICS = ("val/acc", "val/loss", "train/loss", "model/size_bytes")


def when(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def prediction_node(row: tuple[Any, ...]) -> LineageNode:
    prediction_id, model, version, stamp, latency_ms, ok, status, predicted = row
    return LineageNode("prediction", prediction_id, f"{prediction_id[:12]} ({model}@{version})", {
        "model": model, "version": version, "served": when(stamp), "latency_ms": round(float(latency_ms), 3),
        "ok": bool(ok), "status": int(status), "predicted": predicted})


def version_node(version: Any) -> LineageNode:
    onnx = version.file("model.onnx")
    return LineageNode("version", version.ref, version.ref, {
        "stage": version.stage, "registered": when(version.created), "by": version.created_by,
        "description": version.description, "onnx_sha256": onnx.sha256 if onnx else None,
        "metrics": {k: round(v, 4) for k, v in version.metrics.items() if k in _SHOWN_METRICS}})


def run_node(run: Any) -> LineageNode:
    tags = dict(run.tags)
    details: dict[str, Any] = {
        "name": run.name, "experiment": run.experiment, "status": run.status, "created": when(run.created),
        "params": {k: v for k, v in run.params.items() if not k.startswith("lr_mult/")},
        "metrics": {k: round(m.value, 4) for k, m in run.metrics.items() if k in _SHOWN_METRICS},
        "environment": {k: run.environment[k] for k in _ENVIRONMENT_KEYS if run.environment.get(k) is not None},
        "checksum": run.checksum,
    }
    if tags.get("sweep"):
        details["sweep"] = f"{tags['sweep']} trial {tags.get('sweep_trial', '?')}"
    if tags.get("coach_fix"):
        details["coach_fix"] = tags["coach_fix"]
    return LineageNode("run", run.id, f"{run.id} ({run.name})", details)


def parent_relation(tags: dict[str, str]) -> str:
    """How a run with a ``parent_run`` tag came from its parent, as ``runs show`` words it."""
    if tags.get("optimization"):
        return f"{tags['optimization']} of"
    if tags.get("seed_of"):
        return "seed repeat of"
    if tags.get("coach_fix"):
        return f"retrain ({tags['coach_fix']}) of"
    return "retrain of"


def graph_node(run: Any, artifact_path: str | None) -> LineageNode | None:
    if not run.graph_sha256:
        return None
    source = run.environment.get("source") or {}
    return LineageNode("graph", run.graph_sha256, f"{run.tags.get('graph') or 'graph'} ({run.graph_sha256[:12]})", {
        "sha256": run.graph_sha256, "file": source.get("file"), "stored_copy": artifact_path})


def dataset_node(run: Any) -> LineageNode | None:
    """The data the run read: its environment's name and content fingerprint, or (a run recorded before the
    fingerprint was kept) the name its settings give, with the fingerprint unknown."""
    recorded = run.environment.get("dataset")
    if isinstance(recorded, dict) and recorded.get("fingerprint"):
        fingerprint = str(recorded["fingerprint"])
        return LineageNode("dataset", fingerprint, f"{recorded.get('name')} ({fingerprint[:12]})",
                           {"name": recorded.get("name"), "fingerprint": fingerprint,
                            "limit": run.params.get("limit")})
    name = run.params.get("dataset")
    if not name:
        return None
    return LineageNode("dataset", f"name:{name}", f"{name} (fingerprint not recorded)",
                       {"name": name, "fingerprint": None})


def code_node(run: Any) -> LineageNode | None:
    environment = run.environment
    source = environment.get("source") or {}
    version = source.get("neuralforge") or (environment.get("packages") or {}).get("neuralforge-desktop")
    commit = source.get("git_commit")
    if version is None and commit is None:
        return None
    key = f"git:{commit}" if commit else f"neuralforge:{version}"
    label = f"NeuralForge {version or '?'}" + (f" @ {commit[:10]}" if commit else "")
    return LineageNode("code", key, label, {
        "neuralforge": version, "git_commit": commit, "git_root": source.get("git_root"),
        "git_dirty": source.get("git_dirty"), "graph_file": source.get("file")})
