"""The experiment store: projects → experiments → runs, with params, tags, metrics and artifacts, in one
SQLite file (plus a content-addressed ``artifacts/`` directory beside it) — or, given a ``postgresql://`` URL,
in a team store on a PostgreSQL server (:mod:`.pg_database`, docs/team-store.md): the same API, the same
migrations and the same SQL (translated by :mod:`.sql_translate`).

Writes. Every metric, param and tag write funnels into :meth:`Store.log_batch`, one transaction each (the
pattern of MLflow's store, which keeps validation and locking in one place). ``log_series`` hands numpy
arrays straight through; ``log_metric``/``log_metrics`` append to an in-memory buffer per (run, metric)
that is written as one batch when ``flush_points`` points are pending, when ``flush_seconds`` have passed
(checked on the next logging call: there is no background thread), on :meth:`flush`, on
:meth:`set_status`, on :meth:`close` and at interpreter exit. Any read of a run first writes that run's
buffered points, so a Store always sees its own writes.

Durability trade-off: buffered points that were not yet flushed are lost if the process is killed (kill -9,
OOM killer, power cut); everything flushed survives a process crash (see :mod:`.database`). Call
:meth:`flush` when you save a checkpoint, so the checkpoint and its metrics agree.

Concurrency: any number of processes may write one store at once; each waits for the write lock instead of
failing (see :mod:`.database`). A Store object is for one thread at a time, like the sqlite3 connection it
holds: the per-point buffer takes no lock (a lock costs a third of ``log_metric``). Give the UI thread its
own Store on the same file; WAL lets it read while training writes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
import weakref
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from neuralforge_desktop.core.store import artifacts as _artifacts
from neuralforge_desktop.core.store import batch, chunks, processes, schema
from neuralforge_desktop.core.store import location as _location
from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.artifacts import ArtifactStoreMixin
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.diagnostics import DiagnosticsStoreMixin
from neuralforge_desktop.core.store.entities import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    Experiment,
    LatestMetric,
    MetricSeries,
    NotFoundError,
    Project,
    Run,
    RunComparison,
    RunStatus,
    StoreError,
    StoreFileError,
)
from neuralforge_desktop.core.store.environment import canonical_json, environment_snapshot
from neuralforge_desktop.core.store.notes import NotesStoreMixin
from neuralforge_desktop.core.store.pg_database import ConnectionLostError, PgDatabase
from neuralforge_desktop.core.store.pipelines import PipelineStoreMixin
from neuralforge_desktop.core.store.queue_store import QueueStoreMixin
from neuralforge_desktop.core.store.run_view import RunViewStoreMixin
from neuralforge_desktop.core.team.identity import current_user

if TYPE_CHECKING:  # only in annotations here: listing runs never needs numpy
    import numpy as np

DEFAULT_PROJECT = _q.DEFAULT_PROJECT
REASON_TAG = "reason"  # why a run ended as it did (set with its status; see Store.set_status)
ExperimentRef = Experiment | str
_Pending = dict[tuple[str, str], batch.Columns]
_now = time.time


def default_store_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "store.db"


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


class Store(QueueStoreMixin, DiagnosticsStoreMixin, RunViewStoreMixin, NotesStoreMixin, PipelineStoreMixin,
            ArtifactStoreMixin):
    """One store file (``path``, default :func:`default_store_path`), or the team store a ``postgresql://`` URL
    names (then ``path`` is the URL without its password; see :mod:`.location`). Close it, or use it as a context
    manager, so buffered points are written; see the module docs for buffering, durability and threads.
    The job queue's methods (``enqueue``, ``list_queue`` …) come from :class:`.queue_store.QueueStoreMixin`,
    the training diagnostics' (``log_diagnostic``, ``diagnostic_records``) from
    :class:`.diagnostics.DiagnosticsStoreMixin`, the reads of a table over all runs (``run_ids``,
    ``runs_changed_since`` …) from :class:`.run_view.RunViewStoreMixin`, the experiment notebook's
    (``add_note``, ``list_notes`` …) from :class:`.notes.NotesStoreMixin`, the deployment pipelines'
    (``create_pipeline_run``, ``update_stage`` …) from :class:`.pipelines.PipelineStoreMixin`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, flush_points: int = 10_000,
                 flush_seconds: float = 1.0, lock_timeout: float = 120.0, busy_timeout: float = 2.0) -> None:
        if path is not None and not os.fspath(path).strip():
            raise StoreFileError("the store path is empty; give a file name such as store.db")
        self.flush_points = max(1, int(flush_points))
        self.flush_seconds = float(flush_seconds)
        self._db: Database
        self.path: Path | str
        if path is not None and _location.is_url(path):
            # A team store: the URL's scheme picks the backend; ``path`` is the URL without its password.
            where = _location.parse(os.fspath(path))
            from neuralforge_desktop.core.team.quotas import check_shared_store

            check_shared_store(os.fspath(path))  # a team store needs a plan that allows one
            # The same interface as Database (write/read/lock/close/retries/dialect/user), typed as it.
            self._db = cast(Database, PgDatabase(where, lock_timeout=lock_timeout))
            self.path = where.display
            self._files = _artifacts.ArtifactFiles(where.local_folder() / "artifacts")
        else:
            self.path = Path(path) if path is not None else default_store_path()
            self._db = Database(self.path, busy_timeout=busy_timeout, lock_timeout=lock_timeout)
            self._files = _artifacts.ArtifactFiles(self.path.parent / "artifacts")
        self._pending: _Pending = {}
        self._count = 0
        self._last = _now()
        self._due = self._last + self.flush_seconds
        _STORES.add(self)
        # At exit (or when the Store is garbage-collected) buffered points are written: the finalizer holds
        # the buffer and the database, not the Store, so it does not keep the Store alive.
        self._finalizer = weakref.finalize(self, _write_leftovers, self._db, self._pending)
        self._ensure_schema()
        # Roles in projects (see core.team.access): one cached snapshot per Store, so checks cost no query.
        from neuralforge_desktop.core.team.access import AccessCache  # (it imports the store's errors)

        self._access = AccessCache(self._db)

    def _ensure_schema(self) -> None:
        with self._db.read() as conn:  # the first connection: the guard has judged the file (or raised)
            if (schema.current_version(conn) == schema.SCHEMA_VERSION and schema.is_stamped(conn)
                    and not schema.missing_versions(conn)):
                return
        with self._db.write() as conn:
            schema.migrate(conn)  # re-reads the version under the write lock: one process migrates
        if self._db.dialect == "postgresql":
            # A team store's tables get the database's own checks too: row-level security by project role.
            from neuralforge_desktop.core.team.pg_security import secure_after_migrating

            with self._db.lock:
                secure_after_migrating(self._db.connection())

    # -- lifecycle -------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every buffered point now (one transaction per run). A run that fails (e.g. was deleted) does
        not stop the others; the first error is raised after all were tried."""
        self._last = _now()
        self._due = self._last + self.flush_seconds
        first_error: BaseException | None = None
        for run_id in list(dict.fromkeys(key[0] for key in self._pending)):
            try:
                self.log_batch(run_id)
            except Exception as error:
                first_error = first_error or error
        if first_error is not None:
            raise first_error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._finalizer.detach()
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction (the write lock from its first statement; commits or rolls back) for the tables
        other core packages keep in this file through their own migrations (monitoring, the model registry)."""
        return self._db.write()

    def read_transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A read transaction: every statement inside sees one snapshot of the file."""
        return self._db.read()

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql": which kind of database holds this store."""
        return self._db.dialect

    @property
    def database(self) -> Database:
        """The connection wrapper, for the modules that keep their own tables in this file (the model registry):
        their writes take the same lock and transactions as the store's own."""
        return self._db

    @property
    def artifact_files(self) -> _artifacts.ArtifactFiles:
        """The content-addressed file area shared by runs' artifacts and registered model versions."""
        return self._files

    @property
    def lock_retries(self) -> int:
        """How often this Store found the database busy and backed off (diagnostics)."""
        return self._db.retries

    # -- projects and experiments ----------------------------------------------------------------------------

    def get_or_create_project(self, name: str = DEFAULT_PROJECT) -> Project:
        self._access.check_project(name, "read")
        with self._db.write() as conn:
            return _q.project(conn, name, create=True)

    def get_project(self, name: str) -> Project:
        self._access.check_project(name, "read")
        with self._db.read() as conn:
            return _q.project(conn, name, create=False)

    def list_projects(self) -> list[Project]:
        hidden = self._access.hidden_projects()
        with self._db.read() as conn:
            return [p for p in _q.projects(conn) if p.id not in hidden]

    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment:
        self._access.check_experiment(name, project, "read")
        if self._access.enforced:
            try:
                return self.get_experiment(name, project)
            except NotFoundError:
                self._access.check_experiment(name, project, "create_run")
        with self._db.write() as conn:
            return _q.experiment(conn, name, project, create=True)

    def get_experiment(self, ref: ExperimentRef, project: str = DEFAULT_PROJECT) -> Experiment:
        """By entity, id, or name within ``project``."""
        self._access.check_experiment(ref, project, "read")
        with self._db.read() as conn:
            return _q.experiment(conn, ref, project, create=False)

    def list_experiments(self, project: str | None = None) -> list[Experiment]:
        hidden = self._access.hidden_projects()
        with self._db.read() as conn:
            return [x for x in _q.experiments(conn, project) if x.project_id not in hidden]

    # -- runs ------------------------------------------------------------------------------------------------

    def create_run(self, experiment: ExperimentRef, name: str | None = None, *,
                   params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
                   graph_sha256: str | None = None, checksum: str | None = None,
                   environment: Mapping[str, Any] | None = None, status: RunStatus = "running",
                   project: str = DEFAULT_PROJECT) -> Run:
        """Start a run in ``experiment`` (created if it is a new name). ``environment=None`` records
        :func:`environment_snapshot` (torch details only if torch is imported); pass ``{}`` to skip.
        A "running" run is owned by this process (pid, hostname) until it ends or is resumed elsewhere."""
        _check_status(status)
        self._access.check_experiment(experiment, project, "create_run")
        env = environment_snapshot() if environment is None else dict(environment)
        run_id, now = _new_id(), _now()
        owner = _owner() if status == "running" else (None, None, None)
        with self._db.write() as conn:
            exp = _q.experiment(conn, experiment, project, create=True)
            if name is None:
                (count,) = conn.execute("SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (exp.id,)).fetchone()
                name = f"run-{count + 1}"
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, created, started, ended, graph_sha256, checksum,"
                " environment, pid, hostname, process_start, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, exp.id, name, status, now, now if status == "running" else None, graph_sha256, checksum,
                 canonical_json(env), *owner, current_user()))
            batch.write_params(conn, run_id, params or {})
            batch.write_tags(conn, run_id, tags or {})
            run = _q.runs_by_ids(conn, [run_id])[0]
        _audit(self, "run.created", run_id, {"experiment": run.experiment_id, "name": name, "status": status,
                                             "graph_sha256": graph_sha256})
        return run

    def get_run(self, run_id: str) -> Run:
        self._access.check_run(run_id, "read")
        self._flush_run(run_id)
        with self._db.read() as conn:
            found = _q.runs_by_ids(conn, [run_id])
        if not found:
            raise NotFoundError(f"no run {run_id!r}")
        return found[0]

    def list_runs(self, experiment: ExperimentRef | None = None, *, project: str | None = None,
                  status: RunStatus | Iterable[RunStatus] | None = None, tags: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None, order_by: str = "-created",
                  limit: int | None = None) -> list[Run]:
        """Runs matching every filter given. ``tags``/``params``: exact values. ``order_by``: ``created``,
        ``started``, ``ended``, ``name``, ``status``, ``metrics.<name>`` (latest value), ``metrics.<name>@min``
        or ``@max``; a leading ``-`` sorts descending; runs without the metric come last."""
        self.flush()
        statuses = [status] if isinstance(status, str) else list(status) if status is not None else None
        for s in statuses or ():
            _check_status(s)
        param_texts = {k: batch.param_text(v) for k, v in (params or {}).items()}
        tag_texts = {k: str(v) for k, v in (tags or {}).items()}
        hidden = self._access.hidden_experiments()
        with self._db.read() as conn:
            exp_id = None
            if experiment is not None:
                exp_id = _q.experiment(conn, experiment, project or DEFAULT_PROJECT, create=False).id
            if hidden and limit is not None:  # the hidden runs must not use up the limit
                runs = _q.list_runs(conn, exp_id, project if experiment is None else None, statuses, tag_texts,
                                    param_texts, order_by, None)
                return [r for r in runs if r.experiment_id not in hidden][:limit]
            runs = _q.list_runs(conn, exp_id, project if experiment is None else None, statuses, tag_texts,
                                param_texts, order_by, limit)
        return [r for r in runs if r.experiment_id not in hidden] if hidden else runs

    def update_run(self, run_id: str, *, name: str | None = None, graph_sha256: str | None = None,
                   checksum: str | None = None, environment: Mapping[str, Any] | None = None) -> None:
        """Change the descriptive fields given (others are left as they are)."""
        changes = {"name": name, "graph_sha256": graph_sha256, "checksum": checksum,
                   "environment": None if environment is None else canonical_json(dict(environment))}
        changes = {k: v for k, v in changes.items() if v is not None}
        self._access.check_run(run_id, "log")
        if changes:
            with self._db.write() as conn:
                _q.require_run(conn, run_id)
                conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                             (*changes.values(), run_id))

    def set_status(self, run_id: str, status: RunStatus, end: float | None = None, *,
                   reason: str | None = None) -> None:
        """Flush the run's buffered points, then change its status. An ending status stamps ``ended``
        (``end`` or now); "running" (a resume) makes this process the owner and clears ``ended``.
        ``reason`` (why it failed or stopped) is kept as the run's ``reason`` tag; "running" removes it.

        An ending run whose buffered points cannot be written because the file is unusable (a full disk) loses
        those points rather than its status: the status is what tells the user what happened."""
        _check_status(status)
        self._access.check_run(run_id, "log")
        try:
            self._flush_run(run_id)
        except StoreFileError:
            if status not in TERMINAL_STATUSES:
                raise
            self._discard_pending(run_id)
        now = _now()
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            if status in TERMINAL_STATUSES:
                conn.execute("UPDATE runs SET status = ?, ended = ? WHERE id = ?",
                             (status, now if end is None else float(end), run_id))
            elif status == "running":
                conn.execute("UPDATE runs SET status = ?, ended = NULL, started = COALESCE(started, ?), pid = ?,"
                             " hostname = ?, process_start = ? WHERE id = ?", (status, now, *_owner(), run_id))
                conn.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", (run_id, REASON_TAG))
            else:
                conn.execute("UPDATE runs SET status = ?, ended = NULL WHERE id = ?", (status, run_id))
            if reason is not None:
                batch.write_tags(conn, run_id, {REASON_TAG: reason})
        if status in TERMINAL_STATUSES:
            _audit(self, "run.finished", run_id, {"status": status, "reason": reason})

    def set_owner(self, run_id: str, hostname: str, pid: int | None) -> None:
        """Name the process that runs ``run_id`` when it is not this one: a worker on a remote host
        (``hostname`` "ssh:<host>"). :meth:`mark_crashed_runs` checks only runs owned on this machine."""
        self._access.check_run(run_id, "log")
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            conn.execute("UPDATE runs SET hostname = ?, pid = ?, process_start = NULL WHERE id = ?",
                         (hostname, pid, run_id))

    def add_usage(self, run_id: str, cpu_seconds: float = 0.0, gpu_seconds: float = 0.0) -> None:
        """Add compute time to the run's totals (added, not set, so a resumed run keeps counting)."""
        self._access.check_run(run_id, "log")
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            conn.execute("UPDATE runs SET cpu_seconds = cpu_seconds + ?, gpu_seconds = gpu_seconds + ? WHERE id = ?",
                         (float(cpu_seconds), float(gpu_seconds), run_id))
        from neuralforge_desktop.core.team.budgets import check_after_usage

        check_after_usage(self, run_id)  # records the budget thresholds the run's project has now crossed

    def delete_run(self, run_id: str) -> None:
        """Delete a run with its params, tags, metrics and artifact links (files stay until
        :meth:`prune_artifacts`). Needs admin in a project with members, or contributor for one's own run."""
        self._access.check_run(run_id, "delete_run")
        self._discard_pending(run_id)
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def mark_crashed_runs(self) -> list[str]:
        """Mark "crashed" the runs still "running" whose owning process on this host is gone; returns their
        ids. ``ended`` becomes the time of their latest metric point, the best estimate of when they died (now,
        if they logged none or the timestamps were not wall-clock times). Runs owned by another host cannot be
        checked from here and are left alone."""
        me = processes.hostname()
        with self._db.read() as conn:
            candidates = conn.execute("SELECT id, pid, process_start FROM runs WHERE status = 'running' AND "
                                      "hostname = ? AND pid IS NOT NULL", (me,)).fetchall()
        dead = [(run_id, pid) for run_id, pid, start in candidates if not processes.pid_alive(pid, start)]
        crashed: list[str] = []
        if dead:
            now = _now()
            with self._db.write() as conn:
                for run_id, pid in dead:
                    # Only if still owned by the dead process: it may have been resumed meanwhile.
                    cursor = conn.execute(
                        "UPDATE runs SET status = 'crashed', ended = COALESCE((SELECT MAX(timestamp)"
                        " FROM latest_metrics WHERE run_id = runs.id AND timestamp BETWEEN runs.started AND ?), ?)"
                        " WHERE id = ? AND status = 'running' AND pid = ?", (now, now, run_id, pid))
                    if cursor.rowcount:
                        crashed.append(run_id)
        for run_id in crashed:
            _audit(self, "run.finished", run_id, {"status": "crashed", "reason": "its process is gone"})
        return crashed

    # -- params, tags, metrics: everything funnels into log_batch --------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._access.check_run(run_id, "log")
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            conn.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", (run_id, key))

    def log_metric(self, run_id: str, name: str, value: float, step: int, timestamp: float | None = None) -> None:
        """Buffer one point (cheap; see the module docs for when it reaches the file). ``value`` is anything
        with ``__float__`` (a 0-d tensor is read at once, so no tensor is kept alive); ``step`` must be an
        integer. An unknown ``run_id`` is reported when the buffer is flushed."""
        now = _now()
        series = self._pending.get((run_id, name))
        if series is None:  # the first point of a series since the last flush: the only place it is checked
            self._access.check_run(run_id, "log")
            series = self._pending[run_id, name] = (array("q"), array("d"), array("d"))
        # array.append converts and type-checks in C: a float step raises TypeError here, at the call site.
        try:
            series[0].append(step)
            series[1].append(value)
            series[2].append(now if timestamp is None else timestamp)
        except (TypeError, ValueError, OverflowError):
            keep = min(len(column) for column in series)  # keep the three columns the same length
            for column in series:
                del column[keep:]
            raise
        self._count += 1
        if self._count >= self.flush_points or not (self._last <= now < self._due):
            self.flush()  # (the range check also catches a wall clock set backwards)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int, timestamp: float | None = None) -> None:
        """Buffer one point per metric, all at ``step``."""
        for name, value in metrics.items():
            self.log_metric(run_id, name, value, step, timestamp)

    def log_series(self, run_id: str, name: str, steps: Sequence[int] | np.ndarray,
                   values: Sequence[float] | np.ndarray,
                   timestamps: Sequence[float] | np.ndarray | float | None = None) -> None:
        """Write many points of one metric at once (not buffered). ``timestamps``: an array, one time for
        all points, or None for now."""
        self.log_batch(run_id, metrics=[MetricSeries(name, *chunks.as_points(steps, values, timestamps, _now()))])

    def log_batch(self, run_id: str, metrics: Iterable[batch.MetricInput] = (), params: Mapping[str, Any] | None = None,
                  tags: Mapping[str, Any] | None = None) -> None:
        """Write metrics (points, ``(name, value, step[, timestamp])`` tuples or whole series), params and tags
        of one run in one transaction, after the run's buffered points (so logging order is kept).
        Params are write-once: a different value for a logged key raises :class:`ParamConflictError` and
        nothing of the batch is written."""
        self._access.check_run(run_id, "log")
        grouped = batch.group_metrics(metrics, _now())
        taken = self._take_pending(run_id)
        if taken:
            grouped = {name: taken.get(name, []) + grouped.get(name, []) for name in {**taken, **grouped}}
        try:
            try:
                with self._db.write() as conn:
                    batch.commit_batch(conn, run_id, grouped, params, tags)
            except ConnectionLostError:
                # The server rolled the batch back whole, so it can be written again on a new connection.
                with self._db.write() as conn:
                    batch.commit_batch(conn, run_id, grouped, params, tags)
        except NotFoundError:
            raise  # points for a run that does not exist can never be written: drop them
        except BaseException:
            self._restore_pending(run_id, taken)  # e.g. a lock timeout: keep them for the next flush
            raise

    # -- metric reads ----------------------------------------------------------------------------------------

    def metric_history(self, run_id: str, name: str, *, min_step: int | None = None,
                       max_step: int | None = None) -> MetricSeries:
        """Every point of a metric in logging order (optionally only steps in [min_step, max_step])."""
        self._access.check_run(run_id, "read")
        self._flush_run(run_id)
        with self._db.read() as conn:
            steps, values, stamps = chunks.read(conn, run_id, name, min_step, max_step)
            if not len(steps):
                _q.require_run(conn, run_id)
        return MetricSeries(name, steps, values, stamps)

    def metric_names(self, run_id: str) -> list[str]:
        return sorted(self.latest_metrics(run_id))

    def latest_metrics(self, run_id: str) -> dict[str, LatestMetric]:
        self._access.check_run(run_id, "read")
        self._flush_run(run_id)
        with self._db.read() as conn:
            _q.require_run(conn, run_id)
            return _q.latest_by_run(conn, [run_id]).get(run_id, {})

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        self._access.check_runs(run_ids, "read")
        self.flush()
        with self._db.read() as conn:
            runs = _q.runs_by_ids(conn, list(run_ids))
        missing = set(run_ids) - {r.id for r in runs}
        if missing:
            raise NotFoundError(f"no run {sorted(missing)[0]!r}")
        return _q.compare(runs)

    # -- buffer ----------------------------------------------------------------------------------------------

    def _take_pending(self, run_id: str) -> dict[str, list[chunks.Points]]:
        taken: dict[str, list[chunks.Points]] = {}
        for key in [k for k in self._pending if k[0] == run_id]:
            columns = self._pending.pop(key)
            self._count -= len(columns[0])
            taken[key[1]] = [batch.arrays(columns)]
        return taken

    def _restore_pending(self, run_id: str, taken: dict[str, list[chunks.Points]]) -> None:
        for name, parts in taken.items():
            later = self._pending.pop((run_id, name), None)
            restored: batch.Columns = (array("q", parts[0][0].tobytes()), array("d", parts[0][1].tobytes()),
                        array("d", parts[0][2].tobytes()))
            if later is not None:
                for column, extra in zip(restored, later, strict=True):
                    column.extend(extra)
            self._pending[run_id, name] = restored
            self._count += len(restored[0])

    def _flush_run(self, run_id: str) -> None:
        if any(key[0] == run_id for key in self._pending):
            self.log_batch(run_id)

    def _discard_pending(self, run_id: str) -> None:
        self._take_pending(run_id)


