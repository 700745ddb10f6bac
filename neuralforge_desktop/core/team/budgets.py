"""Monthly compute budgets per project (schema v15): an amount with a currency label, the percentages at which
an alert is recorded (default 50, 80 and 100), and an optional hard stop that refuses new runs in a project
whose month's spend has reached its budget.

A month's spend is what :mod:`.spend` counts: every run of the project that started in that calendar month,
GPU-hours × its dispatch rate. A crossed threshold is recorded once per (project, month, threshold) — the table's
primary key makes a second crossing a no-op — whenever usage is added to a run of the project
(:func:`check_after_usage`, called by ``Store.add_usage``) and whenever the portfolio is computed.
"""

from __future__ import annotations

import logging
import math
import shlex
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.usage import RATE_TAG, rate_from_tag
from neuralforge_desktop.core.team.identity import current_user
from neuralforge_desktop.core.team.spend import Period, month_of

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

DEFAULT_THRESHOLDS = (50, 80, 100)
DEFAULT_CURRENCY = "USD"
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_log = logging.getLogger(__name__)


class BudgetError(UserError):
    """A budget the user asked for that cannot be set, or one that does not exist."""


class BudgetExceeded(UserError):
    """A new run refused because its project's month spend has reached a budget with a hard stop."""


@dataclass(frozen=True, slots=True)
class Budget:
    project: str
    monthly: float
    currency: str
    thresholds: tuple[int, ...]
    hard_stop: bool
    updated: float
    updated_by: str

    def money(self, amount: float) -> str:
        return money(amount, self.currency)

    def as_dict(self) -> dict[str, object]:
        return {"project": self.project, "monthly": self.monthly, "currency": self.currency,
                "thresholds": list(self.thresholds), "hard_stop": self.hard_stop, "updated": self.updated,
                "updated_by": self.updated_by}


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    project: str
    month: str
    threshold: int
    spend: float
    budget: float
    created: float

    def describe(self, currency: str = DEFAULT_CURRENCY) -> str:
        return (f"{self.project} passed {self.threshold}% of its {self.month} budget "
                f"({money(self.spend, currency)} of {money(self.budget, currency)})")

    def as_dict(self) -> dict[str, object]:
        return {"project": self.project, "month": self.month, "threshold": self.threshold, "spend": self.spend,
                "budget": self.budget, "created": self.created}


def money(amount: float, currency: str = DEFAULT_CURRENCY) -> str:
    """``$1,234.50`` for USD (and €, £, ¥); ``1,234.50 CHF`` for a currency without a symbol here."""
    symbol = _SYMBOLS.get(currency.upper())
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}" if symbol else f"{amount:,.2f} {currency}"


def parse_thresholds(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"50,80,100"`` → (50, 80, 100): whole percentages from 1 to 1000, sorted, without repeats."""
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else [str(p) for p in text]
    try:
        values = sorted({int(p) for p in parts if p})
    except ValueError:
        raise BudgetError(f"thresholds {text!r}: give whole percentages separated by commas, e.g. 50,80,100") from None
    if not values or not all(1 <= v <= 1000 for v in values):
        raise BudgetError(f"thresholds {text!r}: give one to several percentages from 1 to 1000, e.g. 50,80,100")
    return tuple(values)


_COLUMNS = "project, monthly, currency, thresholds, hard_stop, updated, updated_by"


def _budget(row: tuple[Any, ...]) -> Budget:
    project, monthly, currency, thresholds, hard_stop, updated, updated_by = row
    return Budget(project, float(monthly), currency, parse_thresholds(thresholds), int(hard_stop) == 1,
                  float(updated), updated_by)


def set_budget(store: Store, project: str, monthly: float, *, currency: str = DEFAULT_CURRENCY,
               thresholds: Iterable[int] = DEFAULT_THRESHOLDS, hard_stop: bool = False) -> Budget:
    """Set (or replace) ``project``'s monthly budget; an audit event records the change."""
    from neuralforge_desktop.core.audit import record_event

    if project not in {p.name for p in store.list_projects()}:
        raise BudgetError(f"no project {project!r}; `neuralforge portfolio` lists the projects")
    if not (math.isfinite(monthly) and monthly > 0):
        raise BudgetError(f"--monthly {monthly!r}: give an amount above 0, e.g. --monthly 300")
    currency = (currency or DEFAULT_CURRENCY).strip().upper()
    if not currency.isalpha() or len(currency) > 8:
        raise BudgetError(f"currency {currency!r}: give a label such as USD or EUR")
    levels = parse_thresholds(thresholds)
    before = get_budget(store, project)
    with store._db.write() as conn:
        conn.execute(f"INSERT OR REPLACE INTO project_budgets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (project, float(monthly), currency, ",".join(map(str, levels)), 1 if hard_stop else 0,
                      time.time(), current_user()))
    budget = get_budget(store, project)
    assert budget is not None
    record_event(store, "budget.set", project, {"by": current_user(), "monthly": budget.monthly, "currency": currency,
                                                "thresholds": list(levels), "hard_stop": budget.hard_stop,
                                                "previous": before.as_dict() if before else None})
    check_project(store, project)  # a lower budget may already be crossed this month
    return budget


