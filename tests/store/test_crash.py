"""A training process killed with SIGKILL: its run becomes "crashed", the file stays sound, and every
flushed point is there (the unflushed ones are the documented loss)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.chunks import CHUNK_POINTS

from .helpers import chunk_counts, integrity, mp_context, sql

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _log_then_hang(path: str, conn: object) -> None:
    with Store(path, flush_points=10**9, flush_seconds=3600) as s:
        run = s.create_run("crash", environment={})
        for step in range(5000):
            s.log_metric(run.id, "loss", float(step), step)
        s.flush()  # a checkpoint: these 5000 must survive
        for step in range(5000, 5300):
            s.log_metric(run.id, "loss", float(step), step)  # buffered only: lost with the process
        conn.send(run.id)  # type: ignore[attr-defined]
        time.sleep(600)


def _log_forever(path: str, conn: object) -> None:
    with Store(path, flush_points=37) as s:
        run = s.create_run("crash", environment={})
        conn.send(run.id)  # type: ignore[attr-defined]
        step = 0
        while True:
            s.log_metric(run.id, "loss", float(step), step)
            if step % 500 == 0:
                s.log_series(run.id, "series", np.arange(step, step + 100), np.arange(step, step + 100) * 1.0)
                s.set_tags(run.id, {"step": step})
            step += 1


def _start_and_kill(target: object, path: Path, delay: float) -> str:
    ctx = mp_context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(str(path), child))
    proc.start()
    assert parent.poll(60), "child did not start"
    run_id = parent.recv()
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    return run_id


def test_killed_run_is_marked_crashed_and_flushed_points_survive(store_path: Path) -> None:
    run_id = _start_and_kill(_log_then_hang, store_path, 0.0)
    assert integrity(store_path) == "ok"
    with Store(store_path) as s:
        alive = s.create_run("crash", environment={})  # owned by this (live) process
        assert s.get_run(run_id).status == "running"
        assert s.mark_crashed_runs() == [run_id]
        crashed = s.get_run(run_id)
        assert crashed.status == "crashed" and crashed.ended >= crashed.started
        assert crashed.ended == crashed.metrics["loss"].timestamp  # its last sign of life, not "now"
        history = s.metric_history(run_id, "loss")
        assert np.array_equal(history.steps, np.arange(5000)) and crashed.metrics["loss"].count == 5000
        assert s.get_run(alive.id).status == "running"
        assert s.mark_crashed_runs() == []  # idempotent


def test_kill_in_the_middle_of_writing_leaves_a_consistent_file(store_path: Path) -> None:
    run_id = _start_and_kill(_log_forever, store_path, 0.4)
    assert integrity(store_path) == "ok"
    with Store(store_path) as s:
        assert s.mark_crashed_runs() == [run_id]
        loss = s.metric_history(run_id, "loss")
        n = len(loss)
        assert n > 0 and np.array_equal(loss.steps, np.arange(n)) and np.array_equal(loss.values, np.arange(n))
        assert s.latest_metrics(run_id)["loss"].count == n  # chunks and summary committed together
        series = s.metric_history(run_id, "series")
        assert len(series) % 100 == 0 and s.latest_metrics(run_id)["series"].count == len(series)
    counts = chunk_counts(store_path, run_id, "loss")
    assert all(c == CHUNK_POINTS for c in counts[:-1]) and sum(counts) == n


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process start tokens come from /proc")
def test_a_reused_pid_does_not_keep_a_dead_run_alive(store: Store) -> None:
    run = store.create_run("e", environment={})
    # Same pid as a live process (ours) but a different start time: the owner is gone.
    sql(store.path, "UPDATE runs SET process_start = 'other' WHERE id = ?", (run.id,))
    assert store.mark_crashed_runs() == [run.id]


def test_runs_of_other_hosts_or_without_owner_are_left_alone(store: Store) -> None:
    elsewhere = store.create_run("e", environment={})
    unowned = store.create_run("e", environment={})
    sql(store.path, "UPDATE runs SET hostname = 'another-machine', pid = 999999999 WHERE id = ?", (elsewhere.id,))
    sql(store.path, "UPDATE runs SET pid = NULL WHERE id = ?", (unowned.id,))
    assert store.mark_crashed_runs() == []
    sql(store.path, "UPDATE runs SET hostname = ?, pid = 999999999 WHERE id = ?", (elsewhere.hostname, elsewhere.id))
    assert store.mark_crashed_runs() == [elsewhere.id]
    assert store.get_run(elsewhere.id).ended is not None
