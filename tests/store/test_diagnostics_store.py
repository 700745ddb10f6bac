"""Training diagnostics in the store: compressed records that come back as they went in, in order, survive a
reopen, go with their run, and arrive in a version-3 store by migration."""

from __future__ import annotations

import json
import math
import sqlite3
import time
import zlib
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import NotFoundError, Store, StoreError, schema
from neuralforge_desktop.core.training.coach.records import (
    Histogram,
    Histograms,
    InputStats,
    LayerStats,
    NonFinite,
    record_to_json,
)
from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics

from .helpers import integrity, sql


def _layers(step: int, grad: float = 0.5) -> LayerStats:
    return LayerStats(step=step, layers=["conv1", "block/fc"], grad_norm=[grad, None], weight_norm=[3.0, None],
                      update_ratio=[1e-3, None], act_mean=[0.1, -0.2], act_std=[1.0, 0.5],
                      act_zero_frac=[0.4, None], act_sat_frac=[None, None])


def _histograms(step: int) -> Histograms:
    hist = Histogram(lo=-1.0, hi=1.0, counts=[1] * 32)
    return Histograms(step=step, layers=["conv1", "block/fc"], grad=[hist, None], act=[hist, hist])


def _inputs(step: int, epoch: int) -> InputStats:
    return InputStats(step=step, epoch=epoch, channel_mean=[0.0, 0.1, 0.2], channel_std=[1.0, 1.1, 0.9],
                      min=-2.5, max=2.5, label_counts=[10, 12, 8])


def test_records_of_every_kind_come_back_equal_and_in_step_order(store: Store) -> None:
    run = store.create_run("exp")
    store.log_diagnostic(run.id, "layers", _layers(50))
    store.log_diagnostics(run.id, [("histograms", _histograms(50)), ("inputs", _inputs(10, 1)),
                                   ("layers", _layers(10, grad=math.nan))])
    store.log_diagnostic(run.id, "nonfinite", NonFinite(step=60, where="activation", layer="block/fc"))
    every = store.diagnostic_records(run.id)
    assert [(kind, record.step) for kind, record in every] == [
        ("inputs", 10), ("layers", 10), ("layers", 50), ("histograms", 50), ("nonfinite", 60)]
    assert every[3][1] == _histograms(50) and every[0][1] == _inputs(10, 1) and every[2][1] == _layers(50)
    assert math.isnan(every[1][1].grad_norm[0])  # a NaN measured is kept as NaN, not turned into "missing"
    assert [r.step for _, r in store.diagnostic_records(run.id, "layers")] == [10, 50]
    assert store.diagnostic_records(run.id, "nonfinite") == [("nonfinite", NonFinite(60, "activation", "block/fc"))]


def test_rows_hold_compressed_json(store: Store, store_path: Path) -> None:
    run = store.create_run("exp")
    record = _layers(5)
    store.log_diagnostic(run.id, "layers", record)
    [(kind, step, seq, data)] = sql(store_path, "SELECT kind, step, seq, data FROM diagnostics")
    assert (kind, step, seq) == ("layers", 5, 0)
    assert json.loads(zlib.decompress(data)) == record_to_json(record)


def test_unknown_kinds_and_runs_are_refused_and_nothing_is_written(store: Store, store_path: Path) -> None:
    run = store.create_run("exp")
    with pytest.raises(StoreError, match="unknown diagnostics kind 'gradients'"):
        store.log_diagnostics(run.id, [("layers", _layers(1)), ("gradients", _layers(2))])
    with pytest.raises(NotFoundError):
        store.log_diagnostic("no-such-run", "layers", _layers(1))
    with pytest.raises(NotFoundError):
        store.diagnostic_records("no-such-run")
    assert sql(store_path, "SELECT COUNT(*) FROM diagnostics") == [(0,)]


def test_records_survive_a_reopen_and_are_deleted_with_their_run(store_path: Path) -> None:
    with Store(store_path) as s:
        keep, drop = s.create_run("exp").id, s.create_run("exp").id
        for run_id in (keep, drop):
            s.log_diagnostic(run_id, "layers", _layers(1))
    with Store(store_path) as s:
        assert s.diagnostic_records(keep) == [("layers", _layers(1))]
        s.delete_run(drop)
    assert sql(store_path, "SELECT run_id FROM diagnostics") == [(keep,)]


def test_loading_a_run_keeps_the_last_record_of_a_repeated_step(store: Store) -> None:
    run = store.create_run("exp", params={"diagnostics": "full"})
    assert load_run_diagnostics(store, run.id) is None  # no records: an older run, or diagnostics off
    store.log_diagnostic(run.id, "layers", _layers(10, grad=1.0))
    store.log_diagnostic(run.id, "layers", _layers(20, grad=2.0))
    store.log_diagnostic(run.id, "layers", _layers(20, grad=3.0))  # recorded again after a resume
    store.log_diagnostic(run.id, "inputs", _inputs(20, 1))
    loaded = load_run_diagnostics(store, run.id)
    assert loaded is not None and loaded.level == "full"
    assert loaded.series("grad_norm", "conv1") == [(10, 1.0), (20, 3.0)]
    assert loaded.inputs == [_inputs(20, 1)] and loaded.histograms == [] and loaded.nonfinite == []
    assert sql(store.path, "SELECT seq FROM diagnostics WHERE step = 20 AND kind = 'layers' ORDER BY seq") == [
        (0,), (1,)]


def _write_v3_store(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=3)
    now = time.time()
    conn.execute("INSERT INTO projects VALUES ('p1', 'default', ?)", (now,))
    conn.execute("INSERT INTO experiments VALUES ('e1', 'p1', 'old', ?)", (now,))
    conn.execute("INSERT INTO runs (id, experiment_id, name, status, created, started, ended) "
                 "VALUES ('r1', 'e1', 'run-1', 'finished', ?, ?, ?)", (now, now, now + 1))
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.sqlite_only(reason="builds an SQLite file of an older schema version by hand")
def test_a_version_3_store_gains_the_diagnostics_table(store_path: Path) -> None:
    _write_v3_store(store_path)
    assert sql(store_path, "SELECT MAX(version) FROM schema_version") == [(3,)]
    assert not sql(store_path, "SELECT name FROM sqlite_master WHERE name = 'diagnostics'")
    with Store(store_path) as s:
        assert s.diagnostic_records("r1") == [] and load_run_diagnostics(s, "r1") is None  # an older run
        s.log_diagnostic("r1", "nonfinite", NonFinite(step=3, where="loss", layer=None))
        assert s.diagnostic_records("r1") == [("nonfinite", NonFinite(3, "loss", None))]
    applied = [v for (v,) in sql(store_path, "SELECT version FROM schema_version ORDER BY version")]
    assert applied == [v for v, _, _ in schema.MIGRATIONS]
    assert sql(store_path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    assert integrity(store_path) == "ok"
