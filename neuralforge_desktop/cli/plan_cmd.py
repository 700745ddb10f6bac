"""``neuralforge plan show|set|list``: the local plan (Free, Pro, Team, Enterprise) and its limits.

No payment: a plan is a set of limits this installation keeps (projects, runs training at once, GPU-hours a
month, remote hosts, a shared PostgreSQL store). ``show`` lists each limit beside what is used now. With no
plan chosen, nothing is limited (the "local" default); ``plan set local`` goes back to it. The choice lives in
the settings file shared with the app (``settings.json`` in the user config folder, key ``plan``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EPILOG = """\
examples:
  neuralforge plan show
  neuralforge plan show --json --store team.db
  neuralforge plan set pro
  neuralforge plan set local        (no plan: no limits)
  neuralforge plan list"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    plan = sub.add_parser("plan", help="the local plan (Free, Pro, Team, Enterprise): limits and usage",
                          description="Plans are local limits on projects, runs training at once, GPU-hours a "
                          "month, remote hosts and shared stores; no plan chosen means no limits.",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = plan.add_subparsers(dest="plan_command", metavar="COMMAND", required=True)
    show = psub.add_parser("show", help="the plan's limits beside what is used now",
                           description="The chosen plan's limits with the store's current usage.")
    show.add_argument("--json", action="store_true", help="one JSON object")
    add_store_arg(show)
    show.set_defaults(func=cmd_show)
    choose = psub.add_parser("set", help="choose a plan", description="Choose the plan; `local` removes the "
                             "choice (no limits).")
    choose.add_argument("name", help="free, pro, team, enterprise, or local")
    choose.add_argument("--json", action="store_true", help="the chosen plan as one JSON object")
    choose.set_defaults(func=cmd_set)
    ls = psub.add_parser("list", help="every plan's limits side by side", description="Compare the plans.")
    ls.add_argument("--json", action="store_true", help="one JSON array")
    ls.set_defaults(func=cmd_list)


def _limit(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g}"


def plan_json(plan: Any) -> dict[str, Any]:
    return {"name": plan.name, "title": plan.title, "summary": plan.summary, "projects": plan.projects,
            "concurrent_runs": plan.concurrent_runs, "gpu_hours_per_month": plan.gpu_hours_per_month,
            "remote_hosts": plan.remote_hosts, "shared_store": plan.shared_store}


def limit_rows(plan: Any, used: Any) -> list[dict[str, Any]]:
    """One row per limit: what, the limit (None: none), what is used now, how much is left."""
    from neuralforge_desktop.core.team.quotas import headroom

    rows = [("projects", plan.projects, used.projects),
            ("runs training at once", plan.concurrent_runs, used.running),
            ("GPU-hours this month", plan.gpu_hours_per_month, round(used.gpu_hours_this_month, 3)),
            ("remote hosts", plan.remote_hosts, used.remote_hosts)]
    return [{"limit": name, "allowed": allowed, "used": value, "left": None if allowed is None else
             headroom(allowed, value)} for name, allowed, value in rows]


def cmd_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.hosts import HostRegistry
    from neuralforge_desktop.core.team.quotas import usage
    from neuralforge_desktop.core.team.tiers import current_plan

    plan = current_plan()
    with open_store(args.store) as store:
        used = usage(store, len(HostRegistry().all()))
        where = str(store.path)
    rows = limit_rows(plan, used)
    if args.json:
        print(json.dumps({**plan_json(plan), "store": where, "usage": rows}, indent=2))
        return 0
    print(f"plan: {plan.title} — {plan.summary}")
    print(table(["limit", "allowed", "used", "left"],
                [[r["limit"], _limit(r["allowed"]), f"{r['used']:g}", "—" if r["left"] is None else f"{r['left']:g}"]
                 for r in rows], right=(1, 2, 3)))
    print(f"shared PostgreSQL store: {'allowed' if plan.shared_store else 'not allowed (Team and above)'}")
    print(f"store: {where}")
    if plan.name == "local":
        print("no plan chosen: nothing is limited; choose one with `neuralforge plan set free|pro|team|enterprise`")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.tiers import set_plan

    plan = set_plan(args.name)
    if args.json:
        print(json.dumps(plan_json(plan), indent=2))
    else:
        print(f"plan: {plan.title} ({plan.summary}); see its limits with `neuralforge plan show`")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.tiers import PLANS, current_plan

    chosen = current_plan()
    if args.json:
        print(json.dumps([{**plan_json(p), "chosen": p is chosen} for p in PLANS], indent=2))
        return 0
    rows = [["*" if p is chosen else "", p.name, _limit(p.projects), _limit(p.concurrent_runs),
             _limit(p.gpu_hours_per_month), _limit(p.remote_hosts), "yes" if p.shared_store else "no"] for p in PLANS]
    print(table(["", "plan", "projects", "runs at once", "GPU-h/month", "hosts", "shared store"], rows,
                right=(2, 3, 4, 5)))
    if chosen.name == "local":
        print("\nno plan chosen: nothing is limited")
    return 0
