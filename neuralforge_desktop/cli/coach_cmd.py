"""``neuralforge coach RUN`` and ``neuralforge coach GRAPH --dataset D``: the training Coach's findings on a
recorded run, or on a graph with its settings before training. Findings are advice, not failures: the exit
status is 0 whatever is found, 1 when the run, the graph or the dataset cannot be read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, finding_text, open_store

DESCRIPTION = """\
The training Coach: findings about a run or a graph, each with its evidence and a fix.

  neuralforge coach RUN                      a recorded run (its metrics, its diagnostics, its data)
  neuralforge coach GRAPH --dataset NAME     a graph (.nfg or zoo:NAME) before training: the graph, the
                                             settings and the data, loaded as training would load them

Also lists the rules that could not be applied, and why (no diagnostics, no validation split …). Thresholds
can be changed in coach.json in NeuralForge's data folder. Exit status 0 whatever is found; 1 when the run, the
graph or the dataset cannot be read."""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coach", help="findings about a run or a graph, with evidence and fixes",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="RUN|GRAPH", type=opt.non_empty,
                   help="a run id, or a graph (.nfg file or zoo:NAME) with --dataset")
    p.add_argument("--dataset", type=opt.non_empty, metavar="NAME|PATH",
                   help="check GRAPH before training on this dataset (built-in name or path)")
    p.add_argument("--batch-size", type=opt.positive_int, default=64)
    p.add_argument("--limit", type=opt.positive_int, metavar="N", help="use at most N training examples")
    p.add_argument("--val-fraction", type=opt.fraction, default=0.1)
    p.add_argument("--no-normalize", action="store_true", help="check the inputs as given, not normalised")
    p.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE", help="a dataset loader option")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    add_store_arg(p)
    p.set_defaults(func=cmd_coach)


def looks_like_graph(text: str) -> bool:
    return text.startswith("zoo:") or text.endswith(".nfg") or Path(text).expanduser().is_file()


def cmd_coach(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.errors import UserError

    try:
        if args.dataset is not None:
            head, report = _graph_report(args)
        elif looks_like_graph(args.target):
            raise CliError(f"{args.target}: checking a graph needs --dataset NAME (the data it will train on)")
        else:
            head, report = _run_report(args)
    except CliError as exc:
        exc.status = 1  # a run, graph or dataset that cannot be read: the call itself was well formed
        raise
    except UserError as exc:
        raise CliError(" ".join(str(exc).split()), status=1) from None
    if args.json:
        print(json.dumps({**head, **report.to_json()}, indent=2, allow_nan=False))
        return 0
    print(_text(head, report))
    return 0


def _graph_report(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from neuralforge_desktop.cli.datasets_cmd import parse_options
    from neuralforge_desktop.cli.graph_source import load_graph_arg
    from neuralforge_desktop.cli.train_cmds import check_dataset
    from neuralforge_desktop.core.training.coach.static import static_check
    from neuralforge_desktop.core.training.config import ConfigError, TrainConfig

    graph = load_graph_arg(args.target)
    check_dataset(args.dataset)
    try:
        config = TrainConfig(dataset=args.dataset, batch_size=args.batch_size, limit=args.limit,
                             val_fraction=args.val_fraction, normalize=not args.no_normalize,
                             dataset_options=parse_options(args.option)).validate()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    head = {"graph": args.target, "dataset": args.dataset, "batch_size": args.batch_size, "status": "static"}
    return head, static_check(graph, config)


def _run_report(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from neuralforge_desktop.cli.train_cmds import find_run
    from neuralforge_desktop.core.training.coach.runs import run_report

    store = open_store(args.store)
    run = find_run(store, args.target)
    return {"run": run.id, "status": run.status}, run_report(store, run)


def _text(head: dict[str, Any], report: Any) -> str:
    what = (f"run {head['run']} ({head['status']})" if "run" in head else
            f"{head['graph']} on {head['dataset']} (batch size {head['batch_size']}), before training")
    lines = [f"{what}: {plural(len(report.findings), 'finding')}"]
    for finding in report.findings:
        lines += ["", finding_text(finding.to_json())]
    if report.not_applied:
        lines += ["", "not applied:"]
        width = max(len(n.kind) for n in report.not_applied)
        lines += [f"  {n.kind.ljust(width)}  {n.reason}" for n in report.not_applied]
    return "\n".join(lines)
