"""Where the compute money went: one row per run with its project, experiment, user, host, time and cost, and
the calendar periods (month, quarter, year, ISO week) that portfolio, cost and report views sum it over.

A run's GPU-hours and cost are counted at the moment it started (its creation time if it never started): a
run that crosses midnight at the end of a month is counted in the month it began, so a figure for a closed
period never changes afterwards. Costs come from :mod:`neuralforge_desktop.core.store.usage` (GPU-hours × the
rate the run was dispatched at; a local run costs 0).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.usage import run_usage
from neuralforge_desktop.core.team.identity import UNKNOWN_USER

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])|W(?P<week>\d{2})))?$")


class PeriodError(UserError):
    """A period the user typed that is not one of the accepted spellings."""


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of local calendar time [start, end) with the label the user typed or would type."""

    label: str
    start: float
    end: float

    def contains(self, when: float) -> bool:
        return self.start <= when < self.end


def _local(year: int, month: int, day: int) -> float:
    return dt.datetime(year, month, day).timestamp()  # naive = local time, as the user reads a calendar


def parse_period(text: str) -> Period:
    """``2026`` (a year), ``2026-12`` (a month), ``2026-Q4`` (a quarter) or ``2026-W49`` (an ISO week)."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise PeriodError(f"period {text!r} is not one of YYYY, YYYY-MM, YYYY-Qn or YYYY-Wnn (e.g. 2026-Q4)")
    year = int(match["year"])
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r}: month {month} is not 01-12")
        end = _local(year + 1, 1, 1) if month == 12 else _local(year, month + 1, 1)
        return Period(f"{year}-{month:02d}", _local(year, month, 1), end)
    if match["quarter"]:
        quarter = int(match["quarter"])
        first = 3 * (quarter - 1) + 1
        end = _local(year + 1, 1, 1) if quarter == 4 else _local(year, first + 3, 1)
        return Period(f"{year}-Q{quarter}", _local(year, first, 1), end)
    if match["week"]:
        week = int(match["week"])
        try:
            monday = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise PeriodError(f"period {text!r}: {year} has no ISO week {week}") from None
        start = dt.datetime.combine(monday, dt.time()).timestamp()
        return Period(f"{year}-W{week:02d}", start,
                      dt.datetime.combine(monday + dt.timedelta(days=7), dt.time()).timestamp())
    return Period(f"{year}", _local(year, 1, 1), _local(year + 1, 1, 1))


def month_of(when: float) -> Period:
    """The calendar month holding the moment ``when`` (Unix seconds)."""
    day = dt.datetime.fromtimestamp(when)
    return parse_period(f"{day.year}-{day.month:02d}")


def week_of(when: float) -> Period:
    """The ISO week holding the moment ``when``."""
    year, week, _ = dt.datetime.fromtimestamp(when).isocalendar()
    return parse_period(f"{year}-W{week:02d}")


def days_in_month(period: Period) -> int:
    day = dt.datetime.fromtimestamp(period.start)
    return calendar.monthrange(day.year, day.month)[1]


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One run's compute: who, where, when (start time) and what it cost."""

    run_id: str
    run_name: str
    project: str
    experiment: str
    user: str
    host: str
    status: str
    when: float
    gpu_hours: float
    rate: float
    cost: float


def spend_rows(store: Store, period: Period | None = None, *, project: str | None = None) -> list[SpendRow]:
    """Every run's spend (those that started within ``period`` when given), oldest first."""
    projects = {p.id: p.name for p in store.list_projects()}
    project_of = {e.id: projects.get(e.project_id, "?") for e in store.list_experiments()}
    rows = []
    for run in store.list_runs(project=project, order_by="created"):
        when = run.started if run.started is not None else run.created
        if period is not None and not period.contains(when):
            continue
        usage = run_usage(run)
        rows.append(SpendRow(run.id, run.name, project_of.get(run.experiment_id, "?"), run.experiment,
                             run.user or UNKNOWN_USER, usage.host, run.status, when, usage.gpu_hours, usage.rate,
                             usage.cost))
    return rows


@dataclass(frozen=True, slots=True)
class SpendTotal:
    key: str
    runs: int
    gpu_hours: float
    cost: float


def totals_by(rows: Iterable[SpendRow], key: Callable[[SpendRow], str]) -> list[SpendTotal]:
    """Sums of ``rows`` grouped by ``key`` (e.g. ``lambda r: r.project``), the costliest first."""
    groups: dict[str, list[SpendRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    totals = [SpendTotal(name, len(group), math.fsum(r.gpu_hours for r in group), math.fsum(r.cost for r in group))
              for name, group in groups.items()]
    totals.sort(key=lambda t: (-t.cost, -t.gpu_hours, t.key))
    return totals
