"""What the executive portfolio report says about a period (a month, quarter or year): spend per project and
month from :func:`neuralforge_desktop.core.team.spend.spend_rows` against the budgets, the models shipped
(registry transitions to production in the period) and the top risks (failed gates, fairness flags,
monitoring and drift alerts, budget alerts), with the portfolio's state for the period's last month.

Budgets are the ones set now: a project's budget for the period is its monthly amount × the months of the period.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.team.budgets import Budget, BudgetAlert, list_alerts, list_budgets, money
from neuralforge_desktop.core.team.portfolio import Portfolio, compute_portfolio
from neuralforge_desktop.core.team.spend import Period, SpendTotal, month_of, spend_rows, totals_by

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

MAX_RISKS = 8
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_KIND_ORDER = {"gate": 0, "monitoring": 1, "fairness": 2, "budget": 3}  # within a severity: model risks first


@dataclass(frozen=True, slots=True)
class Shipped:
    model: str
    version: int
    project: str
    when: float
    who: str

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True, slots=True)
class Risk:
    severity: str  # high, medium or low
    kind: str  # budget, gate, monitoring, fairness
    subject: str
    text: str
    when: float


@dataclass(slots=True)
class PortfolioReportData:
    period: Period
    months: list[Period]
    generated: float
    portfolio: Portfolio
    spend: dict[str, list[float]]  # project → spend per month of the period
    gpu_hours: dict[str, float]
    budgets: dict[str, Budget]
    users: list[SpendTotal]
    shipped: list[Shipped]
    risks: list[Risk]

    def project_total(self, project: str) -> float:
        return math.fsum(self.spend.get(project, []))

    def period_budget(self, project: str) -> float | None:
        budget = self.budgets.get(project)
        return None if budget is None else budget.monthly * len(self.months)

    @property
    def total_spend(self) -> float:
        return math.fsum(math.fsum(values) for values in self.spend.values())

    @property
    def total_budget(self) -> float:
        return math.fsum(b.monthly for b in self.budgets.values()) * len(self.months)


def months_of(period: Period) -> list[Period]:
    """The calendar months that ``period`` covers (one for a week: the month it starts in)."""
    months = [month_of(period.start)]
    while months[-1].end < period.end:
        months.append(month_of(months[-1].end))
    return months


def gather(store: Store, period: Period, *, now: float | None = None) -> PortfolioReportData:
    now = time.time() if now is None else now
    months = months_of(period)
    rows = spend_rows(store, period)
    projects = [p.name for p in store.list_projects()]
    spend = {name: [0.0] * len(months) for name in projects}
    hours = dict.fromkeys(projects, 0.0)
    labels = [m.label for m in months]
    for row in rows:
        values = spend.setdefault(row.project, [0.0] * len(months))
        values[labels.index(month_of(row.when).label)] += row.cost
        hours[row.project] = hours.get(row.project, 0.0) + row.gpu_hours
    last_month = month_of(min(now, period.end - 1))
    portfolio = compute_portfolio(store, last_month, now=now)
    run_project = {row.run_id: row.project for row in spend_rows(store)}
    budgets = {b.project: b for b in list_budgets(store)}
    order = sorted(spend, key=lambda name: (-math.fsum(spend[name]), name))
    return PortfolioReportData(period, months, now, portfolio, {name: spend[name] for name in order}, hours, budgets,
                               totals_by(rows, lambda r: r.user), shipped_in(store, period, run_project),
                               risks_in(store, period, labels, run_project, budgets))


def shipped_in(store: Store, period: Period, run_project: dict[str, str]) -> list[Shipped]:
    """Registry transitions to production in ``period``, oldest first."""
    with store._db.read() as conn:
        found = conn.execute("SELECT m.name, v.version, v.run_id, t.created, t.who FROM model_transitions t JOIN "
                             "model_versions v ON v.id = t.version_id JOIN registered_models m ON m.id = v.model_id "
                             "WHERE t.to_stage = 'production' AND t.created >= ? AND t.created < ? ORDER BY t.created",
                             (period.start, period.end)).fetchall()
    return [Shipped(name, int(version), run_project.get(run_id, "?"), float(when), who)
            for name, version, run_id, when, who in found]


def risks_in(store: Store, period: Period, months: list[str], run_project: dict[str, str],
             budgets: dict[str, Budget]) -> list[Risk]:
    """The period's risks, the most severe first (model risks before budget ones), then the newest: budgets
    passed (100 % and over: high; 80 % and over: medium; one line per project and month), failed gates,
    monitoring alerts (drift among them) and fairness flags on registered versions' runs."""
    from neuralforge_desktop.core.monitoring.alerts import list_alerts as monitor_alerts

    risks: list[Risk] = []
    highest: dict[tuple[str, str], BudgetAlert] = {}  # one line per project and month: its highest threshold
    for alert in list_alerts(store):
        key = (alert.project, alert.month)
        if alert.month in months and alert.threshold >= 80 and (
                key not in highest or alert.threshold > highest[key].threshold):
            highest[key] = alert
    for alert in highest.values():
        currency = budgets[alert.project].currency if alert.project in budgets else "USD"
        text = (f"passed {alert.threshold}% of its {alert.month} budget: {money(alert.spend, currency)} of "
                f"{money(alert.budget, currency)}")
        risks.append(Risk("high" if alert.threshold >= 100 else "medium", "budget", alert.project, text,
                          alert.created))
    with store._db.read() as conn:
        gates = conn.execute("SELECT m.name, v.version, g.checks, g.created FROM model_gate_results g JOIN "
                             "model_versions v ON v.id = g.version_id JOIN registered_models m ON m.id = v.model_id "
                             "WHERE g.passed = 0 AND g.created >= ? AND g.created < ?",
                             (period.start, period.end)).fetchall()
        versions = conn.execute("SELECT DISTINCT m.name, v.run_id FROM model_versions v JOIN registered_models m ON "
                                "m.id = v.model_id").fetchall()
    for name, version, checks, when in gates:
        failed = [c for c in _json_list(checks) if not c.get("passed")]
        detail = "; ".join(str(c.get("detail") or c.get("check")) for c in failed[:2]) or "a gate check failed"
        risks.append(Risk("high", "gate", f"{name}@{version}", f"gate failed: {detail}", float(when)))
    for model in sorted({name for name, _ in versions}):
        for served in monitor_alerts(store, model, since=period.start):
            if served.time < period.end:
                severity = "high" if served.resolved is None else "medium"
                text = served.describe() + ("" if served.resolved is None else " (resolved)")
                risks.append(Risk(severity, "monitoring", f"{model}@{served.version}", text, served.time))
    risks += _fairness_risks(store, period, versions, run_project)
    risks.sort(key=lambda r: (_SEVERITY_ORDER.get(r.severity, 3), _KIND_ORDER.get(r.kind, 4), -r.when))
    return risks[:MAX_RISKS]


def _fairness_risks(store: Store, period: Period, versions: list[tuple[str, str]],
                    run_project: dict[str, str]) -> list[Risk]:
    from neuralforge_desktop.core.fairness.evaluate import load_saved

    risks = []
    for model, run_id in versions:
        try:
            report = load_saved(store, run_id)
        except (OSError, ValueError):
            continue
        if not report or not report.get("flagged"):
            continue
        when = float(report.get("created") or 0.0)
        if period.contains(when):
            flags = "; ".join(str(f) for f in report["flagged"][:2])
            risks.append(Risk("medium", "fairness", model, f"fairness flag ({run_project.get(run_id, '?')}): {flags}",
                              when))
    return risks


def _json_list(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
