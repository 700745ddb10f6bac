"""The job queue's half of the store: training jobs waiting for a host, kept in the store file so that a restart
of the app (or of ``neuralforge queue run``) finds them where they were.

A job is one row of the ``queue`` table (schema v3) and one run: the run is created when the job is queued, with
the run status "queued", so it shows in run lists at once. A job's ``state`` goes

    queued ──claim──▶ started ──▶ finished | failed | cancelled
       └──cancel──▶ cancelled       (▲ requeue: a started job whose run never began goes back to queued)

``host`` is a registered host's name, :data:`LOCAL_HOST` (this machine) or :data:`ANY_HOST` (whichever
registered host has room first); ``placed_on`` is where it was started. ``gpus``/``procs`` are what the job
asked for (0 = not asked: one GPU, or one whole CPU-only host). ``spec`` holds what starting it needs besides
the run's folder (JSON). Which job starts where is decided by :mod:`neuralforge_desktop.core.remote.queue`;
this module only reads and writes rows, each change in one transaction, so two processes cannot both start
one job.

:class:`QueueStoreMixin` gives :class:`~.sqlite_store.Store` these methods; it relies on ``self._db``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store import batch, processes
from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.entities import NotFoundError, StoreError
from neuralforge_desktop.core.store.environment import canonical_json

if TYPE_CHECKING:
    from neuralforge_desktop.core.team.access import AccessCache

QueueState = Literal["queued", "started", "cancelled", "finished", "failed"]
QUEUE_STATES: tuple[str, ...] = get_args(QueueState)
ACTIVE_STATES: tuple[QueueState, ...] = ("queued", "started")
ENDED_STATES: frozenset[str] = frozenset({"cancelled", "finished", "failed"})
LOCAL_HOST = "local"  # this machine
ANY_HOST = "any"  # the first registered host with room
HOST_TAG = "host"  # the run tag naming where it runs (the remote dispatcher sets the same tag)
MAX_PRIORITY = 1_000_000  # priorities beyond this are typing mistakes
CANCELLED_REASON = "cancelled in the queue before it started"

_COLUMNS = ("q.id, q.run_id, r.name, e.name, q.created, q.priority, q.state, q.host, q.gpus, q.procs, q.spec,"
            " q.placed_on, q.started, q.ended, q.stop_requested, q.reason, q.pid, q.hostname, q.process_start")
_FROM = "FROM queue q JOIN runs r ON r.id = q.run_id JOIN experiments e ON e.id = r.experiment_id"
# Started jobs first, then the waiting ones in the order they will start, then the ended ones.
_ORDER = ("ORDER BY CASE q.state WHEN 'started' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END, q.priority DESC,"
          " q.created, q.id")


class QueueError(StoreError, UserError):
    """A queue change the job's state does not allow (cancelling a finished job, reprioritising a started one,
    queueing a run twice); the message names the job and its state."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    id: int
    run_id: str
    run_name: str
    experiment: str
    created: float
    priority: int
    state: QueueState
    host: str  # what was asked for: a host name, "local" or "any"
    gpus: int  # GPUs asked for; 0 = not asked (one GPU, or the whole of a CPU-only host)
    procs: int  # processes asked for; 0 = not asked
    spec: dict[str, Any]
    placed_on: str | None  # the host it was started on
    started: float | None
    ended: float | None
    stop_requested: bool  # cancelled while started: the dispatcher stops its run
    reason: str | None  # why it ended as it did, or why it went back to the queue
    pid: int | None  # the dispatcher process that started it
    hostname: str | None
    process_start: str | None

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def where(self) -> str:
        return self.placed_on or self.host

    def dispatcher_alive(self) -> bool:
        """Whether the process that started this job still runs (a dispatcher on another machine counts as
        alive: it cannot be checked from here)."""
        if self.pid is None:
            return False
        if self.hostname != processes.hostname():
            return True
        return processes.pid_alive(self.pid, self.process_start)


