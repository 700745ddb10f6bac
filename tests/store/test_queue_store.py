"""The job queue's rows in a real store file: queueing, order, cancel, priority, claiming (once, even with several
processes at it), and a store from the previous schema version gaining the queue."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import NotFoundError, Store, schema
from neuralforge_desktop.core.store.queue_store import CANCELLED_REASON, QueueError

from .helpers import integrity, mp_context, sql


def _queued_run(store: Store, name: str, **job: object) -> tuple[str, int]:
    run = store.create_run("jobs", name, environment={})  # "running" and owned by us, as prepare_run leaves it
    entry = store.enqueue(run.id, **job)  # type: ignore[arg-type]
    return run.id, entry.id


def test_a_queued_run_shows_as_queued_and_has_not_started(store: Store) -> None:
    run_id, job = _queued_run(store, "a", host="a100", gpus=2, priority=5, spec={"trust_code": True})
    run = store.get_run(run_id)
    assert run.status == "queued" and run.started is None and run.ended is None and run.pid is None
    assert run.tags["host"] == "a100"
    assert [r.id for r in store.list_runs(status="queued")] == [run_id]
    assert store.mark_crashed_runs() == []  # a queued run is nobody's process: never "crashed"
    entry = store.get_job(job)
    assert (entry.state, entry.host, entry.gpus, entry.procs, entry.priority, entry.spec) == (
        "queued", "a100", 2, 0, 5, {"trust_code": True})
    assert (entry.run_name, entry.experiment, entry.placed_on, entry.started) == ("a", "jobs", None, None)


def test_jobs_are_listed_in_start_order_priority_then_age(store: Store) -> None:
    _, low = _queued_run(store, "low", priority=-1)
    _, first = _queued_run(store, "first")
    _, high = _queued_run(store, "high", priority=10)
    _, second = _queued_run(store, "second")
    assert [e.id for e in store.list_queue()] == [high, first, second, low]
    store.set_priority(low, 20)
    assert [e.id for e in store.list_queue()] == [low, high, first, second]
    store.claim_job(second, "local")
    assert [e.id for e in store.list_queue()] == [second, low, high, first]  # started ones first
    assert [e.id for e in store.list_queue(["queued"])] == [low, high, first]


def test_a_run_cannot_be_queued_twice_and_bad_requests_name_the_problem(store: Store) -> None:
    run_id, job = _queued_run(store, "once")
    with pytest.raises(QueueError, match=f"run {run_id} is already in the queue as job {job}"):
        store.enqueue(run_id)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        store.enqueue("nope")
    with pytest.raises(QueueError, match="number of GPUs"):
        store.enqueue(store.create_run("jobs", environment={}).id, gpus=-1)
    with pytest.raises(QueueError, match="priority"):
        store.set_priority(job, 10**9)
    with pytest.raises(NotFoundError, match="no job 999"):
        store.cancel_job(999)
    store.cancel_job(job)
    assert store.enqueue(run_id).id != job  # once its job has ended, the run may be queued again


def test_cancelling_a_waiting_job_stops_its_run_and_a_started_one_is_asked_to_stop(store: Store) -> None:
    waiting_run, waiting = _queued_run(store, "waiting")
    busy_run, busy = _queued_run(store, "busy")
    assert store.claim_job(busy, "a100") is not None

    cancelled = store.cancel_job(waiting)
    assert cancelled.state == "cancelled" and cancelled.ended is not None and cancelled.reason == CANCELLED_REASON
    run = store.get_run(waiting_run)
    assert run.status == "stopped" and run.tags["reason"] == CANCELLED_REASON

    asked = store.cancel_job(busy)
    assert asked.state == "started" and asked.stop_requested  # the dispatcher that runs it stops it
    assert store.get_run(busy_run).status == "queued"
    with pytest.raises(QueueError, match=f"job {waiting} .* has already ended: cancelled"):
        store.cancel_job(waiting)
    with pytest.raises(QueueError, match=f"job {busy} .* is started"):
        store.set_priority(busy, 3)


def test_claiming_marks_the_job_started_once_and_ending_keeps_the_first_ending(store: Store) -> None:
    run_id, job = _queued_run(store, "x", host="any")
    assert store.get_run(run_id).tags["host"] == "any"
    entry = store.claim_job(job, "h100-box")
    assert entry is not None and entry.state == "started" and entry.placed_on == "h100-box" == entry.where
    assert entry.started is not None and entry.dispatcher_alive()
    assert store.get_run(run_id).tags["host"] == "h100-box"
    assert store.claim_job(job, "other") is None
    back = store.requeue_job(job, "its dispatcher exited before the run began")
    assert back.state == "queued" and back.placed_on is None and back.reason.startswith("its dispatcher")
    assert store.get_run(run_id).tags["host"] == "any"
    store.claim_job(job, "h100-box")
    assert store.end_job(job, "finished").state == "finished"
    assert store.end_job(job, "failed", "late").state == "finished"
    assert store.list_queue() == [] and [e.id for e in store.list_queue(None)] == [job]


def test_the_queue_is_kept_in_the_file(store_path: Path) -> None:
    with Store(store_path) as first:
        run_id, job = _queued_run(first, "kept", host="a100", gpus=4, priority=3)
    with Store(store_path) as again:
        (entry,) = again.list_queue()
        assert (entry.id, entry.run_id, entry.gpus, entry.priority) == (job, run_id, 4, 3)
    assert integrity(store_path) == "ok"


def _claim(path: str, job: int, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with Store(path) as s:
        results.put(s.claim_job(job, "a100") is not None)  # type: ignore[attr-defined]


def test_several_dispatchers_claiming_one_job_start_it_once(store_path: Path) -> None:
    with Store(store_path) as s:
        _, job = _queued_run(s, "contested")
    ctx = mp_context()
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(store_path), job, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert sorted(results.get(timeout=5) for _ in range(4)) == [False, False, False, True]


@pytest.mark.sqlite_only(reason="builds an SQLite file of an older schema version by hand")
def test_a_store_from_the_previous_version_opens_and_gains_the_queue(store_path: Path) -> None:
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=2)
    now = time.time()
    conn.execute("INSERT INTO projects VALUES ('p1', 'default', ?)", (now,))
    conn.execute("INSERT INTO experiments VALUES ('e1', 'p1', 'old', ?)", (now,))
    conn.execute("INSERT INTO runs (id, experiment_id, name, status, created, started, ended, gpu_seconds) "
                 "VALUES ('r1', 'e1', 'run-1', 'finished', ?, ?, ?, 7200)", (now, now, now + 1))
    conn.execute("COMMIT")
    conn.close()
    assert sql(store_path, "PRAGMA user_version") == [(2,)]
    with Store(store_path) as s:
        assert s.get_run("r1").gpu_seconds == 7200 and s.list_queue(None) == []
        _, job = _queued_run(s, "new")
        assert [e.id for e in s.list_queue()] == [job]
    applied = [v for (v,) in sql(store_path, "SELECT version FROM schema_version ORDER BY version")]
    assert applied == [v for v, _, _ in schema.MIGRATIONS]
    assert sql(store_path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    assert integrity(store_path) == "ok"
