"""The plan's limits, checked where the action happens.

- a new project: :func:`check_new_project`, from the store's project creation (only when the name is new);
- a training run starting: :func:`check_run_start`, from :func:`~neuralforge_desktop.core.training.runner.
  prepare_run` (the CLI, the app's Train panel, sweeps, pipelines) and the job queue's dispatcher;
- a remote host added: :func:`check_new_host`, from :meth:`HostRegistry.add`;
- a ``postgresql://`` store opened: :func:`check_shared_store`.

Every check reads the plan first and returns at once when the plan sets no such limit, so an installation with
no plan chosen (:data:`~.tiers.LOCAL`) pays one read of a small file and no query. :func:`usage` gathers every
figure for ``neuralforge plan show``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.team.tiers import Plan, QuotaExceeded, current_plan, upgrade_for

if TYPE_CHECKING:
    import sqlite3

    from neuralforge_desktop.core.remote.hosts import Host


def ordinal(n: int) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _allows(limit: float | None, unit: str, units: str | None = None) -> str:
    if limit is None:
        return f"any number of {units or unit + 's'}"
    if limit == 0:
        return f"no {units or unit + 's'}"
    shown = f"{limit:g}"
    return f"{shown} {unit if limit == 1 else (units or unit + 's')}"


def _lift(plan: Plan, fits: Any, attribute: str, unit: str, units: str | None = None) -> str:
    better = upgrade_for(plan, fits)
    if better is None:
        return "no plan allows more"
    return (f"the {better.title} plan allows {_allows(getattr(better, attribute), unit, units)}: "
            f"`neuralforge plan set {better.name}`")


def _refuse_count(plan: Plan, attribute: str, unit: str, current: int, what: str, units: str | None = None) -> None:
    """Refuse the ``current + 1``-th of something when the plan's limit is ``current`` or less."""
    limit = getattr(plan, attribute)
    if limit is None or current + 1 <= limit:
        return
    over = current + 1 - limit
    lift = _lift(plan, lambda p: getattr(p, attribute) is None or getattr(p, attribute) >= current + 1, attribute,
                 unit, units)
    raise QuotaExceeded(f"The {plan.title} plan allows {_allows(limit, unit, units)} and this would be the "
                        f"{ordinal(current + 1)} {what} ({over} over the limit); {lift}")


def _lower_first(exc: Exception) -> str:
    text = str(exc)
    return text[:1].lower() + text[1:]


# -- projects ------------------------------------------------------------------------------------------------
def count_projects(conn: sqlite3.Connection) -> int:
    (count,) = conn.execute("SELECT COUNT(*) FROM projects").fetchone()
    return int(count)


def check_new_project(conn: sqlite3.Connection, name: str) -> None:
    """Called inside the store's write transaction, just before a project that does not exist yet is created."""
    plan = current_plan()
    if plan.projects is None:
        return
    try:
        _refuse_count(plan, "projects", "project", count_projects(conn), "project")
    except QuotaExceeded as exc:
        raise QuotaExceeded(f"cannot create project {name!r}: {_lower_first(exc)}") from None


# -- runs ----------------------------------------------------------------------------------------------------
def count_running(conn: sqlite3.Connection) -> int:
    """Runs training now, and queued jobs a dispatcher has started whose worker has not said so yet."""
    (running,) = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone()
    (starting,) = conn.execute("SELECT COUNT(*) FROM queue q JOIN runs r ON r.id = q.run_id"
                               " WHERE q.state = 'started' AND r.status = 'queued'").fetchone()
    return int(running) + int(starting)


def month_start(now: float | None = None) -> float:
    """The start of this calendar month (local time), as Unix seconds."""
    today = dt.datetime.fromtimestamp(now) if now is not None else dt.datetime.now()
    return today.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def gpu_hours_this_month(conn: sqlite3.Connection, now: float | None = None) -> float:
    """GPU-hours of the runs created this calendar month (what :mod:`..store.usage` sums per run)."""
    (seconds,) = conn.execute("SELECT COALESCE(SUM(gpu_seconds), 0) FROM runs WHERE created >= ?",
                              (month_start(now),)).fetchone()
    return float(seconds or 0.0) / 3600.0


def check_run_start(store: Any, *, concurrent: bool = True) -> None:
    """Before a training run starts: the runs training now (``concurrent``; runs whose process died are marked
    crashed first, so they do not count) and this month's GPU-hours must leave room for it."""
    plan = current_plan()
    if concurrent and plan.concurrent_runs is not None:
        store.mark_crashed_runs()
        with store._db.read() as conn:
            running = count_running(conn)
        _refuse_count(plan, "concurrent_runs", "run training at a time", running, "run training at once",
                      "runs training at a time")
    if plan.gpu_hours_per_month is not None:
        with store._db.read() as conn:
            used = gpu_hours_this_month(conn)
        limit = plan.gpu_hours_per_month
        if used >= limit:
            lift = _lift(plan, lambda p: p.gpu_hours_per_month is None or p.gpu_hours_per_month > used,
                         "gpu_hours_per_month", "GPU-hour a month", "GPU-hours a month")
            raise QuotaExceeded(f"The {plan.title} plan allows {limit:g} GPU-hours a month and {used:.1f} have been "
                                f"used this month ({used - limit:.1f} over the limit; a new run needs some left); "
                                f"{lift}")


# -- remote hosts and shared stores --------------------------------------------------------------------------
def check_new_host(existing: dict[str, Host], name: str) -> None:
    """Before ``name`` is added to the registered hosts ``existing`` (a replaced host is not a new one)."""
    plan = current_plan()
    if plan.remote_hosts is None or name in existing:
        return
    try:
        _refuse_count(plan, "remote_hosts", "remote host", len(existing), "remote host")
    except QuotaExceeded as exc:
        raise QuotaExceeded(f"cannot add host {name!r}: {_lower_first(exc)}") from None


SHARED_SCHEMES = ("postgresql://", "postgres://")


def is_shared_store(location: object) -> bool:
    return isinstance(location, str) and location.strip().lower().startswith(SHARED_SCHEMES)


def check_shared_store(location: object) -> None:
    """Before a ``postgresql://`` store is opened (nothing for a store file)."""
    if not is_shared_store(location):
        return
    plan = current_plan()
    if plan.shared_store:
        return
    better = upgrade_for(plan, lambda p: p.shared_store)
    lift = f"the {better.title} plan does: `neuralforge plan set {better.name}`" if better else "no plan does"
    raise QuotaExceeded(f"The {plan.title} plan does not allow a shared PostgreSQL store; {lift} "
                        "(or keep working in a store file)")


# -- the figures for `plan show` -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Usage:
    projects: int
    running: int
    gpu_hours_this_month: float
    remote_hosts: int


def usage(store: Any, hosts: int) -> Usage:
    store.mark_crashed_runs()
    with store._db.read() as conn:
        return Usage(count_projects(conn), count_running(conn), gpu_hours_this_month(conn), hosts)


def headroom(limit: float | None, used: float) -> float:
    """How much of a limit is left (infinity: no limit)."""
    return math.inf if limit is None else max(0.0, limit - used)
