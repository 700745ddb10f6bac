"""Schema versions and migrations: a version-1 file is migrated for real, in one transaction."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.store import Store, StoreError, schema
from neuralforge_desktop.core.store.chunks import encode
from neuralforge_desktop.core.store.database import Database

from .helpers import integrity, mp_context, sql


def _write_v1_store(path: Path) -> None:
    """A store as version 1 wrote it: no latest_metrics, chunks only."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=1)
    now = time.time()
    conn.execute("INSERT INTO projects VALUES ('p1', 'default', ?)", (now,))
    conn.execute("INSERT INTO experiments VALUES ('e1', 'p1', 'old', ?)", (now,))
    conn.execute("INSERT INTO runs (id, experiment_id, name, status, created, started, ended) "
                 "VALUES ('r1', 'e1', 'run-1', 'finished', ?, ?, ?)", (now, now, now + 1))
    conn.execute("INSERT INTO params VALUES ('r1', 'lr', '0.1')")
    series = {"loss": (np.arange(5000), np.linspace(1.0, 0.0, 5000)), "acc": (np.array([0, 2, 1]),
                                                                             np.array([0.1, math.nan, 0.9]))}
    for name, (steps, values) in series.items():
        for seq, lo in enumerate(range(0, len(steps), 4096)):
            part = slice(lo, lo + 4096)
            s, v = steps[part], values[part]
            conn.execute("INSERT INTO metric_chunks VALUES ('r1', ?, ?, ?, ?, ?, 1, ?)",
                         (name, seq, len(s), int(s.min()), int(s.max()), encode(s, v, np.full(len(s), now))))
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.sqlite_only(reason="builds an SQLite file of an older schema version by hand")
def test_a_version_1_store_is_migrated_and_back_filled(store_path: Path) -> None:
    _write_v1_store(store_path)
    assert sql(store_path, "SELECT version FROM schema_version") == [(1,)]
    assert not sql(store_path, "SELECT name FROM sqlite_master WHERE name = 'latest_metrics'")
    with Store(store_path) as s:
        run = s.get_run("r1")
        assert run.params == {"lr": 0.1} and run.experiment == "old"
        loss, acc = run.metrics["loss"], run.metrics["acc"]
        assert (loss.step, loss.value, loss.min, loss.max, loss.count) == (4999, 0.0, 0.0, 1.0, 5000)
        assert (acc.step, acc.count) == (2, 3) and math.isnan(acc.value) and (acc.min, acc.max) == (0.1, 0.9)
        s.log_series("r1", "loss", [5000], [-1.0])  # the back-filled row keeps being maintained
        assert s.latest_metrics("r1")["loss"].count == 5001 and s.latest_metrics("r1")["loss"].min == -1.0
        assert len(s.metric_history("r1", "loss")) == 5001
        assert [r.id for r in s.list_runs(order_by="metrics.loss")] == ["r1"]
    versions = [v for (v,) in sql(store_path, "SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m[0] for m in schema.MIGRATIONS]
    indexes = {n for (n,) in sql(store_path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_by_status", "tags_by_value", "latest_metrics_by_name"} <= indexes
    assert integrity(store_path) == "ok"


def test_a_new_store_is_created_at_the_latest_version(store_path: Path) -> None:
    Store(store_path).close()
    applied = [v for (v,) in sql(store_path, "SELECT version FROM schema_version")]
    # every migration applied, numbered without gaps, the newest being the version the program writes
    assert applied == [m[0] for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))
    assert applied[-1] == schema.SCHEMA_VERSION
    if isinstance(store_path, Path):
        assert sql(store_path, "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.sqlite_only(reason="builds an SQLite file of an older schema version by hand")
def test_a_failing_migration_leaves_the_file_unchanged(store_path: Path) -> None:
    _write_v1_store(store_path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    broken_version = schema.SCHEMA_VERSION + 1
    db = Database(store_path)
    with pytest.raises(RuntimeError), db.write() as conn:
        schema.migrate(conn, target=broken_version,
                       migrations=(*schema.MIGRATIONS, (broken_version, "broken", broken)))
    db.close()
    # The later versions' tables and the half-done one were rolled back together: still exactly version 1.
    assert sql(store_path, "SELECT version FROM schema_version") == [(1,)]
    names = {n for (n,) in sql(store_path, "SELECT name FROM sqlite_master")}
    assert "half_done" not in names and "latest_metrics" not in names and "queue" not in names


def test_a_store_from_a_newer_version_is_refused(store_path: Path) -> None:
    Store(store_path).close()
    sql(store_path, "INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(StoreError, match="newer"):
        Store(store_path)


def _open_new_store(path: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    with Store(path) as s:
        s.get_or_create_experiment("shared")


def test_many_processes_creating_one_new_store_at_once(store_path: Path) -> None:
    ctx = mp_context()
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_open_new_store, args=(str(store_path), barrier)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 6
    assert [v for (v,) in sql(store_path, "SELECT version FROM schema_version")] == [m[0] for m in schema.MIGRATIONS]
    assert sql(store_path, "SELECT COUNT(*) FROM experiments") == [(1,)]
