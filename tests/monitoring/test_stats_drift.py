"""Serving statistics equal numpy's; drift finds a planted shift and leaves an unshifted sample alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.monitoring import stats
from neuralforge_desktop.core.monitoring.drift import compute_drift, ks, psi
from neuralforge_desktop.core.monitoring.recorder import RequestRecorder
from neuralforge_desktop.core.monitoring.reference import check_drift


def _insert(store, rows) -> None:
    with store.write_transaction() as conn:
        conn.executemany("INSERT INTO monitor_requests (prediction_id, model, version, time, latency_ms, ok, status) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def test_percentiles_equal_numpys_on_the_same_latencies(store) -> None:
    rng = np.random.default_rng(3)
    latencies = rng.lognormal(2.5, 0.6, 997)
    versions = np.where(rng.random(997) < 0.3, "2", "1")
    ok = rng.random(997) > 0.02
    _insert(store, [(f"p{i}", "m", str(versions[i]), 1000.0 + i, float(latencies[i]), int(ok[i]), 200)
                    for i in range(997)])
    _insert(store, [("other", "n", "1", 1500.0, 99999.0, 1, 200)])  # another model is not counted
    requests = stats.load_requests(store, "m", since=1000.0, until=2000.0)
    summary = stats.summary(requests)
    assert summary.count == 997
    assert [summary.p50, summary.p95, summary.p99] == pytest.approx(list(np.percentile(latencies, [50, 95, 99])),
                                                                     rel=1e-12)
    assert summary.error_rate == pytest.approx(1 - ok.mean())
    assert summary.throughput == pytest.approx(997 / 1000.0)
    per_version = stats.per_version(requests)
    assert per_version["2"]["p99"] == pytest.approx(np.percentile(latencies[versions == "2"], 99), rel=1e-12)
    assert per_version["1"]["share"] + per_version["2"]["share"] == pytest.approx(1.0)
    series = stats.over_time(requests, bucket_seconds=100)
    assert sum(series.count) == 997 and len(series.start) == 10
    assert series.p50[3] == pytest.approx(np.percentile(latencies[300:400], 50), rel=1e-12)
    assert [a + b for a, b in zip(series.per_version["1"], series.per_version["2"], strict=True)] == series.count
    assert stats.bucket_width(7200) == 120.0


def test_an_empty_window_has_no_percentiles(store) -> None:
    summary = stats.summary(stats.load_requests(store, "m", since=0.0, until=10.0))
    assert (summary.count, summary.p99, summary.error_rate, summary.throughput) == (0, None, None, 0.0)


def test_psi_and_ks_detect_a_planted_shift_and_not_an_unshifted_sample() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, size=(2000, 3))
    same = rng.normal(0, 1, size=(500, 3))
    shifted = same.copy()
    shifted[:, 1] += 0.8  # plant a shift in feature 1 only
    steady = compute_drift(reference, same)
    assert [f.verdict for f in steady.features] == ["stable"] * 3 and steady.max_psi == 0.0
    assert max(f.psi for f in steady.features) < 0.1
    moved = compute_drift(reference, shifted, names=["age", "income", "tenure"])
    assert [f.verdict for f in moved.features] == ["stable", "major shift", "stable"]
    assert moved.features[1].name == "income" and moved.max_psi == pytest.approx(moved.features[1].psi)
    assert "income" in moved.verdict
    expected = ks_2samp(reference[:, 1], shifted[:, 1])
    assert (moved.features[1].ks_statistic, moved.features[1].ks_pvalue) == (expected.statistic, expected.pvalue)
    assert ks(reference[:, 0], same[:, 0]) == (ks_2samp(reference[:, 0], same[:, 0]).statistic,
                                               ks_2samp(reference[:, 0], same[:, 0]).pvalue)


def test_psi_of_identical_samples_is_zero_and_an_empty_side_is_refused() -> None:
    values = np.arange(100.0)
    assert psi(values, values) == pytest.approx(0.0)
    assert psi(np.zeros(50), np.zeros(20)) == pytest.approx(0.0)  # a constant feature
    with pytest.raises(UserError, match="empty"):
        psi(values, np.array([]))


def test_image_drift_finds_a_brightness_shift_per_channel() -> None:
    rng = np.random.default_rng(1)
    reference = rng.uniform(0, 1, size=(300, 3, 8, 8))
    current = rng.uniform(0, 1, size=(120, 3, 8, 8))
    assert [f.verdict for f in compute_drift(reference, current).features] == ["stable"] * 4
    current[:, 2] = np.clip(current[:, 2] + 0.3, 0, 1)  # the blue channel got brighter
    report = compute_drift(reference, current)
    assert report.kind == "image" and [f.name for f in report.features][:3] == ["channel 0", "channel 1", "channel 2"]
    assert [f.verdict for f in report.features[:2]] == ["stable", "stable"]
    assert report.features[2].verdict == "major shift"
    assert report.features[2].current_mean > report.features[2].reference_mean + 0.2
    with pytest.raises(UserError, match="shape"):
        compute_drift(reference, current[:, :, :4])


def test_check_drift_reads_the_sampled_inputs_and_stores_a_report(store, store_path) -> None:
    rng = np.random.default_rng(2)
    with RequestRecorder(store_path, "m", sample_rate=1.0) as recorder:
        for row in rng.normal(0, 1, size=(150, 2)) + [0.0, 1.0]:
            recorder.record(version="3", latency_ms=1.0, ok=True, status=200, inputs=[row.tolist()],
                            predictions=[[0.2, 0.8]])
    reports = check_drift(store, "m", reference=rng.normal(0, 1, size=(1000, 2)))
    assert list(reports) == ["3"] and reports["3"].samples == 150
    assert [f.verdict for f in reports["3"].features] == ["stable", "major shift"]
    with store.read_transaction() as conn:
        assert conn.execute("SELECT version, samples FROM monitor_drift").fetchall() == [("3", 150)]
    assert check_drift(store, "m") == {}  # no registry entry and no reference given: nothing to compare with