def _audit(store: Store, kind: str, run_id: str, details: dict[str, Any]) -> None:
    # After the run's own transaction has committed: the audit append is its own short transaction.
    from neuralforge_desktop.core.audit import record_event

    record_event(store, kind, run_id, details)


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise StoreError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")


def _owner() -> tuple[int, str, str | None]:
    pid = os.getpid()
    return pid, processes.hostname(), processes.process_start(pid)


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def _write_leftovers(db: Database, pending: _Pending) -> None:
    # Runs at interpreter exit or when a Store is collected without close(); failures must not raise there.
    by_run: dict[str, dict[str, list[chunks.Points]]] = {}
    for (run_id, name), columns in list(pending.items()):
        by_run.setdefault(run_id, {})[name] = [batch.arrays(columns)]
    pending.clear()
    for run_id, grouped in by_run.items():
        # Nothing can be reported at exit; a failing run must not stop the others from being written.
        with contextlib.suppress(Exception), db.write() as conn:
            batch.commit_batch(conn, run_id, grouped, None, None)
    with contextlib.suppress(Exception):
        db.close()


def _clear_after_fork() -> None:
    # Points buffered by the parent belong to the parent: a child that wrote them too would duplicate them.
    for store in list(_STORES):
        store._pending.clear()
        store._count = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_clear_after_fork)

