"""``neuralforge runs list|show|compare|usage`` (and ``stats``, ``seeds``: see ``compare_cmd``): the experiment
store from the terminal."""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import time
from collections.abc import Callable
from typing import Any

from neuralforge_desktop.cli import interop_cmd
from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural, table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, find_run, open_store

SUMMARY_METRICS = ("val/acc", "val/loss", "train/loss")
# Shown as a column only when some listed run has it (language models).
OPTIONAL_METRICS = (("val/perplexity", "VAL PPL"),)
MAX_REPORT_BYTES = 1 << 20
JSON_PAGE = 1000  # runs read, spelt and written at a time by `runs list --json`
_quote = json.encoder.encode_basestring_ascii  # json.dumps's own string spelling (ensure_ascii)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    runs = sub.add_parser("runs", help="list, show and compare training runs",
                          description="Read the experiment store: every run with its params, metrics, "
                          "checksum and environment.")
    rsub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    ls = rsub.add_parser("list", help="list runs (newest first)", description="List runs, newest first.")
    ls.add_argument("--experiment", metavar="NAME")
    ls.add_argument("--status", choices=["running", "finished", "failed", "stopped", "crashed", "paused", "queued"])
    ls.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    ls.add_argument("--limit", type=opt.positive_int, default=50)
    ls.add_argument("--json", action="store_true", help="one JSON array of runs")
    ls.add_argument("--jsonl", action="store_true", help="JSON lines: one run per line, written as it is read")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    show = rsub.add_parser("show", help="one run in full", description="Show one run: params, metrics, "
                           "environment, checksum, artifacts.")
    show.add_argument("run", metavar="RUN")
    show.add_argument("--json", action="store_true")
    add_store_arg(show)
    show.set_defaults(func=cmd_show)
    cmp = rsub.add_parser("compare", help="params that differ and metrics side by side",
                          description="Compare runs: the params that differ and every metric's latest value.")
    cmp.add_argument("runs", nargs="+", metavar="RUN")
    cmp.add_argument("--diff", action="store_true",
                     help="also the architecture diff of each run's graph against the first run's")
    cmp.add_argument("--json", action="store_true")
    add_store_arg(cmp)
    cmp.set_defaults(func=cmd_compare)
    rm = rsub.add_parser("delete", help="delete runs with their metrics", description="Delete runs with their "
                         "params, tags, metrics and artifact links. In a project with members this needs admin (or "
                         "contributor, for one's own runs).")
    rm.add_argument("runs", nargs="+", metavar="RUN")
    add_store_arg(rm)
    rm.set_defaults(func=cmd_delete)
    use = rsub.add_parser("usage", help="GPU-hours and cost per experiment and in all",
                          description="Sum the runs' GPU time and cost (GPU-hours × the host's rate per GPU-hour "
                          "when the run was dispatched) per experiment and over the whole store.")
    use.add_argument("--experiment", metavar="NAME", help="only this experiment")
    use.add_argument("--json", action="store_true")
    add_store_arg(use)
    use.set_defaults(func=cmd_usage)
    from neuralforge_desktop.cli import compare_cmd

    compare_cmd.add_parsers(rsub)
    interop_cmd.add_parsers(rsub)  # export/import to MLflow and TensorBoard


def _metric(run: Any, name: str) -> float | None:
    m = run.metrics.get(name)
    return None if m is None or math.isnan(m.value) else m.value


def _fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return ""
    return f"{value:.2%}" if name.endswith("acc") or "/top" in name else f"{value:.4g}"


def _param(value: Any) -> str:
    """A param as the table shows it: one that is not set (None, or absent from a run) reads "not set"."""
    return "not set" if value is None else str(value)


def _hours(hours: float) -> str:
    return "" if hours <= 0 else "<0.01" if hours < 0.01 else f"{hours:,.2f}"


def _money(cost: float) -> str:
    return "" if cost <= 0 else "<0.01" if cost < 0.01 else f"{cost:,.2f}"


