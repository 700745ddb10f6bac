"""Reading the registry's tables (schema v7) into :mod:`.entities` values, and who is acting.

Every function takes an open connection, so a caller that writes can read inside the same transaction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from neuralforge_desktop.core.registry.entities import (
    Approval,
    GateRecord,
    ModelVersion,
    Ref,
    RegisteredModel,
    RegistryError,
    Transition,
    VersionFile,
)
from neuralforge_desktop.core.store.artifacts import ArtifactFiles

ONNX_FILE = "model.onnx"
GRAPH_FILE = "graph.nfg"
EXPORT_REPORT_FILE = "export-report.json"
_MODEL_COLUMNS = "id, name, description, tags, created"
_VERSION_COLUMNS = "id, version, run_id, stage, description, input_shape, metrics, created, created_by"


def who() -> str:
    """The user acting (approvals and transitions are signed with it): ``NEURALFORGE_USER``, else the OS user,
    the same name the project roles are checked against."""
    from neuralforge_desktop.core.team.identity import current_user

    return current_user()


def model_row(conn: sqlite3.Connection, name: str) -> tuple | None:
    return conn.execute(f"SELECT {_MODEL_COLUMNS} FROM registered_models WHERE name = ?", (name,)).fetchone()


def require_model(conn: sqlite3.Connection, name: str) -> tuple:
    row = model_row(conn, name)
    if row is None:
        known = [n for (n,) in conn.execute("SELECT name FROM registered_models ORDER BY name LIMIT 20")]
        hint = (f" (registered: {', '.join(known)})" if known else
                " (none is registered yet: `neuralforge registry register RUN --name NAME`)")
        raise RegistryError(f"no registered model {name!r}{hint}")
    return row


def version_id(conn: sqlite3.Connection, ref: Ref) -> int:
    """The row id of the version ``ref`` names: its number, the one in a stage, or the latest."""
    model_id = require_model(conn, ref.name)[0]
    if ref.version is not None:
        row = conn.execute("SELECT id FROM model_versions WHERE model_id = ? AND version = ?",
                           (model_id, ref.version)).fetchone()
        what = f"no version {ref.version}"
    elif ref.stage is not None:
        row = conn.execute("SELECT id FROM model_versions WHERE model_id = ? AND stage = ? ORDER BY version DESC",
                           (model_id, ref.stage)).fetchone()
        what = f"no version in {ref.stage}"
    else:
        row = conn.execute("SELECT id FROM model_versions WHERE model_id = ? ORDER BY version DESC",
                           (model_id,)).fetchone()
        what = "no versions"
    if row is None:
        numbers = [str(v) for (v,) in conn.execute(
            "SELECT version FROM model_versions WHERE model_id = ? ORDER BY version", (model_id,))]
        have = f" (its versions: {', '.join(numbers)})" if numbers else ""
        raise RegistryError(f"model {ref.name!r} has {what}{have}")
    return int(row[0])


def read_version(conn: sqlite3.Connection, files: ArtifactFiles, vid: int) -> ModelVersion:
    row = conn.execute(f"SELECT m.name, {', '.join('v.' + c for c in _VERSION_COLUMNS.split(', '))} "
                       "FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE v.id = ?",
                       (vid,)).fetchone()
    if row is None:
        raise RegistryError(f"no model version with id {vid}")
    name, _, number, run_id, stage, description, shape, metrics, created, created_by = row
    stored = tuple(VersionFile(n, k, sha, int(size), files.path_for(sha)) for n, k, sha, size in conn.execute(
        "SELECT name, kind, sha256, size FROM model_version_files WHERE version_id = ? ORDER BY name", (vid,)))
    approvals = tuple(Approval(w, float(t), c) for w, t, c in conn.execute(
        "SELECT who, created, comment FROM model_approvals WHERE version_id = ? ORDER BY id", (vid,)))
    transitions = tuple(Transition(f, to, w, float(t), c) for f, to, w, t, c in conn.execute(
        "SELECT from_stage, to_stage, who, created, comment FROM model_transitions WHERE version_id = ? ORDER BY id",
        (vid,)))
    gates = tuple(GateRecord(bool(p), json.loads(pol), json.loads(chk), w, float(t)) for p, pol, chk, w, t in
                  conn.execute("SELECT passed, policy, checks, who, created FROM model_gate_results "
                               "WHERE version_id = ? ORDER BY id", (vid,)))
    by_name = {f.name: f.path for f in stored}
    return ModelVersion(
        name=name, version=int(number), run_id=run_id, stage=stage,
        onnx_path=by_name.get(ONNX_FILE, Path()), graph_path=by_name.get(GRAPH_FILE, Path()),
        input_shape=tuple(int(d) for d in json.loads(shape)), metrics=json.loads(metrics), description=description,
        created=float(created), created_by=created_by, files=stored, approvals=approvals, transitions=transitions,
        gates=gates)


def read_model(conn: sqlite3.Connection, files: ArtifactFiles, row: tuple) -> RegisteredModel:
    model_id, name, description, tags, created = row
    ids = [vid for (vid,) in conn.execute("SELECT id FROM model_versions WHERE model_id = ? ORDER BY version",
                                          (model_id,))]
    return RegisteredModel(name, description, json.loads(tags), float(created),
                           tuple(read_version(conn, files, vid) for vid in ids))


def all_models(conn: sqlite3.Connection, files: ArtifactFiles) -> list[RegisteredModel]:
    rows = conn.execute(f"SELECT {_MODEL_COLUMNS} FROM registered_models ORDER BY name").fetchall()
    return [read_model(conn, files, row) for row in rows]


def add_transition(conn: sqlite3.Connection, vid: int, from_stage: str | None, to_stage: str, actor: str,
                   when: float, comment: str) -> None:
    """Set the version's stage and record the transition, in the caller's write transaction."""
    conn.execute("UPDATE model_versions SET stage = ? WHERE id = ?", (to_stage, vid))
    conn.execute("INSERT INTO model_transitions (version_id, from_stage, to_stage, who, created, comment) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (vid, from_stage, to_stage, actor, when, comment))
