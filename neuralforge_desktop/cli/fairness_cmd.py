"""``neuralforge fairness RUN|NAME@V --data FILE --sensitive COL``: per-group accuracy, selection rate, TPR and
FPR with bootstrap intervals, demographic parity and equalised odds, calibration per group, a plain-words
reading and (``--mitigate``) the threshold optimiser's before/after. ``--example [DIR]`` writes the bundled
synthetic credit data, trains a small model on it and evaluates that."""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

USAGE = ("neuralforge fairness RUN|NAME@V --data FILE --sensitive COL [--label COL] "
         "[--mitigate demographic_parity|equalized_odds] [--json] [--store PATH]\n"
         "       neuralforge fairness --example [DIR] [--json] [--store PATH]")
RATE_TITLES = {"accuracy": "accuracy", "selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fairness", help="fairness of a classifier across groups (fairlearn)", usage=USAGE,
        description="How a two-class model treats the groups of one or more sensitive columns of an evaluation "
        "table that holds the model's feature columns, its label column and the sensitive columns: per-group "
        "accuracy, selection rate, TPR and FPR; demographic parity difference and ratio; equalised odds "
        "difference; calibration per group (ECE); bootstrap confidence intervals; a plain-words reading. "
        "Groups under 30 examples get no figures. The result is kept as the run's fairness.json artifact.")
    p.add_argument("model", nargs="?", metavar="RUN|NAME@V", help="a run id, or a registry version (NAME@3)")
    p.add_argument("--data", metavar="FILE", help="evaluation table (.csv/.tsv/.parquet), or example:credit / "
                   "example:credit-unbiased (the bundled synthetic set)")
    p.add_argument("--sensitive", action="append", default=[], metavar="COL",
                   help="a sensitive column (repeatable, or comma-separated)")
    p.add_argument("--label", metavar="COL", help="the label column (default: the training table's)")
    p.add_argument("--mitigate", choices=("demographic_parity", "equalized_odds"),
                   help="fit fairlearn's ThresholdOptimizer for the first sensitive column on half of the rows "
                   "and show before/after on the other half")
    p.add_argument("--resamples", type=int, default=500, metavar="N", help="bootstrap resamples (default 500)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap and mitigation seed (default 0)")
    p.add_argument("--example", nargs="?", const="fairness-example", metavar="DIR",
                   help="write the synthetic credit example into DIR (default ./fairness-example), train a model "
                   "on it in the store and evaluate it (sensitive columns group and age_band)")
    p.add_argument("--json", action="store_true", help="the whole report as one JSON object")
    add_store_arg(p)
    p.set_defaults(func=cmd_fairness)


def _columns(values: list[str]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def cmd_fairness(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.fairness import evaluate_fairness

    if args.resamples < 50:
        raise CliError(f"--resamples must be at least 50 for a usable interval, got {args.resamples}")
    sensitive = _columns(args.sensitive)
    with open_store(args.store) as store:
        if args.example is not None:
            if args.model:
                raise CliError("fairness --example trains its own model: give no RUN with it")
            from neuralforge_desktop.core.fairness.example import SENSITIVE, train_example, write_example

            files = write_example(args.example)
            run_id = train_example(store, files)
            ref, data = run_id, str(files.eval_csv)
            sensitive = sensitive or list(SENSITIVE)
            mitigation = args.mitigate or "demographic_parity"
            if not args.json:
                print(f"example written to {files.folder}; trained run {run_id} on {files.train_csv.name}\n")
        else:
            if not args.model or not args.data or not sensitive:
                raise CliError(f"fairness: give RUN|NAME@V, --data FILE and --sensitive COL\nusage: {USAGE}")
            ref, data, mitigation = args.model, args.data, args.mitigate
        report = evaluate_fairness(store, ref, data, sensitive, label=args.label, mitigation=mitigation,
                                   resamples=args.resamples, seed=args.seed)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def _cell(cell: dict[str, Any]) -> str:
    if "too_few" in cell:
        return f"too few examples (n={cell['too_few']})"
    ci = cell.get("ci")
    return f"{cell['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def render_attribute(report: dict[str, Any], confidence: float) -> str:
    rows = []
    for group in report["groups"]:
        calibration = group.get("calibration")
        rows.append([str(group["group"]), str(group["count"]),
                     *(_cell(group["metrics"][rate]) for rate in RATE_TITLES),
                     f"{calibration['ece']:.3f}" if calibration else "—"])
    lines = [f"Sensitive column {report['column']} (figures with {100 * confidence:.0f} % bootstrap intervals)",
             table(["group", "n", *RATE_TITLES.values(), "ECE"], rows, right=[1])]
    if report["disparities"]:
        lines.append("")
        lines.append(table(["disparity", "value", "interval"], [
            [name.replace("_", " "), f"{d['value']:.3f}", f"[{d['ci'][0]:.3f}, {d['ci'][1]:.3f}]" if d["ci"] else "—"]
            for name, d in report["disparities"].items()], right=[1]))
    lines.append("")
    lines.extend(f"  {line}" for line in report["reading"])
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    confidence = report["bootstrap"]["confidence"]
    out = [f"Fairness of {report['model_description']} on {report['data']}",
           f"label {report['label']} (positive: {report['positive']}), decision threshold {report['threshold']}, "
           f"overall accuracy {report['overall']['accuracy']:.3f}, selection rate "
           f"{report['overall']['selection_rate']:.3f}; groups under {report['min_group_size']} examples get no "
           "figures", ""]
    for attribute in report["attributes"]:
        out += [render_attribute(attribute, confidence), ""]
    mitigation = report.get("mitigation")
    if mitigation:
        out.append(f"Mitigation: {mitigation['method']}, constraint {mitigation['constraint']} on "
                   f"{mitigation['column']}; fitted on {mitigation['fit_rows']} rows, judged on the other "
                   f"{mitigation['evaluated_rows']}")
        rows = []
        before, after = mitigation["before"]["disparities"] or {}, mitigation["after"]["disparities"] or {}
        for name in before:
            rows.append([name.replace("_", " "), f"{before[name]['value']:.3f}", f"{after[name]['value']:.3f}"])
        rows.append(["accuracy", f"{mitigation['accuracy_before']:.3f}", f"{mitigation['accuracy_after']:.3f}"])
        out += [table(["figure", "before", "after"], rows, right=[1, 2]), ""]
    out.append("Flagged: " + ("; ".join(report["flagged"]) if report["flagged"] else "nothing"))
    out.append(f"Saved as run {report['run_id']}'s fairness.json")
    return "\n".join(out)
