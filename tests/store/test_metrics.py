"""Metric logging and reading: buffering and its flush points, the chunk layout, latest values, inputs."""

from __future__ import annotations

import gc
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralforge_desktop.core.store import (
    MetricPoint,
    MetricSeries,
    NotFoundError,
    ParamConflictError,
    Store,
    StoreError,
    sqlite_store,
)
from neuralforge_desktop.core.store.chunks import CHUNK_POINTS

from .helpers import chunk_counts


def _seen(path: Path, run_id: str, name: str = "loss") -> int:
    with Store(path) as reader:  # a second Store: sees only what was committed to the file
        return len(reader.metric_history(run_id, name))


def test_points_are_buffered_until_flush_points(store_path: Path) -> None:
    with Store(store_path, flush_points=1000, flush_seconds=3600) as s:
        run = s.create_run("e", environment={})
        for step in range(999):
            s.log_metric(run.id, "loss", step * 0.5, step)
        assert _seen(store_path, run.id) == 0
        s.log_metric(run.id, "loss", 0.0, 999)
        assert _seen(store_path, run.id) == 1000
        for step in range(1000, 1999):
            s.log_metric(run.id, "loss", 0.0, step)
        assert _seen(store_path, run.id) == 1000
        assert len(s.metric_history(run.id, "loss")) == 1999  # a Store reads its own buffered points...
        assert _seen(store_path, run.id) == 1999  # ...by writing them first
        for step in range(1999, 2998):
            s.log_metric(run.id, "loss", 0.0, step)
        assert _seen(store_path, run.id) == 1999
        s.log_metric(run.id, "loss", 0.0, 2998)  # the count restarted at the read's flush
        assert _seen(store_path, run.id) == 2999
        s.log_metric(run.id, "loss", 0.0, 2999)
        s.flush()
        assert _seen(store_path, run.id) == 3000


