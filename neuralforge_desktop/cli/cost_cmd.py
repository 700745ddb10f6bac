"""``neuralforge cost|roi|capacity``: where the compute money went, what the accuracy it bought cost, and how
much GPU time the hosts will need.

``cost`` sums GPU-hours and spend per project, experiment, user or host, in total and per day, week or
month; ``roi`` sets each run's best ``val/acc`` against its compute, with the Pareto front and what the last
10 % of each project's accuracy gain cost; ``capacity`` forecasts each host's weekly GPU-hours and says how
busy each registered host was. Each takes ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from neuralforge_desktop.cli.fmt import fit, plural, table
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

MAX_COLUMNS = 6  # groups shown side by side in the per-bucket breakdown; the rest are summed as "other"

COST_EXAMPLES = """\
examples:
  neuralforge cost                                   (every run, per project, weekly)
  neuralforge cost --by user --period 2026-Q4 --bucket month
  neuralforge cost --by host --period 2026-W49 --bucket day --json
"""
ROI_EXAMPLES = """\
examples:
  neuralforge roi
  neuralforge roi --project vision-defects --axis cost
  neuralforge roi --period 2026-Q4 --json
"""
CAPACITY_EXAMPLES = """\
examples:
  neuralforge capacity
  neuralforge capacity --weeks 12 --host a100-box
  neuralforge capacity --json
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    cost = sub.add_parser("cost", help="GPU-hours and spend per project, experiment, user or host over time",
                          description="GPU-hours and spend (GPU-hours × the host's rate; local runs cost 0) "
                          "summed per group, in total and per calendar bucket. A run counts when it started.",
                          epilog=COST_EXAMPLES, formatter_class=raw)
    cost.add_argument("--by", choices=("project", "experiment", "user", "host"), default="project",
                      help="what to group by (default: project)")
    _add_period(cost)
    cost.add_argument("--bucket", choices=("day", "week", "month"), default="week",
                      help="the breakdown's bucket size (default: week)")
    cost.add_argument("--json", action="store_true", help="the whole report as one JSON object")
    add_store_arg(cost)
    cost.set_defaults(func=cmd_cost)

    roi = sub.add_parser("roi", help="accuracy gained against compute spent: Pareto front, cost of the last tenth",
                         description="Each run's best val/acc against its compute; the runs no other run beats on "
                         "both (the Pareto front); and per project what going from 90 % of the accuracy gain to "
                         "the best cost (see docs/cost-and-capacity.md for the exact definition).",
                         epilog=ROI_EXAMPLES, formatter_class=raw)
    roi.add_argument("--project", metavar="P", help="one project only")
    roi.add_argument("--axis", choices=("auto", "cost", "gpu_hours"), default="auto",
                     help="compute as cost or GPU-hours (auto: cost when every run has a rate, else GPU-hours)")
    _add_period(roi)
    roi.add_argument("--json", action="store_true", help="the report as one JSON object")
    add_store_arg(roi)
    roi.set_defaults(func=cmd_roi)

    capacity = sub.add_parser("capacity", help="weekly GPU-hours per host, forecast, and host utilisation",
                              description="Each host's GPU-hours per week, a forecast of the coming weeks "
                              "(Holt exponential smoothing from statsmodels, with a 90 % band) and each registered "
                              "host's utilisation over the last 4 complete weeks: GPU-hours / (GPUs × hours).",
                              epilog=CAPACITY_EXAMPLES, formatter_class=raw)
    capacity.add_argument("--weeks", type=int, default=8, metavar="N", help="weeks to forecast (default: 8)")
    capacity.add_argument("--host", metavar="NAME", help="also list this host's weeks one by one "
                          "('all hosts': every host together)")
    capacity.add_argument("--json", action="store_true", help="the report as one JSON object")
    add_store_arg(capacity)
    capacity.set_defaults(func=cmd_capacity)


def _add_period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", metavar="P", help="only runs started in this period: 2026, 2026-12, "
                        "2026-Q4 or 2026-W49 (default: every run)")


def _period(text: str | None) -> Any:
    from neuralforge_desktop.core.team.spend import parse_period

    return parse_period(text) if text else None


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _hours(value: float) -> str:
    return f"{value:,.1f}"


