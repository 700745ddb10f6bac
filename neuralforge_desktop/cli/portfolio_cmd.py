"""``neuralforge portfolio [--month YYYY-MM] [--json]``: every project with its owner, status, best result, models
in staging and production, GPU-hours and cost in the month against its budget, and the month per user."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EXAMPLES = """\
examples:
  neuralforge portfolio
  neuralforge portfolio --month 2026-11 --json
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portfolio", help="every project: owner, status, best result, models, spend against budget",
                       description="The portfolio of the store's projects for a month (default: this month), "
                       "and GPU-hours and cost per user. Computing it records the budget thresholds crossed.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--month", metavar="YYYY-MM", help="the calendar month (default: this month)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    add_store_arg(p)
    p.set_defaults(func=cmd_portfolio)


def _day(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d") if stamp else "—"


def cmd_portfolio(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.team.budgets import money
    from neuralforge_desktop.core.team.portfolio import compute_portfolio
    from neuralforge_desktop.core.team.spend import parse_period

    month = None
    if args.month:
        month = parse_period(args.month)
        if "-" not in month.label or "Q" in month.label or "W" in month.label:
            raise UserError(f"--month {args.month!r}: give a calendar month as YYYY-MM, e.g. 2026-12")
    with open_store(args.store) as store:
        portfolio = compute_portfolio(store, month)
    if args.json:
        print(json.dumps(portfolio.as_dict(), indent=2))
        return 0
    spent = (f"{money(portfolio.cost)} spent of {money(portfolio.budgeted)} budgeted" if portfolio.budgeted
             else f"{money(portfolio.cost)} spent, no budgets set")
    print(f"portfolio for {portfolio.month.label}: {_count(len(portfolio.projects), 'project')}, "
          f"{portfolio.active} active, {_count(portfolio.in_production, 'model')} in production, "
          f"{portfolio.gpu_hours:,.1f} GPU-hours, {spent}\n")
    rows = []
    for p in portfolio.projects:
        best = f"{p.metric} {p.best:.4g}" if p.metric and p.best is not None else "—"
        budget = f"{p.budget.money(p.budget.monthly)} ({p.percent_used:.0f}%)" if p.budget else "—"
        rows.append([p.name, p.owner, p.status, best, _day(p.last_activity), ", ".join(p.production) or "—",
                     ", ".join(p.staging) or "—", f"{p.gpu_hours:,.1f}", money(p.cost), budget])
    print(table(["PROJECT", "OWNER", "STATUS", "BEST", "LAST ACTIVITY", "PRODUCTION", "STAGING", "GPU-H", "COST",
                 "BUDGET (USED)"], rows, right=(7, 8)))
    print()
    print(table(["USER", "RUNS", "GPU-H", "COST", "PROJECTS"],
                [[u.user, str(u.runs), f"{u.gpu_hours:,.1f}", money(u.cost), ", ".join(sorted(u.projects))]
                 for u in portfolio.users], right=(1, 2, 3)))
    if portfolio.alerts:
        print("\nbudget alerts this month:")
        for alert in portfolio.alerts:
            print(f"  {alert.describe()}")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