def _run_json(run: Any) -> dict[str, Any]:
    from neuralforge_desktop.core.store.usage import run_usage

    usage = run_usage(run)
    return {"id": run.id, "name": run.name, "experiment": run.experiment, "status": run.status, "user": run.user,
            "created": run.created, "started": run.started, "ended": run.ended, "params": run.params,
            "tags": run.tags, "metrics": {k: {"value": m.value, "step": m.step, "min": m.min, "max": m.max}
                                          for k, m in run.metrics.items()},
            "cpu_seconds": run.cpu_seconds, "gpu_seconds": run.gpu_seconds, "host": usage.host,
            "gpu_hours": usage.gpu_hours, "cost_per_gpu_hour": usage.rate, "cost": usage.cost,
            "graph_sha256": run.graph_sha256,
            "checksum": run.checksum, "environment": run.environment}


# repr spells finite floats and ints as json.dumps does; these are the spellings it does not share. A latest
# metric's NULL (how the store keeps NaN) is spelt NaN, as runs show does; any other missing number is null.
_NUMBER_SPELLING = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity", "None": "null"}
_STAT_SPELLING = {**_NUMBER_SPELLING, "None": "NaN"}


def _json_number(value: float | None) -> str:
    text = repr(value)
    return _NUMBER_SPELLING.get(text, text)


def _json_text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


@functools.cache
def _json_name(name: str) -> str:
    return _quote(name)


def _metrics_json(rows: list[tuple[Any, ...]]) -> str:
    spell = _STAT_SPELLING.get
    parts = []
    for _, name, step, value, _, lo, hi, _ in rows:  # one loop, no call per number: 5 numbers × 10,000 runs
        value, lo, hi = repr(value), repr(lo), repr(hi)
        parts.append(f'{_json_name(name)}: {{"value": {spell(value, value)}, "step": {int(step)}, '
                     f'"min": {spell(lo, lo)}, "max": {spell(hi, hi)}}}')
    return "{" + ", ".join(parts) + "}"


@functools.cache
def _usage_tags() -> tuple[str, str, str, Callable[[str | None], float]]:
    """The run tags naming a run's host and its cost per GPU-hour, this machine's host name, and the rate's reader
    (imported once, not per run)."""
    from neuralforge_desktop.core.store.queue_store import HOST_TAG, LOCAL_HOST
    from neuralforge_desktop.core.store.usage import RATE_TAG, rate_from_tag

    return HOST_TAG, LOCAL_HOST, RATE_TAG, rate_from_tag


def _record_json(record: Any) -> str:
    """A :class:`RunRecord` as one line of JSON, the same fields and spelling as ``runs show --json`` (what
    json.dumps writes); its params, tags and environment are the store's JSON text copied in, not parsed and
    re-encoded, and the rest is spelt here field by field rather than through json.dumps (most of the cost of
    a long listing)."""
    host_tag, local_host, rate_tag, rate_from_tag = _usage_tags()
    number, text, quote = _json_number, _json_text, _quote
    tags = record.tags
    rate = rate_from_tag(tags.get(rate_tag))
    gpu_hours = record.gpu_seconds / 3600.0
    return (f'{{"id": {quote(record.id)}, "name": {quote(record.name)}, "experiment": {quote(record.experiment)}, '
            f'"status": {quote(record.status)}, "user": {text(record.user)}, "created": {number(record.created)}, '
            f'"started": {number(record.started)}, "ended": {number(record.ended)}, '
            f'"cpu_seconds": {number(record.cpu_seconds)}, "gpu_seconds": {number(record.gpu_seconds)}, '
            f'"host": {quote(tags.get(host_tag) or local_host)}, "gpu_hours": {number(gpu_hours)}, '
            f'"cost_per_gpu_hour": {number(rate)}, "cost": {number(gpu_hours * rate)}, '
            f'"graph_sha256": {text(record.graph_sha256)}, "checksum": {text(record.checksum)}, '
            f'"tags": {record.tags_json}, "metrics": {_metrics_json(record.metric_rows)}, '
            f'"params": {record.params_json}, "environment": {record.environment_json}}}')


def cmd_list(args: argparse.Namespace) -> int:
    tags = dict(t.split("=", 1) for t in args.tag if "=" in t)
    return list_runs(args.store, args.experiment, status=args.status, tags=tags, limit=args.limit,
                     as_json=args.json, as_jsonl=args.jsonl)


