"""``neuralforge monitor NAME`` and ``neuralforge monitor feedback PREDICTION_ID LABEL``: how a served model is
doing (latency, throughput, traffic per version, errors, input drift, accuracy from feedback, alerts), and
sending back the true label of a prediction."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from neuralforge_desktop.cli.fmt import plural, table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

USAGE = "neuralforge monitor NAME [--since 1h] [--json] [--alerts FILE] [--store PATH]\n" \
        "       neuralforge monitor feedback PREDICTION_ID LABEL [--store PATH]"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    monitor = sub.add_parser(
        "monitor", help="latency, traffic, drift, accuracy and alerts of a served model", usage=USAGE,
        description="How the model served as NAME is doing: latency p50/p95/p99, throughput, traffic and errors "
        "per version, input drift against the training data (PSI and KS per feature or image channel), "
        "accuracy from labels sent back, and open alerts. `monitor feedback PREDICTION_ID LABEL` records the "
        "true label of a prediction (LABEL is JSON when it parses: 3, \"cat\", [1, 0]).")
    monitor.add_argument("name", metavar="NAME", help="the served model's name (or 'feedback')")
    monitor.add_argument("rest", nargs="*", metavar="ARG", help=argparse.SUPPRESS)
    monitor.add_argument("--since", metavar="DURATION", help="only the last DURATION (90s, 15m, 1h, 2d); "
                         "default: everything recorded")
    monitor.add_argument("--json", action="store_true", help="one JSON object with every figure")
    monitor.add_argument("--alerts", metavar="FILE", help="alert thresholds (YAML: window, p99_latency_ms, "
                         "error_rate, drift_psi, accuracy_drop, baseline_accuracy, min_requests)")
    monitor.add_argument("--no-drift", action="store_true",
                         help="show the stored drift reports without computing a new one")
    add_store_arg(monitor)
    monitor.set_defaults(func=cmd_monitor)


def cmd_monitor(args: argparse.Namespace) -> int:
    if args.name == "feedback":
        return cmd_feedback(args)
    if args.rest:
        raise CliError(f"monitor: unexpected argument {args.rest[0]!r} after the model name")
    from neuralforge_desktop.core.monitoring import monitor_report, parse_duration

    since = time.time() - parse_duration(args.since, "--since") if args.since else None
    with open_store(args.store) as store:
        report = monitor_report(store, args.name, since=since, alert_config=args.alerts,
                                refresh_drift=not args.no_drift)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        print(render(report, args.since))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    if len(args.rest) != 2:
        raise CliError("monitor feedback: give PREDICTION_ID and LABEL, e.g. `neuralforge monitor feedback "
                       "3f2a… 7`")
    from neuralforge_desktop.core.monitoring.feedback import parse_label, record_feedback

    prediction_id, label_text = args.rest
    with open_store(args.store) as store:
        stored = record_feedback(store, prediction_id, parse_label(label_text))
    if args.json:
        print(json.dumps({"prediction_id": stored.prediction_id, "label": stored.label, "matched": stored.matched}))
        return 0
    print(f"Recorded label {json.dumps(stored.label)} for prediction {stored.prediction_id}")
    if not stored.matched:
        print("note: no served request with this id is in the store yet (replicas write within seconds); the "
              "label is kept and counted once its request arrives", file=sys.stderr)
    return 0


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(report: dict[str, Any], since_text: str | None = None) -> str:
    s = report["summary"]
    window = f"last {since_text}" if since_text else "everything recorded"
    lines = [f"Model {report['model']}: {window} ({_clock(report['since'])} → {_clock(report['until'])}), "
             f"{plural(s['count'], 'request')}",
             f"Latency  p50 {_ms(s['p50'])}   p95 {_ms(s['p95'])}   p99 {_ms(s['p99'])}   "
             f"throughput {s['throughput']:.2f} req/s   error rate {_pct(s['error_rate'])}", ""]
    versions = report["versions"]
    if versions:
        rows = [[v, f"{f['count']:,}", f"{f['share'] * 100:.1f} %", _ms(f["p50"]), _ms(f["p95"]), _ms(f["p99"]),
                 f"{f['throughput']:.2f}", _pct(f["error_rate"])] for v, f in versions.items()]
        lines += ["Traffic per version",
                  table(["version", "requests", "share", "p50", "p95", "p99", "req/s", "errors"], rows,
                        right=range(1, 8)), ""]
    latest = report["drift"]["latest"]
    if latest:
        lines.append("Input drift against the training data (latest report per version)")
        rows = []
        for version, drift in sorted(latest.items()):
            for f in drift["features"]:
                rows.append([version, f["name"], f"{f['psi']:.3f}", f"{f['ks_statistic']:.3f}",
                             f"{f['ks_pvalue']:.2g}", f"{f['reference_mean']:.3g} → {f['current_mean']:.3g}",
                             f["verdict"]])
        lines.append(table(["version", "feature", "PSI", "KS", "p-value", "mean (train → served)", "verdict"],
                           rows, right=(2, 3, 4)))
        for version, drift in sorted(latest.items()):
            lines.append(f"  version {version} ({plural(drift['samples'], 'sampled input')}, "
                         f"{_clock(drift['time'])}): {drift['verdict']}")
        lines.append("")
    else:
        lines += ["Input drift: no report yet (needs sampled inputs and the training data of a registered "
                  "version)", ""]
    scored = report["accuracy"]
    if scored["labelled"]:
        parts = [f"v{v} {_pct(a['accuracy'])} of {a['labelled']:,}" for v, a in scored["per_version"].items()]
        lines.append(f"Accuracy from feedback: {_pct(scored['accuracy'])} over {plural(scored['labelled'], 'label')}"
                     f" ({'; '.join(parts)})")
    else:
        lines.append("Accuracy from feedback: no labels sent back yet (`neuralforge monitor feedback ID LABEL`)")
    open_alerts = report["alerts"]["open"]
    lines.append("")
    if open_alerts:
        lines.append(f"Open alerts ({len(open_alerts)})")
        lines.append(table(["since", "alert", "acknowledged"],
                           [[_clock(a["time"]), a["text"], "yes" if a["acknowledged"] else "no"]
                            for a in open_alerts]))
    else:
        lines.append("Open alerts: none")
    lines += [f"note: {note}" for note in report["notes"]]
    return "\n".join(lines)