def clear_budget(store: Store, project: str) -> Budget:
    """Remove ``project``'s budget (its recorded alerts stay: they happened); an audit event records it."""
    from neuralforge_desktop.core.audit import record_event

    before = get_budget(store, project)
    if before is None:
        raise BudgetError(f"project {project!r} has no budget; `neuralforge budget list` shows those set")
    with store._db.write() as conn:
        conn.execute("DELETE FROM project_budgets WHERE project = ?", (project,))
    record_event(store, "budget.cleared", project, {"by": current_user(), "previous": before.as_dict()})
    return before


def get_budget(store: Store, project: str) -> Budget | None:
    with store._db.read() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM project_budgets WHERE project = ?", (project,)).fetchone()
    return _budget(row) if row else None


def list_budgets(store: Store) -> list[Budget]:
    with store._db.read() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM project_budgets ORDER BY project").fetchall()
    return [_budget(row) for row in rows]


def list_alerts(store: Store, *, month: str | None = None, project: str | None = None,
                period: Period | None = None) -> list[BudgetAlert]:
    """Recorded alerts, newest first: of one month label (``2026-12``), one project, or created in ``period``."""
    sql, args = "SELECT project, month, threshold, spend, budget, created FROM budget_alerts WHERE 1 = 1", list[Any]()
    if month is not None:
        sql, args = sql + " AND month = ?", [*args, month]
    if project is not None:
        sql, args = sql + " AND project = ?", [*args, project]
    if period is not None:
        sql, args = sql + " AND created >= ? AND created < ?", [*args, period.start, period.end]
    with store._db.read() as conn:
        rows = conn.execute(sql + " ORDER BY created DESC, project, threshold DESC", args).fetchall()
    return [BudgetAlert(p, m, int(t), float(s), float(b), float(c)) for p, m, t, s, b, c in rows]


def project_month_spend(store: Store, project: str, month: Period) -> float:
    """What ``project``'s runs that started in ``month`` cost: one query over that project's runs only."""
    with store._db.read() as conn:
        rows = conn.execute(
            "SELECT r.gpu_seconds, t.value FROM runs r JOIN experiments x ON x.id = r.experiment_id"
            " JOIN projects p ON p.id = x.project_id LEFT JOIN tags t ON t.run_id = r.id AND t.key = ?"
            " WHERE p.name = ? AND COALESCE(r.started, r.created) >= ? AND COALESCE(r.started, r.created) < ?",
            (RATE_TAG, project, month.start, month.end)).fetchall()
    return math.fsum(float(gpu_seconds) / 3600.0 * rate_from_tag(rate) for gpu_seconds, rate in rows)


def record_crossings(store: Store, budget: Budget, month: str, spend: float) -> list[BudgetAlert]:
    """Record an alert for each of ``budget``'s thresholds that ``spend`` has reached in ``month`` and that has
    none yet; returns those new ones."""
    crossed = [t for t in budget.thresholds if spend >= budget.monthly * t / 100.0]
    if not crossed:
        return []
    now, new = time.time(), []
    with store._db.write() as conn:
        for threshold in crossed:
            cursor = conn.execute("INSERT OR IGNORE INTO budget_alerts (project, month, threshold, spend, budget, "
                                  "created) VALUES (?, ?, ?, ?, ?, ?)",
                                  (budget.project, month, threshold, spend, budget.monthly, now))
            if cursor.rowcount:
                new.append(BudgetAlert(budget.project, month, threshold, spend, budget.monthly, now))
    for alert in new:
        _log.info("budget alert: %s", alert.describe(budget.currency))
    return new