def _entry(row: tuple[Any, ...]) -> QueueEntry:
    (id_, run_id, run_name, experiment, created, priority, state, host, gpus, procs, spec, placed_on, started,
     ended, stop_requested, reason, pid, hostname, process_start) = row
    return QueueEntry(int(id_), run_id, run_name, experiment, created, int(priority), state, host, int(gpus),
                      int(procs), json.loads(spec), placed_on, started, ended, bool(stop_requested), reason, pid,
                      hostname, process_start)


def _get(conn: sqlite3.Connection, entry_id: int) -> QueueEntry:
    row = conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE q.id = ?", (int(entry_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no job {entry_id} in the queue (see `neuralforge queue list --all`)")
    return _entry(row)


def _check_count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueueError(f"{what} must be a whole number of 0 or more, got {value!r}")
    return value


def check_priority(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > MAX_PRIORITY:
        raise QueueError(f"a priority must be a whole number from {-MAX_PRIORITY} to {MAX_PRIORITY}, got {priority!r}")
    return priority


class QueueStoreMixin:
    """The queue methods of :class:`~.sqlite_store.Store`."""

    _db: Database
    _access: AccessCache

    def enqueue(self, run_id: str, *, host: str = LOCAL_HOST, gpus: int = 0, procs: int = 0, priority: int = 0,
                spec: Mapping[str, Any] | None = None) -> QueueEntry:
        """Queue a job that trains the existing run ``run_id``; the run's status becomes "queued" and its
        ``host`` tag says where it will run. A run can have one waiting or started job at a time."""
        if not host or not host.strip():
            raise QueueError("a queued job needs a host name, 'local' or 'any'")
        _check_count(gpus, "the number of GPUs")
        _check_count(procs, "the number of processes")
        check_priority(priority)
        from neuralforge_desktop.core.team.budgets import ensure_run_can_start

        ensure_run_can_start(self, run_id)  # type: ignore[arg-type]  # a project past a hard-stop budget queues nothing
        self._access.check_run(run_id, "log")
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            active = conn.execute("SELECT id, state FROM queue WHERE run_id = ? AND state IN ('queued', 'started')",
                                  (run_id,)).fetchone()
            if active is not None:
                raise QueueError(f"run {run_id} is already in the queue as job {active[0]} ({active[1]})")
            cursor = conn.execute(
                "INSERT INTO queue (run_id, created, priority, state, host, gpus, procs, spec) "
                "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
                (run_id, time.time(), priority, host, gpus, procs, canonical_json(dict(spec or {}))))
            # A run that never logged anything has not started yet: it starts when a worker takes it.
            conn.execute("UPDATE runs SET status = 'queued', ended = NULL, pid = NULL, hostname = NULL, process_start"
                         " = NULL, started = CASE WHEN EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = "
                         "runs.id) THEN started END WHERE id = ?", (run_id,))
            batch.write_tags(conn, run_id, {HOST_TAG: host})
            entry_id = cursor.lastrowid
            assert entry_id is not None
            return _get(conn, entry_id)

    def get_job(self, entry_id: int) -> QueueEntry:
        with self._db.read() as conn:
            return _get(conn, entry_id)

    def list_queue(self, states: Iterable[QueueState] | None = ACTIVE_STATES) -> list[QueueEntry]:
        """Jobs in ``states`` (default: waiting and started; None: all), started ones first, then the waiting
        ones in the order they will start (higher priority first, then older first)."""
        wanted = None if states is None else list(states)
        for state in wanted or ():
            if state not in QUEUE_STATES:
                raise StoreError(f"unknown queue state {state!r}; expected one of {', '.join(QUEUE_STATES)}")
        with self._db.read() as conn:
            if wanted is None:
                rows = conn.execute(f"SELECT {_COLUMNS} {_FROM} {_ORDER}").fetchall()
            else:
                rows = conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE q.state IN (SELECT value FROM json_each(?)) "
                                    f"{_ORDER}", (json.dumps(wanted),)).fetchall()
        return [_entry(row) for row in rows]

    def cancel_job(self, entry_id: int) -> QueueEntry:
        """A waiting job is cancelled at once and its run marked "stopped"; a started one is asked to stop
        (``stop_requested``: the dispatcher that runs it stops its run, and the job ends "cancelled")."""
        with self._db.write() as conn:
            entry = _get(conn, entry_id)
            now = time.time()
            if entry.state == "queued":
                conn.execute("UPDATE queue SET state = 'cancelled', ended = ?, reason = ? WHERE id = ?",
                             (now, CANCELLED_REASON, entry.id))
                cursor = conn.execute("UPDATE runs SET status = 'stopped', ended = ? WHERE id = ? AND status = "
                                      "'queued'", (now, entry.run_id))
                if cursor.rowcount:
                    batch.write_tags(conn, entry.run_id, {"reason": CANCELLED_REASON})
            elif entry.state == "started":
                conn.execute("UPDATE queue SET stop_requested = 1 WHERE id = ?", (entry.id,))
            else:
                raise QueueError(f"job {entry.id} (run {entry.run_id}) has already ended: {entry.state}")
            return _get(conn, entry.id)

    def set_priority(self, entry_id: int, priority: int) -> QueueEntry:
        """Change a waiting job's priority (higher starts first)."""
        check_priority(priority)
        with self._db.write() as conn:
            entry = _get(conn, entry_id)
            if entry.state != "queued":
                raise QueueError(f"job {entry.id} (run {entry.run_id}) is {entry.state}: only a waiting job's "
                                 "priority can change")
            conn.execute("UPDATE queue SET priority = ? WHERE id = ?", (priority, entry.id))
            return _get(conn, entry.id)

    def claim_job(self, entry_id: int, host: str) -> QueueEntry | None:
        """Mark a waiting job started on ``host`` by this process; None when it is no longer waiting (cancelled
        meanwhile, or claimed by another dispatcher). The run's ``host`` tag becomes ``host``."""
        pid = os.getpid()
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE queue SET state = 'started', placed_on = ?, started = ?, reason = NULL, pid = ?, hostname = ?,"
                " process_start = ? WHERE id = ? AND state = 'queued'",
                (host, time.time(), pid, processes.hostname(), processes.process_start(pid), int(entry_id)))
            if not cursor.rowcount:
                return None
            entry = _get(conn, entry_id)
            batch.write_tags(conn, entry.run_id, {HOST_TAG: host})
            return entry

    def end_job(self, entry_id: int, state: QueueState, reason: str | None = None) -> QueueEntry:
        """Record how a job ended ("finished", "failed" or "cancelled"); a job that has ended already keeps
        its first ending."""
        if state not in ENDED_STATES:
            raise StoreError(f"a job ends as one of {', '.join(sorted(ENDED_STATES))}, not {state!r}")
        with self._db.write() as conn:
            conn.execute("UPDATE queue SET state = ?, ended = ?, reason = ? WHERE id = ? AND state IN "
                         "('queued', 'started')", (state, time.time(), reason, int(entry_id)))
            return _get(conn, entry_id)

    def requeue_job(self, entry_id: int, reason: str) -> QueueEntry:
        """Put a started job whose run never began back in the queue (its dispatcher went away first)."""
        with self._db.write() as conn:
            entry = _get(conn, entry_id)
            if entry.state != "started":
                raise QueueError(f"job {entry.id} is {entry.state}, not started: it cannot go back to the queue")
            conn.execute("UPDATE queue SET state = 'queued', placed_on = NULL, started = NULL, stop_requested = 0, "
                         "reason = ?, pid = NULL, hostname = NULL, process_start = NULL WHERE id = ?",
                         (reason, entry.id))
            batch.write_tags(conn, entry.run_id, {HOST_TAG: entry.host})
            return _get(conn, entry.id)
