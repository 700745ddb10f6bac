"""``neuralforge fix RUN --kind KIND``: apply the Coach's fix for one finding of a run, write the fixed graph,
print the command that retrains it (with the changed settings), and with ``--retrain`` start that run, tagged
with its parent (``parent_run``), the fix (``coach_fix``) and the finding (``coach_finding``).

The run's findings come from ``--finding-json FILE``, else from what ``neuralforge coach RUN`` reports: the
Coach's rules on the run's graph, settings, data, metrics and diagnostics, with what its live Coach saved."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, find_run, open_store

# TrainConfig field → the `neuralforge train` option that sets it, for the fields that have one.
TRAIN_OPTIONS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "optimizer": "--optimizer",
                 "schedule": "--schedule", "warmup_steps": "--warmup-steps", "weight_decay": "--weight-decay",
                 "grad_clip": "--grad-clip", "early_stopping": "--early-stopping", "seed": "--seed",
                 "device": "--device", "limit": "--limit", "val_fraction": "--val-fraction",
                 "diagnostics": "--diagnostics"}
TRAIN_FLAGS = {"class_weights": "--class-weights", "trust_code": "--trust-code"}
CLI_DEFAULTS = {"epochs": 3, "batch_size": 64, "lr": 1e-3, "optimizer": "adam", "schedule": "none",
                "warmup_steps": 0, "weight_decay": 0.0, "seed": 0, "device": "auto", "val_fraction": 0.1,
                "diagnostics": "basic"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fix", help="apply the Coach's fix for a finding of a run, and optionally retrain",
                       description="Apply the one-click fix of RUN's finding KIND (e.g. lr_too_high, "
                       "softmax_before_cross_entropy) to the run's graph and settings, write the fixed graph, "
                       "and print the train command that retrains it; --retrain starts that run, linked to RUN.")
    p.add_argument("run", metavar="RUN", type=opt.non_empty)
    p.add_argument("--kind", required=True, type=opt.non_empty, metavar="KIND",
                   help="the finding to fix (see `neuralforge coach RUN`)")
    p.add_argument("-o", "--output", metavar="FIXED.nfg", type=opt.non_empty,
                   help="where to write the fixed graph (default: RUN-fixed.nfg here)")
    p.add_argument("--finding-json", metavar="FILE", type=opt.non_empty,
                   help="read the finding from this file (a finding, a list of findings, or a Coach report as "
                   "JSON) instead of the run's")
    p.add_argument("--retrain", action="store_true", help="start the new run at once (in a worker process)")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    add_store_arg(p)
    p.set_defaults(func=cmd_fix)


def cmd_fix(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.ir.serialize import load_graph, save_graph
    from neuralforge_desktop.core.training.coach.fixes import apply_fix
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.runner import runs_root

    store = open_store(args.store)
    run = find_run(store, args.run)
    folder = runs_root(Path(store.path)) / run.id
    graph_file, config_file = folder / "graph.nfg", folder / "config.json"
    if not graph_file.is_file() or not config_file.is_file():
        raise CliError(f"run {run.id} has no saved graph and settings ({folder})")
    graph = load_graph(graph_file)
    config = TrainConfig.from_json(json.loads(config_file.read_text(encoding="utf-8")))
    findings = (read_findings(Path(args.finding_json)) if args.finding_json
                else run_findings(store, run))
    finding = pick(findings, args.kind, run.id)
    assert finding.fix is not None
    result = apply_fix(finding.fix, graph, config)
    output = Path(args.output) if args.output else Path(f"{run.id}-fixed.nfg")
    save_graph(result.graph, output)
    from neuralforge_desktop.core.audit.events import graph_saved

    graph_saved(output, len(result.graph), store)
    argv = train_argv(output, result.config, run.id, finding.fix.action, finding.kind)
    if args.json:
        print(json.dumps({"run": run.id, "kind": finding.kind, "fix": finding.fix.to_json(),
                          "description": result.description, "graph": str(output),
                          "settings": result.settings, "train": argv}, indent=2, default=str))
    else:
        print(f"{finding.title}: {result.description}")
        print(f"wrote {output}")
        skipped = untranslated(result.config)
        if skipped:
            print("settings with no train option (kept at their defaults by this command): " + ", ".join(skipped))
        print("retrain with:\n  neuralforge " + shlex.join(argv))
    if not args.retrain:
        return 0
    from neuralforge_desktop.cli.main import main

    if args.store:
        argv += ["--store", args.store]
    return main(argv)


def read_findings(path: Path) -> list[Any]:
    """Findings from a JSON file: one finding, a list of them, or a Coach report (``{"findings": [...]}``)."""
    from neuralforge_desktop.core.training.coach.findings import Finding

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"--finding-json {path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CliError(f"{path}: not JSON ({exc})") from None
    items = data.get("findings") if isinstance(data, dict) and "findings" in data else data
    items = items if isinstance(items, list) else [items]
    try:
        return [Finding.from_json(item) for item in items]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CliError(f"{path}: not a Coach finding ({exc})") from None


def run_findings(store: Any, run: Any) -> list[Any]:
    """What ``neuralforge coach RUN`` reports: the rules on what the run recorded, with its live findings."""
    from neuralforge_desktop.core.training.coach.runs import run_report

    return list(run_report(store, run).findings)


def pick(findings: list[Any], kind: str, run_id: str) -> Any:
    matching = [f for f in findings if f.kind == kind]
    if not matching:
        found = ", ".join(sorted({f.kind for f in findings})) or "none"
        raise CliError(f"run {run_id} has no {kind} finding (its findings: {found})")
    with_fix = [f for f in matching if f.fix is not None]
    if not with_fix:
        raise CliError(f"{kind} of run {run_id} has no one-click fix: {matching[0].explanation}")
    return with_fix[0]


def train_argv(graph_file: Path, config: Any, parent: str, action: str, kind: str) -> list[str]:
    """``neuralforge train`` arguments that train ``graph_file`` with ``config``, linked to ``parent``."""
    argv = ["train", str(graph_file), "--dataset", config.dataset]
    for name, option in TRAIN_OPTIONS.items():
        value = getattr(config, name)
        if value is not None and CLI_DEFAULTS.get(name, object()) != value:
            argv += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    argv += [flag for name, flag in TRAIN_FLAGS.items() if getattr(config, name)]
    argv += [arg for flip, word in ((config.augment_flip, "flip"), (config.augment_crop, "crop")) if flip
             for arg in ("--augment", word)]
    for metric in config.metrics:
        argv += ["--metric", metric]
    for key, value in config.dataset_options.items():
        argv += ["--option", f"{key}={value}"]
    if config.procs:
        argv += ["--procs", str(config.procs)]
    return argv + ["--parent", parent, "--coach-fix", action, "--coach-finding", kind]


def untranslated(config: Any) -> list[str]:
    """Settings that differ from their defaults but that `neuralforge train` has no option for."""
    from neuralforge_desktop.core.training.config import TrainConfig

    default = TrainConfig()
    shown = set(TRAIN_OPTIONS) | set(TRAIN_FLAGS) | {"dataset", "augment_flip", "augment_crop", "metrics",
                                                      "dataset_options", "procs", "init"}
    return [f"{name} = {getattr(config, name)!r}" for name in config.to_json()
            if name not in shown and getattr(config, name) != getattr(default, name)]