def check_project(store: Store, project: str, month: Period | None = None) -> list[BudgetAlert]:
    """Record the thresholds ``project`` has crossed in ``month`` (default: this month)."""
    budget = get_budget(store, project)
    if budget is None:
        return []
    month = month or month_of(time.time())
    return record_crossings(store, budget, month.label, project_month_spend(store, project, month))


def check_spends(store: Store, month: Period, spend_by_project: Mapping[str, float]) -> list[BudgetAlert]:
    """Record crossings from month spends already summed (the portfolio's one pass over the runs)."""
    new: list[BudgetAlert] = []
    for budget in list_budgets(store):
        new += record_crossings(store, budget, month.label, spend_by_project.get(budget.project, 0.0))
    return new


def check_after_usage(store: Store, run_id: str) -> list[BudgetAlert]:
    """What ``Store.add_usage`` calls: when the run's project has a budget, record the thresholds its spend in
    the month the run started has crossed. A project without a budget costs one indexed lookup. Never raises:
    the usage is written already, and a training run must not fail over an alert."""
    try:
        with store._db.read() as conn:
            row = conn.execute(
                "SELECT p.name, COALESCE(r.started, r.created) FROM runs r JOIN experiments x ON x.id = "
                "r.experiment_id JOIN projects p ON p.id = x.project_id JOIN project_budgets b ON b.project = p.name"
                " WHERE r.id = ?", (run_id,)).fetchone()
        if row is None:
            return []
        return check_project(store, row[0], month_of(float(row[1])))
    except Exception as exc:  # an alert is advisory; the caller's write has succeeded
        _log.warning("could not check the budget after usage of run %s: %s", run_id, exc)
        return []


# -- the hard stop -------------------------------------------------------------------------------------------

def over_budget_message(budget: Budget, spend: float, month: str) -> str:
    over = spend - budget.monthly
    raise_to = math.floor(spend / 100.0) * 100 + 100
    return (f"project {budget.project!r} has spent {budget.money(spend)} of its {budget.money(budget.monthly)} "
            f"budget for {month} ({budget.money(over)} over, hard stop on); raise it with "
            f"`neuralforge budget set {shlex.quote(budget.project)} --monthly {raise_to:.0f}`")


def ensure_can_start(store: Store, project: str, now: float | None = None) -> None:
    """Raise :class:`BudgetExceeded` when ``project`` has a hard-stop budget its spend this month has reached."""
    budget = get_budget(store, project)
    if budget is None or not budget.hard_stop:
        return
    month = month_of(time.time() if now is None else now)
    spend = project_month_spend(store, project, month)
    if spend >= budget.monthly:
        record_crossings(store, budget, month.label, spend)
        raise BudgetExceeded(over_budget_message(budget, spend, month.label))


def project_of_run(store: Store, run_id: str) -> str | None:
    with store._db.read() as conn:
        row = conn.execute("SELECT p.name FROM runs r JOIN experiments x ON x.id = r.experiment_id JOIN projects p"
                           " ON p.id = x.project_id WHERE r.id = ?", (run_id,)).fetchone()
    return row[0] if row else None


def ensure_run_can_start(store: Store, run_id: str) -> None:
    """:func:`ensure_can_start` for the project of an existing run (queueing or starting it)."""
    project = project_of_run(store, run_id)
    if project is not None:
        ensure_can_start(store, project)


def project_of_experiment(store: Store, experiment: object, default: str) -> str:
    """The project a run created in ``experiment`` (an entity, an id or a name) lands in: ``default`` for a name
    not yet known, as ``Store.create_run`` would create it there."""
    from neuralforge_desktop.core.store.entities import Experiment, NotFoundError

    try:
        found = experiment if isinstance(experiment, Experiment) else store.get_experiment(str(experiment), default)
    except NotFoundError:
        return default
    projects = {p.id: p.name for p in store.list_projects()}
    return projects.get(found.project_id, default)
