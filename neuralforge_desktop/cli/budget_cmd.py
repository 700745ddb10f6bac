"""``neuralforge budget set|list|clear``: monthly compute budgets per project, their alert thresholds and hard stop.

A budget's thresholds (default 50, 80 and 100 % of the month's amount) each record one alert per month when the
project's spend reaches them; with ``--hard-stop`` no new run is queued or started in the project once its month
spend has reached the budget. Every change is an audit event.
"""

from __future__ import annotations

import argparse
import json
import time

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EXAMPLES = """\
examples:
  neuralforge budget set vision --monthly 300
  neuralforge budget set vision --monthly 300 --thresholds 50,80,100 --hard-stop
  neuralforge budget list --json
  neuralforge budget clear vision
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    budget = sub.add_parser("budget", help="monthly compute budgets per project: alerts and an optional hard stop",
                            description="Monthly compute budgets per project. Crossing a threshold records one "
                            "alert per project, month and threshold; a hard stop refuses new runs in a project "
                            "whose month spend has reached its budget.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    bsub = budget.add_subparsers(dest="budget_command", metavar="COMMAND", required=True)
    put = bsub.add_parser("set", help="set or change a project's monthly budget",
                          description="Set PROJECT's monthly budget (replacing the one it had).")
    put.add_argument("project", metavar="PROJECT")
    put.add_argument("--monthly", type=float, required=True, metavar="AMOUNT", help="the amount per calendar month")
    put.add_argument("--currency", default="USD", metavar="CODE", help="a label for the amount (default USD)")
    put.add_argument("--thresholds", default="50,80,100", metavar="P,P,…",
                     help="percentages of the budget that record an alert (default 50,80,100)")
    put.add_argument("--hard-stop", action="store_true",
                     help="refuse new runs in the project once its month spend reaches the budget")
    add_store_arg(put)
    put.set_defaults(func=cmd_set)
    ls = bsub.add_parser("list", help="budgets with this month's spend and alerts",
                         description="Every budget with this month's spend, the share used and its alerts.")
    ls.add_argument("--json", action="store_true", help="one JSON object")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    clear = bsub.add_parser("clear", help="remove a project's budget", description="Remove PROJECT's budget.")
    clear.add_argument("project", metavar="PROJECT")
    add_store_arg(clear)
    clear.set_defaults(func=cmd_clear)


def cmd_set(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.budgets import parse_thresholds, set_budget

    with open_store(args.store) as store:
        budget = set_budget(store, args.project, args.monthly, currency=args.currency,
                            thresholds=parse_thresholds(args.thresholds), hard_stop=args.hard_stop)
    print(f"{budget.project}: {budget.money(budget.monthly)} a month, alerts at "
          f"{', '.join(f'{t}%' for t in budget.thresholds)}, hard stop {'on' if budget.hard_stop else 'off'}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.budgets import check_project, list_alerts, list_budgets, project_month_spend
    from neuralforge_desktop.core.team.spend import month_of

    month = month_of(time.time())
    with open_store(args.store) as store:
        budgets = list_budgets(store)
        spends = {}
        for budget in budgets:
            check_project(store, budget.project, month)
            spends[budget.project] = project_month_spend(store, budget.project, month)
        alerts = list_alerts(store, month=month.label)
    if args.json:
        print(json.dumps({"month": month.label, "budgets": [
            {**b.as_dict(), "spend": spends[b.project], "percent_used": 100.0 * spends[b.project] / b.monthly}
            for b in budgets], "alerts": [a.as_dict() for a in alerts]}, indent=2))
        return 0
    if not budgets:
        print("no budgets; set one with `neuralforge budget set PROJECT --monthly AMOUNT`")
        return 0
    rows = [[b.project, b.money(b.monthly), b.money(spends[b.project]), f"{100 * spends[b.project] / b.monthly:.0f}%",
             ",".join(map(str, b.thresholds)), "on" if b.hard_stop else "off"] for b in budgets]
    print(f"budgets for {month.label}")
    print(table(["PROJECT", "MONTHLY", "SPENT", "USED", "ALERTS AT %", "HARD STOP"], rows, right=(1, 2, 3)))
    if alerts:
        currency = {b.project: b.currency for b in budgets}
        print("\nalerts this month:")
        for alert in alerts:
            print(f"  {alert.describe(currency.get(alert.project, 'USD'))}")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.budgets import clear_budget

    with open_store(args.store) as store:
        budget = clear_budget(store, args.project)
    print(f"{budget.project}: budget of {budget.money(budget.monthly)} a month removed")
    return 0
