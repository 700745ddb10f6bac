"""Experiment store speed: metric ingest and reading back a 20,000-point history.

Through the public API (a real SQLite file in a temporary directory, WAL, default settings):

* ``log_series``: vectorised numpy input, 10,000 points per call (one call per "epoch" of logging);
* ``log_metric``: one Python call per point, buffered, including the flushes and a final ``flush()``;
* ``metric_history``: one metric of 20,000 points, warm (median of repeated reads) and cold (new Store).

Baselines, measured in this run:

* plain ``sqlite3`` with one row per point, ``executemany`` in transactions of 10,000 rows, indexed by
  (run, metric, step) — the row layout MLflow's SQL store uses — reading the history back into numpy arrays;
* MLflow's own SQLite tracking store (``pip install -e .[bench]``), given the same work as NeuralForge's store,
  the same number of rounds on each side, alternating: ``log_metric`` one point per call (MLflow writes each
  point in its own transaction; ours buffers and the round includes the final ``flush()``); ``log_batch`` of
  1,000 points per call, 20,000 points per round; reading a 20,000-point history with a new client / new Store.
  Without MLflow installed the script says so and prints only its own figures.

PostgreSQL column: the same ``log_series``/``log_metric``/``metric_history`` work on a team store, on a
throwaway local server the script starts itself (tests/pgserver.py: initdb in a temporary folder, fsync off —
the figures measure the store's path, not a disk); target ≥ 300,000 points/s on the bulk path. Without
PostgreSQL's binaries the column is left out and the script says so.

Prints figures, then one JSON object on the last line.
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
MATCHED_ROUNDS = 3  # rounds per side in the MLflow comparison
MATCHED_PER_POINT = 100  # points per round through log_metric (MLflow commits each one: ~30–250 points/s)
MATCHED_BATCH = 1_000  # points per log_batch call (MLflow's limit per call)


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


def bench_read(path: Path | str, store: Store, run_id: str) -> tuple[float, float]:
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


class MatchedWork:
    """The same rounds of work for NeuralForge's store and for MLflow's SQLite store (see the module docs)."""

    def __init__(self, folder: Path) -> None:
        import logging

        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        self.metric = Metric
        self.uri = f"sqlite:///{folder / 'mlflow.db'}"
        self.client_class = MlflowClient
        client = MlflowClient(tracking_uri=self.uri)  # creates the schema (untimed)
        experiment = client.create_experiment("bench", artifact_location=(folder / "mlflow-artifacts").as_uri())
        self.mlflow = client
        self.mlflow_run = client.create_run(experiment).info.run_id
        self.path = folder / "neuralforge.db"
        self.store = Store(self.path)
        self.run = self.store.create_run("bench", environment={}).id

    def close(self) -> None:
        self.store.close()

    # -- one round of each kind, each side; seconds ---------------------------------------------------------
    def per_point_ours(self, name: str) -> float:
        start = time.perf_counter()
        for step in range(MATCHED_PER_POINT):
            self.store.log_metric(self.run, name, 1.0 / (step + 1), step)
        self.store.flush()
        return time.perf_counter() - start

    def per_point_mlflow(self, name: str) -> float:
        start = time.perf_counter()
        for step in range(MATCHED_PER_POINT):
            self.mlflow.log_metric(self.mlflow_run, name, 1.0 / (step + 1), step=step)
        return time.perf_counter() - start

    def batch_ours(self, name: str) -> float:
        stamp = time.time()
        start = time.perf_counter()
        for lo in range(0, HISTORY, MATCHED_BATCH):
            self.store.log_batch(self.run, metrics=[(name, step / HISTORY, step, stamp)
                                                    for step in range(lo, lo + MATCHED_BATCH)])
        return time.perf_counter() - start

    def batch_mlflow(self, name: str) -> float:
        stamp = int(time.time() * 1000)
        metric = self.metric
        start = time.perf_counter()
        for lo in range(0, HISTORY, MATCHED_BATCH):
            self.mlflow.log_batch(self.mlflow_run, metrics=[metric(name, step / HISTORY, stamp, step)
                                                            for step in range(lo, lo + MATCHED_BATCH)])
        return time.perf_counter() - start

    def read_ours(self, name: str) -> float:
        start = time.perf_counter()
        with Store(self.path) as fresh:
            series = fresh.metric_history(self.run, name)
        elapsed = time.perf_counter() - start
        assert len(series) == HISTORY
        return elapsed

    def read_mlflow(self, name: str) -> float:
        start = time.perf_counter()
        history = self.client_class(tracking_uri=self.uri).get_metric_history(self.mlflow_run, name)
        elapsed = time.perf_counter() - start
        assert len(history) == HISTORY
        return elapsed


def mlflow_comparison(folder: Path) -> dict[str, object] | None:
    """Medians of MATCHED_ROUNDS alternating rounds per side; None when MLflow is not installed."""
    try:
        work = MatchedWork(folder)
    except ImportError:
        return None
    sides: dict[str, dict[str, list[float]]] = {"ours": {}, "mlflow": {}}
    try:
        for kind in ("per_point", "batch", "read"):
            for side in sides:
                sides[side][kind] = []
            for i in range(MATCHED_ROUNDS):
                name = f"batch{i}" if kind == "read" else f"{kind}{i}"  # reads read what the batch rounds wrote
                sides["ours"][kind].append(getattr(work, f"{kind}_ours")(name))
                sides["mlflow"][kind].append(getattr(work, f"{kind}_mlflow")(name))
    finally:
        work.close()
    import mlflow

    result: dict[str, object] = {"mlflow_version": mlflow.__version__, "rounds": MATCHED_ROUNDS}
    for side, kinds in sides.items():
        result[side] = {
            "log_metric_points_per_s": round(MATCHED_PER_POINT / statistics.median(kinds["per_point"])),
            "log_batch_points_per_s": round(HISTORY / statistics.median(kinds["batch"])),
            "read_20k_cold_ms": round(statistics.median(kinds["read"]) * 1e3, 3),
        }
    ours, theirs = result["ours"], result["mlflow"]
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    result["speedup"] = {
        "log_metric": round(ours["log_metric_points_per_s"] / theirs["log_metric_points_per_s"], 1),
        "log_batch": round(ours["log_batch_points_per_s"] / theirs["log_batch_points_per_s"], 1),
        "read_20k_cold": round(theirs["read_20k_cold_ms"] / ours["read_20k_cold_ms"], 1),
    }
    return result


PG_SERIES_TARGET = 300_000


def postgresql_column() -> dict[str, object] | None:
    """The store's figures on a local PostgreSQL server this function starts and stops (None: not installed)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import pgserver

    server = pgserver.start_server()
    if server is None:
        print(pgserver.MISSING)
        return None
    try:
        url = server.new_database()
        with Store(url) as store:
            series_run = store.create_run("bench", environment={})
            point_run = store.create_run("bench", environment={})
            series_rate = bench_series(store, series_run.id)
            point_rate = bench_per_point(store, point_run.id)
            read_ms, cold_ms = bench_read(url, store, point_run.id)
    finally:
        server.stop()
    return {"log_series_points_per_s": round(series_rate), "log_metric_points_per_s": round(point_rate),
            "read_20k_ms": round(read_ms, 3), "read_20k_cold_ms": round(cold_ms, 3),
            "target_log_series_points_per_s": PG_SERIES_TARGET, "ok": series_rate >= PG_SERIES_TARGET}


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
        matched_folder = Path(tmp) / "matched"
        matched_folder.mkdir()
        matched = mlflow_comparison(matched_folder)
    pg = postgresql_column()
    figures: dict[str, object] = {
        "benchmark": "store_ingest",
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
        "vs_mlflow": matched,
        "postgresql": pg,
        "targets": {"ingest_points_per_s": 1_000_000, "read_20k_ms": 5},
        "ok": series_rate >= 1_000_000 and read_ms <= 5 and (pg is None or bool(pg["ok"])),
    }
    print(f"log_series (vectorised, {SERIES_CALL:,} points per call): {series_rate:,.0f} points/s")
    print(f"log_metric (one call per point, buffered, incl. flushes): {point_rate:,.0f} points/s")
    print(f"metric_history, {HISTORY:,} points: {read_ms:.3f} ms warm, {cold_ms:.3f} ms cold (new Store)")
    print(f"store file after {SERIES_POINTS + PER_POINT + HISTORY:,} points: {size_mb:.1f} MB")
    print(f"baseline sqlite3, one row per point: {rows_rate:,.0f} points/s, read {rows_read_ms:.3f} ms")
    print(f"vs one row per point: ingest {figures['ingest_speedup_vs_rows']}x (per-point path "
          f"{figures['per_point_speedup_vs_rows']}x), read {figures['read_speedup_vs_rows']}x")
    if pg is not None:
        print(f"PostgreSQL store (local server): log_series {pg['log_series_points_per_s']:,} points/s (target "
              f"{PG_SERIES_TARGET:,}), log_metric {pg['log_metric_points_per_s']:,} points/s, metric_history "
              f"{pg['read_20k_ms']:.3f} ms warm, {pg['read_20k_cold_ms']:.3f} ms cold")
    if matched is None:
        print("MLflow is not installed (pip install -e .[bench]): no MLflow figures in this run")
    else:
        ours, theirs, speedup = matched["ours"], matched["mlflow"], matched["speedup"]
        assert isinstance(ours, dict) and isinstance(theirs, dict) and isinstance(speedup, dict)
        print(f"same work, MLflow {matched['mlflow_version']} SQLite store vs NeuralForge, medians of "
              f"{MATCHED_ROUNDS} alternating rounds:")
        print(f"  log_metric, {MATCHED_PER_POINT} points: MLflow {theirs['log_metric_points_per_s']:,} points/s, "
              f"NeuralForge {ours['log_metric_points_per_s']:,} points/s ({speedup['log_metric']}x)")
        print(f"  log_batch of {MATCHED_BATCH:,}, {HISTORY:,} points: MLflow {theirs['log_batch_points_per_s']:,} "
              f"points/s, NeuralForge {ours['log_batch_points_per_s']:,} points/s ({speedup['log_batch']}x)")
        print(f"  read a {HISTORY:,}-point history, new client: MLflow {theirs['read_20k_cold_ms']:.1f} ms, "
              f"NeuralForge {ours['read_20k_cold_ms']:.2f} ms ({speedup['read_20k_cold']}x)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
