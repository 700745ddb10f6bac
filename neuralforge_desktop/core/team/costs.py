"""Cost analytics: GPU-hours and spend per project, experiment, user or host, as totals and as series over
calendar buckets (days, ISO weeks or months) within a period.

Everything is summed from :func:`~neuralforge_desktop.core.team.spend.spend_rows`, so a run counts in the
bucket holding its start time, and the buckets of a report always add up to its totals. Buckets are local
calendar time, as the user reads a calendar, and are computed here in Python (the store keeps Unix seconds).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.spend import Period, SpendRow, SpendTotal, spend_rows, totals_by

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

BUCKETS = ("day", "week", "month")
GROUPS: dict[str, Callable[[SpendRow], str]] = {
    "project": lambda r: r.project,
    "experiment": lambda r: f"{r.project}/{r.experiment}",  # two projects may each have an experiment "base"
    "user": lambda r: r.user,
    "host": lambda r: r.host,
}


class CostQueryError(UserError):
    """A grouping or bucket size the user asked for that is not one of the known ones."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One calendar bucket [start, end) of local time, named as the user would write it."""

    label: str
    start: float
    end: float


def _midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).timestamp()


def _bucket_start_day(when: float, bucket: str) -> dt.date:
    day = dt.datetime.fromtimestamp(when).date()
    if bucket == "day":
        return day
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())  # the ISO week's Monday
    return day.replace(day=1)


def _next_day(first: dt.date, bucket: str) -> dt.date:
    if bucket == "day":
        return first + dt.timedelta(days=1)
    if bucket == "week":
        return first + dt.timedelta(days=7)
    return dt.date(first.year + 1, 1, 1) if first.month == 12 else dt.date(first.year, first.month + 1, 1)


def _label(first: dt.date, bucket: str) -> str:
    if bucket == "day":
        return first.isoformat()
    if bucket == "week":
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{first.year}-{first.month:02d}"


def check_bucket(bucket: str) -> str:
    if bucket not in BUCKETS:
        raise CostQueryError(f"bucket {bucket!r} is not one of {', '.join(BUCKETS)}")
    return bucket


def buckets_between(start: float, end: float, bucket: str) -> list[Bucket]:
    """The contiguous buckets covering [start, end): the first holds ``start``, the last holds the moment just
    before ``end``. Empty when ``end <= start``."""
    check_bucket(bucket)
    if end <= start:
        return []
    first = _bucket_start_day(start, bucket)
    found = []
    while _midnight(first) < end:
        following = _next_day(first, bucket)
        found.append(Bucket(_label(first, bucket), _midnight(first), _midnight(following)))
        first = following
    return found


@dataclass(frozen=True, slots=True)
class CostSeries:
    """One group's GPU-hours and cost per bucket, aligned with :attr:`CostReport.buckets`."""

    key: str
    gpu_hours: tuple[float, ...]
    cost: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class CostReport:
    by: str
    bucket: str
    period: Period | None
    buckets: tuple[Bucket, ...]
    totals: tuple[SpendTotal, ...]  # per group, the costliest first
    series: tuple[CostSeries, ...]  # per group, in the order of ``totals``
    total: SpendTotal  # all groups together (key "total")

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by, "bucket": self.bucket,
            "period": None if self.period is None else {"label": self.period.label, "start": self.period.start,
                                                        "end": self.period.end},
            "buckets": [{"label": b.label, "start": b.start, "end": b.end} for b in self.buckets],
            "totals": [_total_json(t) for t in self.totals],
            "total": _total_json(self.total),
            "series": [{"key": s.key, "gpu_hours": list(s.gpu_hours), "cost": list(s.cost)} for s in self.series],
        }


def _total_json(total: SpendTotal) -> dict[str, Any]:
    return {"key": total.key, "runs": total.runs, "gpu_hours": total.gpu_hours, "cost": total.cost}


def cost_report_from_rows(rows: Sequence[SpendRow], *, by: str = "project", bucket: str = "week",
                          period: Period | None = None) -> CostReport:
    """Totals and per-bucket series of ``rows`` grouped ``by`` project, experiment, user or host. The buckets
    span ``period`` when given, else the rows' first to last start time."""
    if by not in GROUPS:
        raise CostQueryError(f"--by {by!r} is not one of {', '.join(GROUPS)}")
    check_bucket(bucket)
    key = GROUPS[by]
    if period is not None:
        buckets = buckets_between(period.start, period.end, bucket)
    elif rows:
        buckets = buckets_between(min(r.when for r in rows), max(r.when for r in rows) + 1e-3, bucket)
    else:
        buckets = []
    totals = totals_by(rows, key)
    starts = [b.start for b in buckets]
    hours = {t.key: [0.0] * len(buckets) for t in totals}
    costs = {t.key: [0.0] * len(buckets) for t in totals}
    parts: dict[tuple[str, int], list[SpendRow]] = {}
    for row in rows:
        index = _find(starts, buckets, row.when)
        if index is not None:
            parts.setdefault((key(row), index), []).append(row)
    for (group, index), group_rows in parts.items():
        hours[group][index] = math.fsum(r.gpu_hours for r in group_rows)
        costs[group][index] = math.fsum(r.cost for r in group_rows)
    series = tuple(CostSeries(t.key, tuple(hours[t.key]), tuple(costs[t.key])) for t in totals)
    total = SpendTotal("total", len(rows), math.fsum(r.gpu_hours for r in rows), math.fsum(r.cost for r in rows))
    return CostReport(by, bucket, period, tuple(buckets), tuple(totals), series, total)


def _find(starts: list[float], buckets: list[Bucket], when: float) -> int | None:
    index = bisect.bisect_right(starts, when) - 1
    return index if 0 <= index < len(buckets) and when < buckets[index].end else None


def cost_report(store: Store, *, by: str = "project", bucket: str = "week", period: Period | None = None,
                project: str | None = None) -> CostReport:
    """The cost report of the runs in ``store`` that started within ``period`` (all when None)."""
    return cost_report_from_rows(spend_rows(store, period, project=project), by=by, bucket=bucket, period=period)
