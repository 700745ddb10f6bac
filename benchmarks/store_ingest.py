"""Experiment store speed: metric ingest and reading back a 20,000-point history.

Through the public API (a real SQLite file in a temporary directory, WAL, default settings):

* ``log_series``: vectorised numpy input, 10,000 points per call (one call per "epoch" of logging);
* ``log_metric``: one Python call per point, buffered, including the flushes and a final ``flush()``;
* ``metric_history``: one metric of 20,000 points, warm (median of repeated reads) and cold (new Store).

Baseline (same process, same pragmas): plain ``sqlite3`` with one row per point, ``executemany`` in
transactions of 10,000 rows, indexed by (run, metric, step) — the row layout MLflow's SQL store uses — and
reading the history back into numpy arrays. MLflow's own SQLite store, measured on this machine separately
(not by this script): 8,200 points/s batched ingest, 802 ms for a 20,000-point history.

Prints figures, then one JSON line.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from neuralforge_desktop.core.store import Store

SERIES_POINTS = 1_000_000
SERIES_CALL = 10_000
PER_POINT = 300_000
HISTORY = 20_000
BASELINE_POINTS = 200_000
MLFLOW_POINTS_PER_S = 8_200
MLFLOW_READ_20K_MS = 802.0


def bench_series(store: Store, run_id: str) -> float:
    steps = np.arange(SERIES_POINTS, dtype=np.int64)
    values = np.random.default_rng(0).random(SERIES_POINTS)
    start = time.perf_counter()
    for lo in range(0, SERIES_POINTS, SERIES_CALL):
        store.log_series(run_id, "loss", steps[lo:lo + SERIES_CALL], values[lo:lo + SERIES_CALL])
    elapsed = time.perf_counter() - start
    assert len(store.metric_history(run_id, "loss")) == SERIES_POINTS
    return SERIES_POINTS / elapsed


def bench_per_point(store: Store, run_id: str) -> float:
    log = store.log_metric
    start = time.perf_counter()
    for step in range(PER_POINT):
        log(run_id, "train/loss", 1.0 / (step + 1), step)
    store.flush()
    elapsed = time.perf_counter() - start
    assert len(store.metric_history(run_id, "train/loss")) == PER_POINT
    return PER_POINT / elapsed


def bench_read(path: Path, store: Store, run_id: str) -> tuple[float, float]:
    store.log_series(run_id, "val/acc", np.arange(HISTORY), np.linspace(0.0, 1.0, HISTORY))
    with Store(path) as fresh:
        start = time.perf_counter()
        series = fresh.metric_history(run_id, "val/acc")
        cold = time.perf_counter() - start
    assert len(series) == HISTORY and series.values[-1] == 1.0
    times = []
    for _ in range(50):
        start = time.perf_counter()
        store.metric_history(run_id, "val/acc")
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, cold * 1e3


def bench_rows(path: Path) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE metrics (run_id TEXT, name TEXT, step INTEGER, value REAL, timestamp REAL)")
    conn.execute("CREATE INDEX metrics_by_step ON metrics (run_id, name, step)")
    now = time.time()
    values = np.random.default_rng(0).random(BASELINE_POINTS).tolist()
    start = time.perf_counter()
    for lo in range(0, BASELINE_POINTS, SERIES_CALL):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                         [("run", "loss", step, values[step], now) for step in range(lo, lo + SERIES_CALL)])
        conn.execute("COMMIT")
    ingest = BASELINE_POINTS / (time.perf_counter() - start)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        rows = conn.execute("SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND name = ? AND step < ? "
                            "ORDER BY step", ("run", "loss", HISTORY)).fetchall()
        columns = np.array(rows, dtype=np.float64)
        steps = columns[:, 0].astype(np.int64)
        times.append(time.perf_counter() - start)
    assert len(steps) == HISTORY
    conn.close()
    return ingest, statistics.median(times) * 1e3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        with Store(path) as store:
            series_run = store.create_run("bench", environment={})
            point_run = store.create_run("bench", environment={})
            series_rate = bench_series(store, series_run.id)
            point_rate = bench_per_point(store, point_run.id)
            read_ms, cold_ms = bench_read(path, store, point_run.id)
        size_mb = path.stat().st_size / 1e6
        rows_rate, rows_read_ms = bench_rows(Path(tmp) / "rows.db")
    figures = {
        "log_series_points_per_s": round(series_rate),
        "log_metric_points_per_s": round(point_rate),
        "read_20k_ms": round(read_ms, 3),
        "read_20k_cold_ms": round(cold_ms, 3),
        "db_mb_after_ingest": round(size_mb, 1),
        "sqlite_rows_points_per_s": round(rows_rate),
        "sqlite_rows_read_20k_ms": round(rows_read_ms, 3),
        "ingest_speedup_vs_rows": round(series_rate / rows_rate, 1),
        "per_point_speedup_vs_rows": round(point_rate / rows_rate, 2),
        "read_speedup_vs_rows": round(rows_read_ms / read_ms, 1),
        "mlflow_reference": {"points_per_s": MLFLOW_POINTS_PER_S, "read_20k_ms": MLFLOW_READ_20K_MS},
        "ingest_speedup_vs_mlflow": round(series_rate / MLFLOW_POINTS_PER_S),
        "read_speedup_vs_mlflow": round(MLFLOW_READ_20K_MS / read_ms),
        "targets": {"ingest_points_per_s": 1_000_000, "read_20k_ms": 5},
    }
    print(f"log_series (vectorised, {SERIES_CALL:,} points per call): {series_rate:,.0f} points/s")
    print(f"log_metric (one call per point, buffered, incl. flushes): {point_rate:,.0f} points/s")
    print(f"metric_history, {HISTORY:,} points: {read_ms:.3f} ms warm, {cold_ms:.3f} ms cold (new Store)")
    print(f"store file after {SERIES_POINTS + PER_POINT + HISTORY:,} points: {size_mb:.1f} MB")
    print(f"baseline sqlite3, one row per point: {rows_rate:,.0f} points/s, read {rows_read_ms:.3f} ms")
    print(f"vs one row per point: ingest {figures['ingest_speedup_vs_rows']}x (per-point path "
          f"{figures['per_point_speedup_vs_rows']}x), read {figures['read_speedup_vs_rows']}x")
    print(f"vs MLflow reference figures: ingest {figures['ingest_speedup_vs_mlflow']}x, "
          f"read {figures['read_speedup_vs_mlflow']}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
