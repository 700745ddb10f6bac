"""Weekly GPU-hours per host, the statsmodels forecast of the coming weeks, and host utilisation."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team import capacity
from neuralforge_desktop.core.team.capacity import (
    STATSMODELS_MISSING,
    ForecastUnavailable,
    HostWeeks,
    WeeklyForecast,
    capacity_report,
    forecast_weekly,
)
from neuralforge_desktop.core.team.demo_costs import DemoCosts

NOW = dt.datetime(2026, 12, 3, 15, 0).timestamp()  # a Thursday: the week of 2026-11-30 is not over
THIS_MONDAY = dt.datetime(2026, 11, 30).timestamp()


def _trend(weeks: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [40.0 + 6.0 * t + rng.gauss(0, 1.5) for t in range(weeks)]


def test_a_linear_trend_is_recovered_by_the_statsmodels_fit() -> None:
    history = _trend(16)
    forecast = forecast_weekly(history, 6)
    truth = [40.0 + 6.0 * t for t in range(16, 22)]
    assert np.allclose(forecast.mean, truth, rtol=0.06)
    slope = np.diff(forecast.mean)
    assert np.all(slope > 4.0) and np.all(slope < 8.0)
    assert all(lo <= m <= up for lo, m, up in zip(forecast.lower, forecast.mean, forecast.upper, strict=True))
    widths = np.subtract(forecast.upper, forecast.lower)
    assert widths[0] > 0 and widths[-1] > widths[0]  # the band widens further out
    # the statsmodels call is real: the same model fitted directly forecasts the same
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    direct = ExponentialSmoothing(np.asarray(history), trend="add", damped_trend=forecast.damped,
                                  initialization_method="estimated").fit().forecast(6)
    assert np.allclose(forecast.mean, direct)
    assert forecast.model.startswith("Holt, additive")


def test_short_or_flat_histories() -> None:
    with pytest.raises(ForecastUnavailable, match="needs 4 weeks of history, there are 3"):
        forecast_weekly([1.0, 2.0, 3.0], 4)
    flat = forecast_weekly([5.0] * 6, 3)
    assert flat.mean == flat.lower == flat.upper == (5.0, 5.0, 5.0)


def _weekly_runs(store: Store, host: str, rate: float, hours: list[float], first_monday: dt.date) -> None:
    for week, total in enumerate(hours):
        for part in (0.25, 0.75):  # two runs a week, Tuesday and Friday
            day = first_monday + dt.timedelta(days=7 * week + (1 if part == 0.25 else 4))
            run = store.create_run("train", project="p", tags={"host": host, "cost_per_gpu_hour": str(rate)})
            store.add_usage(run.id, gpu_seconds=total * part * 3600)
            store.set_status(run.id, "finished")
            with store._db.write() as conn:
                conn.execute("UPDATE runs SET started = ? WHERE id = ?",
                             (dt.datetime.combine(day, dt.time(10)).timestamp(), run.id))


def test_weekly_history_forecast_and_utilisation_from_a_store(tmp_path: Path) -> None:
    hosts = [Host("big", "10.0.0.1", cost_per_gpu_hour=3.0, probe={"gpus": [{"index": i} for i in range(4)]}),
             Host("idle", "10.0.0.2", probe={"gpus": [{"index": 0}, {"index": 1}]}),
             Host("unprobed", "10.0.0.3")]
    history = _trend(10)
    first = dt.date(2026, 11, 30) - dt.timedelta(days=7 * 10)
    with Store(tmp_path / "store.db") as store:
        _weekly_runs(store, "big", 3.0, history, first)
        _weekly_runs(store, "small", 1.0, [5.0, 6.0], dt.date(2026, 11, 16))
        run = store.create_run("train", project="p", tags={"host": "big", "cost_per_gpu_hour": "3"})
        store.add_usage(run.id, gpu_seconds=99 * 3600)  # this week: not over, so not in the history
        with store._db.write() as conn:
            conn.execute("UPDATE runs SET started = ? WHERE id = ?", (NOW - 3600, run.id))
        report = capacity_report(store, hosts, weeks=5, now=NOW)
    by_host = {h.host: h for h in report.hosts}
    assert set(by_host) == {"big", "small"}
    big = by_host["big"]
    assert np.allclose(big.gpu_hours, history)
    assert big.week_starts[0] == dt.datetime.combine(first, dt.time()).timestamp()
    assert big.forecast_starts[0] == THIS_MONDAY and len(big.forecast_starts) == 5
    assert big.forecast is not None and np.allclose(big.forecast.mean, forecast_weekly(history, 5).mean)
    assert report.total is not None and report.total.host == "all hosts"
    together = dict(zip(report.total.week_starts, report.total.gpu_hours, strict=True))
    assert together[dt.datetime(2026, 11, 16).timestamp()] == pytest.approx(history[-2] + 5.0)
    assert together[dt.datetime(2026, 11, 23).timestamp()] == pytest.approx(history[-1] + 6.0)
    assert sum(report.total.gpu_hours) == pytest.approx(sum(history) + 11.0)
    assert big.weekly_capacity == 4 * 168 and report.total.weekly_capacity == (4 + 2) * 168
    assert by_host["small"].weekly_capacity is None and big.full_from is None  # ~100 a week of 672
    small = by_host["small"]
    assert small.forecast is None and "needs 4 weeks of history, there are 2" in small.note
    # utilisation over the last 4 complete weeks: GPU-hours / (GPUs × 4 × 168 h)
    assert (report.span_start, report.span_end) == (dt.datetime(2026, 11, 2).timestamp(), THIS_MONDAY)
    util = {u.host: u for u in report.utilisation}
    used = sum(history[-4:])
    assert util["big"].gpus == 4 and util["big"].gpu_hours == pytest.approx(used)
    assert util["big"].utilisation == pytest.approx(used / (4 * 4 * 168))
    assert util["idle"].utilisation == 0.0 and util["idle"].capacity_hours == pytest.approx(2 * 4 * 168)
    assert util["unprobed"].utilisation is None and "hosts probe unprobed" in util["unprobed"].note
    assert util["small"].utilisation is None and "not a registered host" in util["small"].note
    assert report.note == ""


def test_without_statsmodels_history_and_utilisation_remain(demo_store: tuple[Store, DemoCosts],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store, demo = demo_store
    monkeypatch.setitem(sys.modules, "statsmodels.tsa.holtwinters", None)  # as if it were not installed
    with pytest.raises(ForecastUnavailable, match="pip install 'neuralforge-desktop\\[data\\]'"):
        forecast_weekly([1.0, 2.0, 3.0, 4.0, 5.0], 2)
    report = capacity_report(store, HostRegistry().all(), weeks=4, now=demo.end)
    assert report.note == STATSMODELS_MISSING
    assert report.hosts and all(h.forecast is None for h in report.hosts)
    assert {u.host for u in report.utilisation} == set(demo.hosts)
    assert capacity.gpu_count(HostRegistry().get("h100-pod")) == 8


def test_the_first_forecast_week_at_capacity() -> None:
    forecast = WeeklyForecast((100.0, 150.0, 168.0, 200.0), (0.0,) * 4, (300.0,) * 4, False, "Holt")
    weeks = HostWeeks("h", (1.0,), (90.0,), (10.0, 20.0, 30.0, 40.0), forecast, "", weekly_capacity=168.0)
    assert weeks.full_from == 30.0
    assert HostWeeks("h", (1.0,), (90.0,), (10.0, 20.0, 30.0, 40.0), forecast, "").full_from is None