def cmd_cost(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.costs import cost_report

    period = _period(args.period)
    with open_store(args.store) as store:
        report = cost_report(store, by=args.by, bucket=args.bucket, period=period)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    where = f" in {period.label}" if period else ""
    if not report.totals:
        print(f"no runs{where}")
        return 0
    print(f"GPU-hours and spend by {args.by}{where} ({plural(report.total.runs, 'run')})\n")
    rows = [[fit(t.key, 40), str(t.runs), _hours(t.gpu_hours), _money(t.cost)] for t in report.totals]
    rows.append(["total", str(report.total.runs), _hours(report.total.gpu_hours), _money(report.total.cost)])
    print(table([args.by, "runs", "GPU-hours", "cost"], rows, right=[1, 2, 3]))
    use_cost = report.total.cost > 0
    shown = report.series[:MAX_COLUMNS]
    rest = report.series[MAX_COLUMNS:]
    headers = [args.bucket, *(fit(s.key, 18) for s in shown), *(["other"] if rest else []), "total"]
    breakdown = []
    for i, bucket in enumerate(report.buckets):
        values = [(s.cost if use_cost else s.gpu_hours)[i] for s in report.series]
        cells = [values[j] for j in range(len(shown))] + ([sum(values[len(shown):])] if rest else [])
        show = _money if use_cost else _hours
        breakdown.append([bucket.label, *(show(v) if v else "·" for v in cells), show(sum(values))])
    print(f"\n{'cost' if use_cost else 'GPU-hours'} per {args.bucket}\n")
    print(table(headers, breakdown, right=list(range(1, len(headers)))))
    return 0


def cmd_roi(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.roi import LAST_FRACTION, roi_report

    with open_store(args.store) as store:
        report = roi_report(store, project=args.project, axis=args.axis, period=_period(args.period))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    if not report.projects:
        print("no runs")
        return 0
    unit = "cost" if report.axis == "cost" else "GPU-hours"
    show = _money if report.axis == "cost" else _hours
    print(f"Best {report.metric} per run against {unit}; last {1 - LAST_FRACTION:.0%} = from "
          f"{LAST_FRACTION:.0%} of the accuracy gain over the first run to the best\n")
    rows = []
    for p in report.projects:
        s = p.last_stretch
        best = max((x.accuracy for x in p.points), default=None)
        rows.append([fit(p.project, 30), str(len(p.points) + p.runs_without_metric), str(len(p.points)),
                     "—" if best is None else f"{best:.4f}", str(len(p.front)),
                     "—" if s is None else show(s.spend_to_best), "—" if s is None else show(s.last_spend),
                     "—" if s is None else f"{s.last_share:.0%}", p.why_no_stretch])
    headers = ["project", "runs", f"with {report.metric}", "best", "front", f"{unit} to best", "last 10 %", "share"]
    if any(p.why_no_stretch for p in report.projects):
        headers.append("")
    else:
        rows = [row[:-1] for row in rows]
    print(table(headers, rows, right=[1, 2, 3, 4, 5, 6, 7]))
    print(f"\nPareto front across projects (cheapest first; {plural(len(report.front), 'run')})\n")
    front = [[p.run_id[:8], fit(p.run_name, 20), fit(p.project, 24), fit(p.experiment, 20), f"{p.accuracy:.4f}",
              _hours(p.gpu_hours), _money(p.cost)] for p in report.front]
    print(table(["run", "name", "project", "experiment", report.metric, "GPU-hours", "cost"], front,
                right=[4, 5, 6]))
    return 0


def _week(start: float) -> str:
    year, week, _ = dt.datetime.fromtimestamp(start).isocalendar()
    return f"{year}-W{week:02d}"


def cmd_capacity(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.errors import UserError
    from neuralforge_desktop.core.remote.hosts import HostRegistry
    from neuralforge_desktop.core.team.capacity import ALL_HOSTS, BAND_LEVEL, capacity_report

    with open_store(args.store) as store:
        report = capacity_report(store, HostRegistry().all(), weeks=args.weeks)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    if args.host and args.host not in {h.host for h in report.hosts} | {ALL_HOSTS}:
        known = ", ".join(h.host for h in report.hosts) or "none"
        raise UserError(f"--host {args.host!r}: no complete week of runs on it (hosts with history: {known})")
    if report.note:
        print(f"note: {report.note}\n")
    print(f"Weekly GPU-hours per host and the forecast for the next {plural(args.weeks, 'week')} "
          f"({BAND_LEVEL:.0%} band)\n")
    rows = []
    for h in [*report.hosts, *([report.total] if report.total is not None and len(report.hosts) > 1 else [])]:
        recent = h.gpu_hours[-4:]
        f = h.forecast
        rows.append([h.host, str(len(h.gpu_hours)), _hours(sum(recent) / len(recent)),
                     "—" if f is None else f"{_hours(f.mean[0])} [{_hours(f.lower[0])}–{_hours(f.upper[0])}]",
                     "—" if f is None else f"{_hours(f.mean[-1])} [{_hours(f.lower[-1])}–{_hours(f.upper[-1])}]",
                     "—" if h.weekly_capacity is None else _hours(h.weekly_capacity),
                     "—" if h.full_from is None else _week(h.full_from),
                     h.note if f is None else f.model])
    if rows:
        print(table(["host", "weeks", "avg last 4", "next week", f"week +{args.weeks}", "capacity/week", "full by",
                     "model"], rows, right=[1, 2, 5]))
    else:
        print("no complete week of runs yet")
    span = f"{dt.date.fromtimestamp(report.span_start)} to {dt.date.fromtimestamp(report.span_end - 1)}"
    print(f"\nUtilisation {span}: GPU-hours used / (GPUs × hours)\n")
    util = [[u.host, "—" if u.gpus is None else str(u.gpus), _hours(u.gpu_hours),
             "—" if u.capacity_hours is None else _hours(u.capacity_hours),
             "—" if u.utilisation is None else f"{u.utilisation:.1%}", u.note] for u in report.utilisation]
    print(table(["host", "GPUs", "GPU-hours", "capacity", "utilisation", ""], util, right=[1, 2, 3, 4]))
    chosen = next((h for h in (*report.hosts, report.total) if h is not None and h.host == args.host), None)
    if chosen is not None:
        print(f"\n{chosen.host}, week by week\n")
        weeks = [[_week(s), _hours(v), "", ""] for s, v in zip(chosen.week_starts, chosen.gpu_hours, strict=True)]
        if chosen.forecast is not None:
            f = chosen.forecast
            weeks += [[_week(s), "", _hours(m), f"{_hours(lo)}–{_hours(up)}"]
                      for s, m, lo, up in zip(chosen.forecast_starts, f.mean, f.lower, f.upper, strict=True)]
        print(table(["week", "GPU-hours", "forecast", "band"], weeks, right=[1, 2, 3]))
    return 0
