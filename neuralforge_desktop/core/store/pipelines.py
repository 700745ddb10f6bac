"""Deployment pipelines in the store (schema v9): one row per run of a pipeline file, one per stage of it.

A pipeline run goes ``running`` → ``passed`` | ``failed``; each of its stages ``pending`` → ``running`` →
``passed`` | ``failed``, or ``skipped`` (turned off in the file). A stage reused by a resumed run is ``passed``
with ``reused_from`` naming the pipeline run that really ran it. What runs the stages is
:mod:`neuralforge_desktop.core.pipeline`; this module only reads and writes rows, each change in one
transaction, so a view polling the store sees every stage as it changes.

:class:`PipelineStoreMixin` gives :class:`~.sqlite_store.Store` these methods; it relies on ``self._db``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from neuralforge_desktop.core.store import processes
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.entities import NotFoundError, StoreError
from neuralforge_desktop.core.store.environment import canonical_json

PipelineStatus = Literal["running", "passed", "failed"]
StageStatus = Literal["pending", "running", "passed", "failed", "skipped"]
PIPELINE_STATUSES: tuple[str, ...] = get_args(PipelineStatus)
STAGE_STATUSES: tuple[str, ...] = get_args(StageStatus)
DIED_MESSAGE = "the pipeline process ended without finishing (killed or crashed)"

_RUN_COLUMNS = ("id, name, file, content_sha256, spec, work_dir, status, created, started, ended, message, "
                "resumed_from, pid, hostname, process_start")
_STAGE_COLUMNS = ("position, name, kind, fingerprint, status, started, ended, outputs, artifacts, checks, message, "
                  "reused_from")


@dataclass(frozen=True, slots=True)
class StageRecord:
    position: int
    name: str
    kind: str
    fingerprint: str  # the stage's definition and every earlier one's, hashed: what a resume compares
    status: StageStatus
    started: float | None
    ended: float | None
    outputs: dict[str, Any]
    artifacts: list[str]  # files the stage wrote (paths)
    checks: list[dict[str, Any]]  # the pass conditions as evaluated: condition, actual, passed
    message: str | None  # why it failed
    reused_from: str | None  # the pipeline run whose result this stage took over

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else time.time()) - self.started

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "name": self.name, "kind": self.kind, "status": self.status,
                "started": self.started, "ended": self.ended, "seconds": self.seconds, "outputs": self.outputs,
                "artifacts": self.artifacts, "checks": self.checks, "message": self.message,
                "reused_from": self.reused_from}


@dataclass(frozen=True, slots=True)
class PipelineRun:
    id: str
    name: str
    file: str  # the pipeline file, as an absolute path
    content_sha256: str  # of the file's bytes when it was run
    spec: dict[str, Any]  # the file as parsed
    work_dir: str  # where its stages write
    status: PipelineStatus
    created: float
    started: float | None
    ended: float | None
    message: str | None
    resumed_from: str | None
    pid: int | None
    hostname: str | None
    process_start: str | None
    stages: list[StageRecord] = field(default_factory=list)

    def stage(self, name: str) -> StageRecord:
        for record in self.stages:
            if record.name == name:
                return record
        raise NotFoundError(f"pipeline run {self.id} has no stage {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "file": self.file, "content_sha256": self.content_sha256,
                "work_dir": self.work_dir, "status": self.status, "created": self.created, "started": self.started,
                "ended": self.ended, "message": self.message, "resumed_from": self.resumed_from,
                "stages": [s.to_json() for s in self.stages]}


def new_pipeline_id() -> str:
    return uuid.uuid4().hex[:12]


def _stage(row: tuple[Any, ...]) -> StageRecord:
    (position, name, kind, fingerprint, status, started, ended, outputs, artifacts, checks, message,
     reused_from) = row
    return StageRecord(int(position), name, kind, fingerprint, status, started, ended, json.loads(outputs),
                       json.loads(artifacts), json.loads(checks), message, reused_from)


def _read(conn: sqlite3.Connection, pipeline_id: str) -> PipelineRun:
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM pipeline_runs WHERE id = ?", (pipeline_id,)).fetchone()
    if row is None:
        matches = conn.execute("SELECT id FROM pipeline_runs WHERE id LIKE ? ESCAPE '\\'",
                               (pipeline_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",)
                               ).fetchall() if pipeline_id else []
        if len(matches) != 1:
            more = " (more than one starts so: give more of it)" if matches else ""
            raise NotFoundError(f"no pipeline run {pipeline_id!r}{more}; see `neuralforge pipeline list`")
        return _read(conn, matches[0][0])
    (id_, name, file, sha, spec, work_dir, status, created, started, ended, message, resumed_from, pid, hostname,
     process_start) = row
    stages = [_stage(r) for r in conn.execute(
        f"SELECT {_STAGE_COLUMNS} FROM pipeline_stages WHERE pipeline_id = ? ORDER BY position", (id_,))]
    return PipelineRun(id_, name, file, sha, json.loads(spec), work_dir, status, created, started, ended, message,
                       resumed_from, pid, hostname, process_start, stages)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


class PipelineStoreMixin:
    """The deployment pipeline methods of :class:`~.sqlite_store.Store`."""

    _db: Database

    def create_pipeline_run(self, *, name: str, file: str, content_sha256: str, spec: Mapping[str, Any],
                            work_dir: str, stages: Sequence[tuple[str, str, str]],
                            resumed_from: str | None = None, pipeline_id: str | None = None) -> PipelineRun:
        """A new pipeline run (``pipeline_id``, or a new id), "running" and owned by this process, with its
        stages (name, kind, fingerprint) "pending"."""
        pipeline_id, now = pipeline_id or new_pipeline_id(), time.time()
        pid = os.getpid()
        with self._db.write() as conn:
            conn.execute(f"INSERT INTO pipeline_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, "
                         "NULL, NULL, ?, ?, ?, ?)",
                         (pipeline_id, name, file, content_sha256, canonical_json(dict(spec)), work_dir, now, now,
                          resumed_from, pid, processes.hostname(), processes.process_start(pid)))
            conn.executemany("INSERT INTO pipeline_stages (pipeline_id, position, name, kind, fingerprint, status) "
                             "VALUES (?, ?, ?, ?, ?, 'pending')",
                             [(pipeline_id, i, n, k, f) for i, (n, k, f) in enumerate(stages)])
            return _read(conn, pipeline_id)

    def update_stage(self, pipeline_id: str, position: int, *, status: StageStatus | None = None,
                     started: float | None = None, ended: float | None = None,
                     outputs: Mapping[str, Any] | None = None, artifacts: Sequence[str] | None = None,
                     checks: Sequence[Mapping[str, Any]] | None = None, message: str | None = None,
                     reused_from: str | None = None) -> None:
        """Change the fields given of one stage (others stay as they are)."""
        if status is not None:
            _check(status, STAGE_STATUSES, "stage status")
        changes: dict[str, Any] = {"status": status, "started": started, "ended": ended, "message": message,
                                   "reused_from": reused_from,
                                   "outputs": None if outputs is None else json.dumps(dict(outputs)),
                                   "artifacts": None if artifacts is None else json.dumps(list(artifacts)),
                                   "checks": None if checks is None else json.dumps([dict(c) for c in checks])}
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return
        with self._db.write() as conn:
            cursor = conn.execute(f"UPDATE pipeline_stages SET {', '.join(f'{k} = ?' for k in changes)} "
                                  "WHERE pipeline_id = ? AND position = ?", (*changes.values(), pipeline_id, position))
            if not cursor.rowcount:
                raise NotFoundError(f"pipeline run {pipeline_id!r} has no stage {position}")

    def finish_pipeline_run(self, pipeline_id: str, status: PipelineStatus, message: str | None = None) -> None:
        _check(status, PIPELINE_STATUSES, "pipeline status")
        with self._db.write() as conn:
            cursor = conn.execute("UPDATE pipeline_runs SET status = ?, ended = ?, message = ? WHERE id = ?",
                                  (status, None if status == "running" else time.time(), message, pipeline_id))
            if not cursor.rowcount:
                raise NotFoundError(f"no pipeline run {pipeline_id!r}")

    def get_pipeline_run(self, pipeline_id: str) -> PipelineRun:
        """By id or a unique start of one."""
        with self._db.read() as conn:
            return _read(conn, pipeline_id)

    def list_pipeline_runs(self, *, file: str | None = None, limit: int | None = None) -> list[PipelineRun]:
        """Newest first; only those of ``file`` (an absolute path) when given."""
        sql = "SELECT id FROM pipeline_runs" + (" WHERE file = ?" if file is not None else "")
        sql += " ORDER BY created DESC, rowid DESC" + (f" LIMIT {int(limit):d}" if limit is not None else "")
        with self._db.read() as conn:
            ids = [r[0] for r in conn.execute(sql, (file,) if file is not None else ())]
            return [_read(conn, i) for i in ids]

    def mark_dead_pipeline_runs(self) -> list[str]:
        """Mark "failed" the pipeline runs still "running" whose process on this host is gone (and their running
        stage); returns their ids."""
        me = processes.hostname()
        with self._db.read() as conn:
            rows = conn.execute("SELECT id, pid, process_start FROM pipeline_runs WHERE status = 'running' AND "
                                "hostname = ? AND pid IS NOT NULL", (me,)).fetchall()
        dead = [(i, pid) for i, pid, start in rows if not processes.pid_alive(pid, start)]
        if dead:
            now = time.time()
            with self._db.write() as conn:
                for pipeline_id, pid in dead:
                    conn.execute("UPDATE pipeline_runs SET status = 'failed', ended = ?, message = ? "
                                 "WHERE id = ? AND status = 'running' AND pid = ?",
                                 (now, DIED_MESSAGE, pipeline_id, pid))
                    conn.execute("UPDATE pipeline_stages SET status = 'failed', ended = ?, message = ? "
                                 "WHERE pipeline_id = ? AND status = 'running'", (now, DIED_MESSAGE, pipeline_id))
        return [i for i, _ in dead]