def test_buffer_flushes_after_flush_seconds_set_status_and_close(store_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The store's clock is driven by the test, so a loaded machine cannot pass the deadline early.
    clock = [1_000.0]
    monkeypatch.setattr(sqlite_store, "_now", lambda: clock[0])
    s = Store(store_path, flush_points=10**9, flush_seconds=0.05)
    run = s.create_run("e", environment={})
    s.log_metric(run.id, "loss", 1.0, 0)
    clock[0] += 0.04
    s.log_metric(run.id, "loss", 1.0, 1)
    assert _seen(store_path, run.id) == 0  # before the deadline nothing is written
    clock[0] += 0.02
    s.log_metric(run.id, "loss", 1.0, 2)  # the deadline is checked on the next logging call
    assert _seen(store_path, run.id) == 3
    s.log_metric(run.id, "loss", 1.0, 3, timestamp=5.0)
    s.set_status(run.id, "paused")
    assert _seen(store_path, run.id) == 4
    s.log_metric(run.id, "loss", 1.0, 4)
    s.close()
    assert _seen(store_path, run.id) == 5


def test_leftover_points_are_written_when_a_store_is_collected_or_at_exit(store_path: Path) -> None:
    s = Store(store_path, flush_points=10**9, flush_seconds=3600)
    run_id = s.create_run("e", environment={}).id
    s.log_metric(run_id, "loss", 1.0, 0)
    del s
    gc.collect()
    assert _seen(store_path, run_id) == 1
    script = (f"from neuralforge_desktop.core.store import Store\n"
              f"s = Store({str(store_path)!r}, flush_points=10**9, flush_seconds=3600)\n"
              f"for i in range(1, 6): s.log_metric({run_id!r}, 'loss', 2.0, i)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert _seen(store_path, run_id) == 6


def test_log_metrics_log_series_and_log_batch_keep_logging_order(store: Store) -> None:
    run = store.create_run("e", environment={})
    store.log_metric(run.id, "loss", 1.0, 0)
    store.log_metrics(run.id, {"loss": 0.9, "acc": 0.1}, step=1)
    store.log_series(run.id, "loss", np.array([2, 3]), np.array([0.8, 0.7]), timestamps=100.0)
    store.log_batch(run.id, metrics=[MetricPoint("loss", 0.6, 4, 50.0), ("loss", 0.5, 5), ("acc", 0.2, 5, 7.0),
                                     MetricSeries("loss", np.array([6]), np.array([0.4]), np.array([9.0]))],
                    params={"lr": 0.1}, tags={"t": "x"})
    loss = store.metric_history(run.id, "loss")
    assert loss.steps.tolist() == [0, 1, 2, 3, 4, 5, 6] and loss.steps.dtype == np.int64
    assert loss.values.tolist() == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4] and loss.values.dtype == np.float64
    assert loss.timestamps[2:5].tolist() == [100.0, 100.0, 50.0] and loss.timestamps[-1] == 9.0
    assert loss.last() == (6, 0.4) and len(loss) == 7
    assert store.metric_history(run.id, "acc").timestamps[-1] == 7.0
    assert store.metric_names(run.id) == ["acc", "loss"]
    got = store.get_run(run.id)
    assert got.params == {"lr": 0.1} and got.tags == {"t": "x"} and got.metrics["loss"].count == 7


def test_a_failing_batch_writes_nothing_and_keeps_buffered_points(store: Store) -> None:
    run = store.create_run("e", params={"lr": 0.1}, environment={})
    store.log_metric(run.id, "loss", 1.0, 0)
    with pytest.raises(ParamConflictError):
        store.log_batch(run.id, metrics=[("loss", 2.0, 1)], params={"lr": 0.2})
    assert _seen(store.path, run.id) == 0
    store.flush()  # the buffered point was kept for the next flush; the failed batch's point is gone
    assert store.metric_history(run.id, "loss").values.tolist() == [1.0]


def test_bad_inputs_are_refused_at_the_call(store: Store) -> None:
    run = store.create_run("e", environment={})
    with pytest.raises(TypeError):
        store.log_metric(run.id, "loss", 1.0, 1.5)  # float step
    with pytest.raises(TypeError):
        store.log_metric(run.id, "loss", "high", 1)
    store.log_metric(run.id, "loss", np.float32(0.5), np.int64(2))  # numpy scalars are fine
    assert store.metric_history(run.id, "loss").steps.tolist() == [2]  # columns stayed aligned
    with pytest.raises(StoreError, match="integers"):
        store.log_series(run.id, "x", [0.5, 1.5], [1.0, 2.0])
    store.log_series(run.id, "x", [0.0, 1.0], [1.0, 2.0])  # whole-number floats are accepted
    with pytest.raises(StoreError, match="integers"):
        store.log_series(run.id, "x", [math.inf], [1.0])
    with pytest.raises(StoreError, match="differ in length"):
        store.log_series(run.id, "x", [1, 2, 3], [1.0, 2.0])
    with pytest.raises(StoreError, match="integer"):
        store.log_batch(run.id, metrics=[("x", 1.0, 2.5)])
    with pytest.raises(StoreError):
        MetricSeries("x", np.arange(2), np.zeros(3), np.zeros(2))
    store.log_series(run.id, "empty", [], [])  # nothing to write, no error
    assert "empty" not in store.metric_names(run.id)


def test_unknown_runs(store: Store) -> None:
    run = store.create_run("e", environment={})
    with pytest.raises(NotFoundError):
        store.metric_history("ffffffffffff", "loss")
    with pytest.raises(NotFoundError):
        store.latest_metrics("ffffffffffff")
    with pytest.raises(NotFoundError):
        store.log_series("ffffffffffff", "loss", [1], [1.0])
    assert len(store.metric_history(run.id, "never-logged")) == 0
    store.log_metric("ffffffffffff", "loss", 1.0, 0)  # reported when the buffer is written...
    store.log_metric(run.id, "loss", 1.0, 0)
    with pytest.raises(NotFoundError):
        store.flush()
    store.flush()  # ...and then dropped, while the other run's point was written
    assert _seen(store.path, run.id) == 1


def test_chunks_are_full_however_small_the_flushes(store_path: Path) -> None:
    with Store(store_path, flush_points=7, flush_seconds=3600) as s:
        run = s.create_run("e", environment={})
        for step in range(10_000):
            s.log_metric(run.id, "loss", float(step), step)
        s.log_series(run.id, "big", np.arange(CHUNK_POINTS * 2 + 5), np.zeros(CHUNK_POINTS * 2 + 5))
        history = s.metric_history(run.id, "loss")
        assert history.steps.tolist() == list(range(10_000)) and history.values.tolist() == list(range(10_000))
    assert chunk_counts(store_path, run.id, "loss") == [CHUNK_POINTS, CHUNK_POINTS, 10_000 - 2 * CHUNK_POINTS]
    assert chunk_counts(store_path, run.id, "big") == [CHUNK_POINTS, CHUNK_POINTS, 5]


def test_step_range_reads(store: Store) -> None:
    run = store.create_run("e", environment={})
    store.log_series(run.id, "m", np.arange(10_000), np.arange(10_000) * 2.0)
    part = store.metric_history(run.id, "m", min_step=4090, max_step=4100)
    assert part.steps.tolist() == list(range(4090, 4101)) and part.values[0] == 8180.0
    assert store.metric_history(run.id, "m", min_step=9_999).steps.tolist() == [9_999]
    assert len(store.metric_history(run.id, "m", max_step=-1)) == 0


def test_latest_values_nan_and_out_of_order_steps(store: Store) -> None:
    run = store.create_run("e", environment={})
    store.log_series(run.id, "m", np.arange(10), [math.nan, 3.0, -math.inf, 1.0, 2.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    store.log_series(run.id, "m", [5], [42.0])  # an earlier step logged later: not the latest
    latest = store.latest_metrics(run.id)["m"]
    assert (latest.step, latest.value, latest.count, latest.min, latest.max) == (9, 9.0, 11, -math.inf, 42.0)
    store.log_series(run.id, "m", [9], [0.5])  # the same step again: the later write is the latest
    assert store.latest_metrics(run.id)["m"].value == 0.5
    assert math.isnan(store.metric_history(run.id, "m").values[0])
    store.log_series(run.id, "nan", [0, 1], [math.nan, math.nan])
    only_nan = store.latest_metrics(run.id)["nan"]
    assert math.isnan(only_nan.value) and math.isnan(only_nan.min) and math.isnan(only_nan.max)
    assert math.isnan(only_nan.best("max")) and latest.best("min") == -math.inf and latest.best("max") == 42.0


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_any_sequence_of_appends_reads_back_exactly(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    steps = rng.integers(-5, 10_000, total)
    values = rng.normal(size=total)
    values[rng.random(total) < 0.05] = math.nan
    stamps = rng.random(total) * 1e9
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s.db") as s:
        run = s.create_run("e", environment={})
        lo = 0
        for size in sizes:
            s.log_series(run.id, "m", steps[lo:lo + size], values[lo:lo + size], stamps[lo:lo + size])
            lo += size
        got = s.metric_history(run.id, "m")
        latest = s.latest_metrics(run.id)["m"]
        counts = chunk_counts(Path(tmp) / "s.db", run.id, "m")
    assert np.array_equal(got.steps, steps)
    assert np.array_equal(got.values, values, equal_nan=True) and np.array_equal(got.timestamps, stamps)
    assert all(c == CHUNK_POINTS for c in counts[:-1]) and sum(counts) == total == latest.count
    last = max(i for i in range(total) if steps[i] == steps.max())
    assert latest.step == steps[last] and np.array_equal([latest.value], [values[last]], equal_nan=True)
    real = values[~np.isnan(values)]
    expected = [real.min(), real.max()] if real.size else [math.nan, math.nan]
    assert np.array_equal([latest.min, latest.max], expected, equal_nan=True)
