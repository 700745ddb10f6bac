"""The portfolio: every project of the store with its owner, status, best result, last activity, models in
staging and production, GPU-hours and cost in a month against its budget, and the same month per user.

Everything is computed from one read of the runs (``Store.list_runs``, latest metrics included) and one of the
registry's staged versions, so a store of thousands of runs answers in well under a second. A run's spend
counts in the month it started, exactly as :func:`.spend.spend_rows` counts it.

* status: "active" when a run of the project is running or queued, or one was created, started or ended in
  the last :data:`ACTIVE_DAYS` days; otherwise "idle".
* best metric: the project's main metric is the first of :data:`MAIN_METRICS` that any of its runs logged
  (val/acc first); accuracies count highest-best, losses lowest-best. The row says which metric it is.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.store.usage import run_usage
from neuralforge_desktop.core.team.budgets import Budget, BudgetAlert, check_spends, list_alerts, list_budgets
from neuralforge_desktop.core.team.identity import UNKNOWN_USER
from neuralforge_desktop.core.team.spend import Period, month_of

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

ACTIVE_DAYS = 7
# (metric, higher is better): the first one a project's runs logged is its main metric.
MAIN_METRICS = (("val/acc", True), ("val/accuracy", True), ("test/acc", True), ("train/acc", True),
                ("val/loss", False), ("train/loss", False))
_ACTIVE_STATUSES = ("running", "queued")


@dataclass(slots=True)
class ProjectRow:
    name: str
    owner: str
    status: str = "idle"
    runs: int = 0
    runs_month: int = 0
    metric: str | None = None
    best: float | None = None
    best_run: str | None = None
    last_activity: float = 0.0
    staging: list[str] = field(default_factory=list)
    production: list[str] = field(default_factory=list)
    gpu_hours: float = 0.0
    cost: float = 0.0
    budget: Budget | None = None

    @property
    def percent_used(self) -> float | None:
        return None if self.budget is None else 100.0 * self.cost / self.budget.monthly

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.name, "owner": self.owner, "status": self.status, "runs": self.runs,
                "runs_this_month": self.runs_month, "metric": self.metric, "best": self.best,
                "best_run": self.best_run, "last_activity": self.last_activity or None,
                "staging": self.staging, "production": self.production, "gpu_hours": self.gpu_hours,
                "cost": self.cost, "budget": self.budget.monthly if self.budget else None,
                "currency": self.budget.currency if self.budget else None,
                "hard_stop": self.budget.hard_stop if self.budget else None, "percent_used": self.percent_used}


@dataclass(slots=True)
class UserRow:
    user: str
    runs: int = 0
    gpu_hours: float = 0.0
    cost: float = 0.0
    projects: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user, "runs": self.runs, "gpu_hours": self.gpu_hours, "cost": self.cost,
                "projects": sorted(self.projects)}


@dataclass(slots=True)
class Portfolio:
    month: Period
    computed: float
    projects: list[ProjectRow]
    users: list[UserRow]
    alerts: list[BudgetAlert]
    seconds: float = 0.0  # how long computing it took

    @property
    def active(self) -> int:
        return sum(1 for p in self.projects if p.status == "active")

    @property
    def in_production(self) -> int:
        return sum(len(p.production) for p in self.projects)

    @property
    def gpu_hours(self) -> float:
        return math.fsum(p.gpu_hours for p in self.projects)

    @property
    def cost(self) -> float:
        return math.fsum(p.cost for p in self.projects)

    @property
    def budgeted(self) -> float:
        return math.fsum(p.budget.monthly for p in self.projects if p.budget is not None)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month.label, "computed": self.computed, "seconds": self.seconds,
                "summary": {"projects": len(self.projects), "active": self.active, "in_production": self.in_production,
                            "gpu_hours": self.gpu_hours, "cost": self.cost, "budget": self.budgeted},
                "projects": [p.as_dict() for p in self.projects], "users": [u.as_dict() for u in self.users],
                "alerts": [a.as_dict() for a in self.alerts]}


def staged_versions(store: Store) -> list[tuple[str, int, str, str]]:
    """(model, version, stage, run id) of every registry version in staging or production."""
    with store._db.read() as conn:
        rows = conn.execute("SELECT m.name, v.version, v.stage, v.run_id FROM model_versions v JOIN registered_models"
                            " m ON m.id = v.model_id WHERE v.stage IN ('staging', 'production')"
                            " ORDER BY m.name, v.version").fetchall()
    return [(str(name), int(version), str(stage), str(run_id)) for name, version, stage, run_id in rows]


def compute_portfolio(store: Store, month: Period | None = None, *, now: float | None = None,
                      check_budgets: bool = True) -> Portfolio:
    """The portfolio for ``month`` (default: this month). ``check_budgets`` records the budget thresholds the
    month's spend has crossed (one alert per project, month and threshold)."""
    started_at = time.perf_counter()
    now = time.time() if now is None else now
    month = month or month_of(now)
    recent = now - ACTIVE_DAYS * 86400
    rows: dict[str, ProjectRow] = {}
    for project in store.list_projects():
        rows[project.name] = ProjectRow(project.name, project.owner or UNKNOWN_USER)
    created = {p.name: p.created for p in store.list_projects()}
    project_of = {e.id: e.project_id for e in store.list_experiments()}
    name_of = {p.id: p.name for p in store.list_projects()}
    best_of: dict[str, dict[str, tuple[float, str]]] = {}  # project → metric → (best value, run name)
    users: dict[str, UserRow] = {}
    run_project: dict[str, str] = {}
    for run in store.list_runs(order_by="created"):
        name = name_of.get(project_of.get(run.experiment_id, ""), "?")
        row = rows.setdefault(name, ProjectRow(name, UNKNOWN_USER))
        run_project[run.id] = name
        row.runs += 1
        touched = max(t for t in (run.created, run.started, run.ended) if t is not None)
        row.last_activity = max(row.last_activity, touched)
        if run.status in _ACTIVE_STATUSES or touched >= recent:
            row.status = "active"
        bests = best_of.setdefault(name, {})
        for metric, higher in MAIN_METRICS:
            latest = run.metrics.get(metric)
            if latest is None:
                continue
            value = latest.max if higher else latest.min
            if value is None or not math.isfinite(value):
                continue
            held = bests.get(metric)
            if held is None or (value > held[0] if higher else value < held[0]):
                bests[metric] = (value, run.name)
        when = run.started if run.started is not None else run.created
        if not month.contains(when):
            continue
        usage = run_usage(run)
        row.runs_month += 1
        row.gpu_hours += usage.gpu_hours
        row.cost += usage.cost
        person = users.setdefault(run.user or UNKNOWN_USER, UserRow(run.user or UNKNOWN_USER))
        person.runs += 1
        person.gpu_hours += usage.gpu_hours
        person.cost += usage.cost
        person.projects.add(name)
    for row in rows.values():
        if row.runs == 0:  # a project with no runs yet was last touched when it was made
            row.last_activity = created.get(row.name, 0.0)
            row.status = "active" if row.last_activity >= recent else "idle"
    for name, bests in best_of.items():
        for metric, _higher in MAIN_METRICS:
            if metric in bests:
                rows[name].metric, (rows[name].best, rows[name].best_run) = metric, bests[metric]
                break
    for model, version, stage, run_id in staged_versions(store):
        owner = run_project.get(run_id)
        if owner is not None:
            (rows[owner].production if stage == "production" else rows[owner].staging).append(f"{model}@{version}")
    for budget in list_budgets(store):
        if budget.project in rows:
            rows[budget.project].budget = budget
    if check_budgets:
        check_spends(store, month, {name: row.cost for name, row in rows.items()})
    projects = sorted(rows.values(), key=lambda r: (-r.cost, r.name))
    people = sorted(users.values(), key=lambda u: (-u.cost, -u.gpu_hours, u.user))
    alerts = list_alerts(store, month=month.label)
    return Portfolio(month, now, projects, people, alerts, time.perf_counter() - started_at)
