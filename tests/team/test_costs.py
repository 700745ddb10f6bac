"""Cost totals and series per project, experiment, user and host, checked against sums computed straight from
the runs of a real store."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.costs import CostQueryError, buckets_between, cost_report
from neuralforge_desktop.core.team.demo_costs import DemoCosts
from neuralforge_desktop.core.team.spend import month_of


def _independent_sums(store: Store, by: str, period_start: float = -math.inf,
                      period_end: float = math.inf) -> dict[str, tuple[int, float, float]]:
    """(runs, GPU-hours, cost) per group, from the runs' own fields and tags."""
    projects = {p.id: p.name for p in store.list_projects()}
    project_of = {e.id: projects[e.project_id] for e in store.list_experiments()}
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for run in store.list_runs():
        when = run.started if run.started is not None else run.created
        if not period_start <= when < period_end:
            continue
        key = {"project": project_of[run.experiment_id], "user": run.user, "host": run.tags.get("host", "local"),
               "experiment": f"{project_of[run.experiment_id]}/{run.experiment}"}[by]
        hours = run.gpu_seconds / 3600
        sums[key][0] += 1
        sums[key][1] += hours
        sums[key][2] += hours * float(run.tags.get("cost_per_gpu_hour", 0))
    return {k: (int(v[0]), v[1], v[2]) for k, v in sums.items()}


@pytest.mark.parametrize("by", ["project", "experiment", "user", "host"])
def test_totals_equal_sums_over_the_runs(demo_store: tuple[Store, DemoCosts], by: str) -> None:
    store, demo = demo_store
    report = cost_report(store, by=by)
    expected = _independent_sums(store, by)
    got = {t.key: (t.runs, t.gpu_hours, t.cost) for t in report.totals}
    assert set(got) == set(expected)
    for key, (runs, hours, cost) in expected.items():
        assert got[key][0] == runs and got[key][1] == pytest.approx(hours) and got[key][2] == pytest.approx(cost)
    assert report.total.runs == demo.runs
    assert report.total.cost == pytest.approx(sum(c for _, _, c in expected.values()))
    costs = [t.cost for t in report.totals]
    assert costs == sorted(costs, reverse=True)
    if by == "user":
        assert set(got) == set(demo.users)
    if by == "host":
        assert set(got) == set(demo.hosts) and got["local"][2] == 0.0


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_buckets_add_up_to_the_totals(demo_store: tuple[Store, DemoCosts], bucket: str) -> None:
    store, _ = demo_store
    report = cost_report(store, by="project", bucket=bucket)
    totals = {t.key: t for t in report.totals}
    for series in report.series:
        assert len(series.cost) == len(series.gpu_hours) == len(report.buckets)
        assert math.fsum(series.cost) == pytest.approx(totals[series.key].cost)
        assert math.fsum(series.gpu_hours) == pytest.approx(totals[series.key].gpu_hours)
    for earlier, later in zip(report.buckets, report.buckets[1:], strict=False):
        assert earlier.end == later.start  # contiguous, no gaps and no overlaps
    expected_days = {"day": 1, "week": 7}
    if bucket in expected_days:
        for b in report.buckets:
            assert dt.date.fromtimestamp(b.end) - dt.date.fromtimestamp(b.start) == dt.timedelta(expected_days[bucket])
    labels = [b.label for b in report.buckets]
    assert len(set(labels)) == len(labels)


def test_a_period_keeps_only_the_runs_started_in_it(demo_store: tuple[Store, DemoCosts]) -> None:
    store, demo = demo_store
    month = month_of(demo.end - 20 * 86400)  # a month the demo's busy weeks fall in
    report = cost_report(store, by="user", bucket="day", period=month)
    expected = _independent_sums(store, "user", month.start, month.end)
    assert {t.key: t.runs for t in report.totals} == {k: v[0] for k, v in expected.items()}
    assert report.total.cost == pytest.approx(sum(v[2] for v in expected.values()))
    assert report.buckets[0].start == month.start and report.buckets[-1].end == month.end
    assert report.total.runs < demo.runs


def test_month_buckets_follow_the_calendar() -> None:
    start = dt.datetime(2026, 1, 20).timestamp()
    end = dt.datetime(2026, 4, 1).timestamp()
    months = buckets_between(start, end, "month")
    assert [b.label for b in months] == ["2026-01", "2026-02", "2026-03"]
    assert months[1].end - months[1].start == pytest.approx(28 * 86400, abs=3600)
    weeks = buckets_between(dt.datetime(2026, 12, 30).timestamp(), dt.datetime(2027, 1, 5).timestamp(), "week")
    assert [b.label for b in weeks] == ["2026-W53", "2027-W01"]
    assert buckets_between(end, start, "day") == []


def test_unknown_groupings_are_refused(demo_store: tuple[Store, DemoCosts]) -> None:
    store, _ = demo_store
    with pytest.raises(CostQueryError, match="--by 'team'"):
        cost_report(store, by="team")
    with pytest.raises(CostQueryError, match="bucket 'hour'"):
        cost_report(store, bucket="hour")