def list_runs(store_path: str | None, experiment: str | None = None, *, status: str | None = None,
              tags: dict[str, str] | None = None, limit: int = 50, as_json: bool = False,
              as_jsonl: bool = False) -> int:
    """Print the runs in the store at ``store_path`` (the user's by default), newest first. JSON is written
    as the runs are read, a page at a time, so a listing of any length starts at once and holds one page."""
    import sys

    store = open_store(store_path)
    store.mark_crashed_runs()
    if as_json or as_jsonl:
        records = iter(store.iter_runs(experiment, status=status, tags=tags or None, limit=limit, page=JSON_PAGE))
        written = 0  # a page of runs is spelt, then written in one call (one system call even when unbuffered)
        while page := [_record_json(record) for record in itertools.islice(records, JSON_PAGE)]:
            if as_jsonl:
                sys.stdout.write("\n".join(page) + "\n")
            else:
                sys.stdout.write(("[\n  " if not written else ",\n  ") + ",\n  ".join(page))
            written += len(page)
        if as_json:
            sys.stdout.write("\n]\n" if written else "[\n]\n")
        return 0
    runs = store.list_runs(experiment, status=status, tags=tags or None, limit=limit)
    if not runs:
        print(f"no runs in {store.path}; start one with `neuralforge train zoo:mnist-cnn --dataset mnist-10k`")
        return 0
    metrics = list(SUMMARY_METRICS)
    headers = ["VAL ACC", "VAL LOSS", "TRAIN LOSS"]
    for name, header in OPTIONAL_METRICS:
        if any(name in r.metrics for r in runs):
            metrics.append(name)
            headers.append(header)
    from neuralforge_desktop.core.store.usage import run_usage

    usages = [run_usage(r) for r in runs]
    rows = [[r.id, r.name, r.experiment, r.status, r.user or "",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)),
             *(_fmt(_metric(r, m), m) for m in metrics), u.host, _hours(u.gpu_hours), _money(u.cost),
             (r.checksum or "")[:12]] for r, u in zip(runs, usages, strict=True)]
    print(table(["RUN", "NAME", "EXPERIMENT", "STATUS", "USER", "CREATED", *headers, "HOST", "GPU-H", "COST",
                 "CHECKSUM"], rows, right=[*range(6, 6 + len(metrics)), 7 + len(metrics), 8 + len(metrics)]))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    for run_id in args.runs:
        find_run(store, run_id)
        store.delete_run(run_id)  # a refusal by role is a UserError naming the role needed
        print(f"deleted {run_id}")
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.store.usage import usage_sums

    store = open_store(args.store)
    try:
        runs = store.list_runs(args.experiment)
    except NotFoundError as exc:
        raise CliError(f"{exc} ({store.path})") from None
    sums, total = usage_sums(runs)

    def as_json(s: Any) -> dict[str, Any]:
        return {"experiment": s.name, "experiment_id": s.experiment_id, "runs": s.runs, "cpu_seconds": s.cpu_seconds,
                "gpu_seconds": s.gpu_seconds, "gpu_hours": s.gpu_hours, "cost": s.cost}

    if args.json:
        data = as_json(total)
        del data["experiment"], data["experiment_id"]
        print(json.dumps({"experiments": [as_json(s) for s in sums], "total": data}, indent=2))
        return 0
    rows = [[s.name, f"{s.runs:,}", f"{s.gpu_hours:,.2f}", f"{s.cost:,.2f}"] for s in [*sums, total]]
    print(table(["EXPERIMENT", "RUNS", "GPU-H", "COST"], rows, right=[1, 2, 3]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    run = find_run(store, args.run)
    artifacts = store.list_artifacts(run.id)
    exports = _export_reports(artifacts)
    data = _run_json(run)
    if args.json:
        data["artifacts"] = [{"name": a.name, "kind": a.kind, "sha256": a.sha256, "size": a.size} for a in artifacts]
        data["exports"] = [report for _, report in exports]
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(f"run {run.id}  {run.name}  [{run.status}]  experiment {run.experiment}")
    if run.tags.get("reason"):  # why it failed or stopped (Store.set_status)
        print(f"  {run.status}: {run.tags['reason']}")
    if run.tags.get("parent_run") and run.tags.get("optimization"):  # made by `neuralforge optimize`
        print(f"  {run.tags['optimization']} of run {run.tags['parent_run']}")
    elif run.tags.get("parent_run"):  # a retrain (e.g. after a Coach fix): what it was retrained from
        fix = f" after the Coach fix {run.tags['coach_fix']}" if run.tags.get("coach_fix") else ""
        fix += f" ({run.tags['coach_finding']})" if fix and run.tags.get("coach_finding") else ""
        print(f"  retrain of run {run.tags['parent_run']}{fix}")
    if run.duration is not None:
        print(f"  took {run.duration:.1f} s (cpu {run.cpu_seconds:.1f} s, gpu {run.gpu_seconds:.1f} s)")
    print(f"  host {data['host']}" + (f"; {data['gpu_hours']:,.2f} GPU-h × {data['cost_per_gpu_hour']:g} per GPU-hour"
                                      f" = cost {data['cost']:,.2f}" if data["cost_per_gpu_hour"] else ""))
    print(f"  checksum {run.checksum or '(not yet)'}\n  graph sha256 {run.graph_sha256 or '(not recorded)'}")
    print("  params: " + ", ".join(f"{k}={_param(v)}" for k, v in sorted(run.params.items())))
    print("  metrics (latest; min–max):")
    for name, m in sorted(run.metrics.items()):
        print(f"    {name:<22} {_fmt(m.value, name):>10}   ({_fmt(m.min, name)} – {_fmt(m.max, name)}, "
              f"{plural(m.count, 'point')})")
    env = run.environment
    if env:
        keys = ("python", "torch", "numpy", "platform", "device")
        print("  environment: " + ", ".join(f"{k} {env[k]}" for k in keys if k in env))
    for a in artifacts:
        print(f"  artifact {a.name} ({a.kind}, {plural(a.size, 'byte')}, sha256 {a.sha256[:12]})")
    for name, report in exports:
        print(f"  export {name}: {_export_line(report)}")
    return 0


def _export_reports(artifacts: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The reports stored beside the run's exports (export name, report), readable ones only."""
    from neuralforge_desktop.core.exporters.record import REPORT_KIND

    reports = []
    for a in artifacts:
        if a.kind != REPORT_KIND or a.size > MAX_REPORT_BYTES:  # a report is a few kB: anything bigger is not one
            continue
        try:
            data = json.loads(a.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            reports.append((a.name.removesuffix(".report.json"), data))
    return reports


def _export_line(report: dict[str, Any]) -> str:
    from neuralforge_desktop.core.exporters.report import summary_line

    try:
        return summary_line(report)
    except (TypeError, KeyError, ValueError):  # a report from another version: say what can be said
        return f"{report.get('format', '?')} {report.get('precision', '')}".strip()


def cmd_compare(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.store.entities import NotFoundError

    store = open_store(args.store)
    try:
        comparison = store.compare_runs(args.runs)
    except NotFoundError as exc:
        raise CliError(str(exc)) from None
    ids = [r.id for r in comparison.runs]
    from neuralforge_desktop.cli import compare_cmd
    from neuralforge_desktop.core.errors import UserError

    if args.json:
        data = {"runs": ids, "params_same": comparison.params_same, "params_diff": comparison.params_diff,
                "metrics": {k: {rid: (m.value if m else None) for rid, m in v.items()}
                            for k, v in comparison.metrics.items()}}
        if args.diff:
            try:
                data["architecture"] = compare_cmd.diffs_json(store, ids)
            except UserError as exc:
                raise CliError(str(exc)) from None
        print(json.dumps(data, indent=2, default=str))
        return 0
    rows = [[f"param {k}", *(_param(v.get(rid)) for rid in ids)] for k, v in comparison.params_diff.items()]
    rows += [[name, *(_fmt(per[rid].value if per.get(rid) else None, name) for rid in ids)]
             for name, per in sorted(comparison.metrics.items())]
    print(table(["", *ids], rows, right=list(range(1, len(ids) + 1))))
    if comparison.params_same:
        print("same in all: " + ", ".join(f"{k}={_param(v)}" for k, v in sorted(comparison.params_same.items())))
    if args.diff:
        try:
            compare_cmd.print_diffs(store, ids)
        except UserError as exc:
            raise CliError(str(exc)) from None
    return 0
