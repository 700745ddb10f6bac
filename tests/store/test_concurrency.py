"""Eight processes writing one store at once: no "database is locked", no lost or duplicated points."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.chunks import CHUNK_POINTS

from .helpers import chunk_counts, integrity, mp_context, sql

WORKERS = 8
POINTS = 20_000
SHARED = 5_000  # per worker, appended to one metric of one shared run by everybody


def _worker(path: str, index: int, shared_run: str, barrier: object, busy_timeout: float, retries: object) -> None:
    try:
        barrier.wait()  # type: ignore[attr-defined]
        # Small flushes: ~40 contended transactions per worker, plus params, tags and series.
        with Store(path, flush_points=500, busy_timeout=busy_timeout) as s:
            run = s.create_run("race", f"worker-{index}", params={"worker": index}, environment={})
            for step in range(POINTS):
                s.log_metric(run.id, "loss", index * 1e6 + step, step)
                if step % 1000 == 0:
                    s.log_params(run.id, {f"p{step}": step})
                    s.set_tags(run.id, {"progress": step})
                if step % 4000 == 0:
                    lo = step // 4000 * 1000
                    steps = np.arange(lo, lo + 1000)
                    s.log_series(shared_run, "all", steps, index * 1e6 + steps)
            s.set_status(run.id, "finished")
            with retries.get_lock():  # type: ignore[attr-defined]
                retries.value += s.lock_retries  # type: ignore[attr-defined]
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)


# busy_timeout 0: SQLite answers SQLITE_BUSY at once, so the store's own backoff loop handles every conflict.
@pytest.mark.parametrize("busy_timeout", [2.0, 0.0], ids=["sqlite-busy-handler", "store-backoff-only"])
def test_eight_processes_log_concurrently_without_errors_or_loss(store_path: Path, busy_timeout: float) -> None:
    if busy_timeout == 0.0 and not isinstance(store_path, Path):
        pytest.skip("SQLite's busy handler off: on PostgreSQL writers queue on the advisory lock, never busy")
    with Store(store_path) as s:
        shared = s.create_run("shared", environment={}).id
    ctx = mp_context()
    barrier = ctx.Barrier(WORKERS)
    retries = ctx.Value("i", 0)
    procs = [ctx.Process(target=_worker, args=(str(store_path), i, shared, barrier, busy_timeout, retries))
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    if busy_timeout == 0.0:
        assert retries.value > 0  # the writers really did collide

    with Store(store_path) as s:
        assert len(s.list_experiments()) == 2  # "race" created once despite 8 concurrent get-or-creates
        runs = s.list_runs("race", order_by="name")
        assert [r.name for r in runs] == [f"worker-{i}" for i in range(WORKERS)]
        for i, run in enumerate(runs):
            history = s.metric_history(run.id, "loss")
            assert np.array_equal(history.steps, np.arange(POINTS))
            assert np.array_equal(history.values, i * 1e6 + np.arange(POINTS))
            assert run.metrics["loss"].count == POINTS and run.metrics["loss"].value == i * 1e6 + POINTS - 1
            assert run.status == "finished" and run.tags == {"progress": str(POINTS - 1000)}
            assert run.params == {"worker": i, **{f"p{k}": k for k in range(0, POINTS, 1000)}}
            counts = chunk_counts(store_path, run.id, "loss")
            assert all(c == CHUNK_POINTS for c in counts[:-1]) and sum(counts) == POINTS
        everyone = s.metric_history(shared, "all")
        assert len(everyone) == WORKERS * SHARED == s.latest_metrics(shared)["all"].count
        for i in range(WORKERS):
            # Each worker's points arrive in its own order, interleaved with the others' batches.
            mine = everyone.values[(everyone.values >= i * 1e6) & (everyone.values < (i + 1) * 1e6)]
            assert np.array_equal(mine, i * 1e6 + np.arange(SHARED))
        counts = chunk_counts(store_path, shared, "all")
        assert all(c == CHUNK_POINTS for c in counts[:-1])
    assert integrity(store_path) == "ok"
    assert sql(store_path, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == [(1,)]  # only "shared"


def _log_in_child(path: str, run_id: str) -> None:
    with Store(path) as s:
        for step in range(100):
            s.log_metric(run_id, "child", 1.0, step)


def test_a_forked_child_does_not_write_the_parents_buffered_points(store_path: Path) -> None:
    ctx = mp_context()
    with Store(store_path, flush_points=10**9, flush_seconds=3600) as s:
        run = s.create_run("e", environment={})
        for step in range(50):
            s.log_metric(run.id, "parent", 1.0, step)
        s.get_run(run.id)  # the parent's connection is open when the child starts
        s.log_metric(run.id, "parent", 1.0, 50)
        child = ctx.Process(target=_log_in_child, args=(str(store_path), run.id))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        s.log_metric(run.id, "parent", 1.0, 51)
        assert len(s.metric_history(run.id, "parent")) == 52
        assert len(s.metric_history(run.id, "child")) == 100
    assert integrity(store_path) == "ok"
