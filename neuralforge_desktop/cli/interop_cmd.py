"""``neuralforge runs export --to mlflow|tensorboard DIR`` and ``neuralforge runs import --from mlflow DIR``."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

NEEDS = {"mlflow": "mlflow", "tensorboard": "tensorboard"}


def add_parsers(rsub: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``import`` under ``neuralforge runs``."""
    export = rsub.add_parser(
        "export", help="write runs as an MLflow tracking directory or TensorBoard event files",
        description="Export runs (the RUN ids given, the runs of --experiment, or every run) to DIR. mlflow: a "
        "file-based MLflow tracking directory (`mlflow ui --backend-store-uri DIR`) with params, metrics with "
        "their steps and times, tags and artifacts; runs already there are skipped. tensorboard: one folder of "
        "event files per run (`tensorboard --logdir DIR`).")
    export.add_argument("--to", dest="to", choices=tuple(NEEDS), required=True)
    export.add_argument("directory", metavar="DIR")
    export.add_argument("runs", nargs="*", metavar="RUN")
    export.add_argument("--experiment", metavar="NAME", help="the runs of this experiment")
    add_store_arg(export)
    export.set_defaults(func=cmd_export)
    imp = rsub.add_parser(
        "import", help="bring in runs from an MLflow tracking directory",
        description="Import the runs of a file-based MLflow tracking directory into the store: params, every "
        "metric point, tags and artifacts, each MLflow experiment into the experiment of the same name. A run "
        "imported before is skipped.")
    imp.add_argument("--from", dest="source", choices=("mlflow",), required=True)
    imp.add_argument("directory", metavar="DIR")
    imp.add_argument("--experiment", action="append", default=[], metavar="NAME",
                     help="only this MLflow experiment (repeat for more)")
    add_store_arg(imp)
    imp.set_defaults(func=cmd_import)


def _require(tool: str) -> None:
    if importlib.util.find_spec(NEEDS[tool]) is None:
        raise CliError(f"this needs {tool}; install it with `pip install 'neuralforge-desktop[report]'`", status=1)


def _runs(store: Any, args: argparse.Namespace) -> list[Any]:
    from neuralforge_desktop.cli.train_cmds import find_run

    if args.runs:
        runs = [find_run(store, run_id) for run_id in args.runs]
        if args.experiment:
            runs = [r for r in runs if args.experiment in (r.experiment, r.experiment_id)]
    else:
        runs = store.list_runs(args.experiment) if args.experiment else store.list_runs()
    if not runs:
        raise CliError("no runs to export")
    return sorted(runs, key=lambda r: r.created)


def cmd_export(args: argparse.Namespace) -> int:
    _require(args.to)
    with open_store(args.store) as store:
        runs = _runs(store, args)
        if args.to == "mlflow":
            from neuralforge_desktop.core.interop.mlflow_export import export_to_mlflow

            summary = export_to_mlflow(store, args.directory, runs)
            skipped = f"; {len(summary.skipped)} already there" if summary.skipped else ""
            print(f"exported {len(summary.exported)} runs ({summary.points:,} metric points, {summary.artifacts} "
                  f"artifacts) to MLflow in {args.directory}{skipped}")
            print(f"view them: MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {args.directory}")
        else:
            from neuralforge_desktop.core.interop.tensorboard_export import export_to_tensorboard

            tb = export_to_tensorboard(store, args.directory, runs)
            print(f"exported {len(tb.folders)} runs ({tb.points:,} scalar points) to TensorBoard event files in "
                  f"{args.directory}")
            print(f"view them: tensorboard --logdir {args.directory}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _require("mlflow")
    from neuralforge_desktop.core.interop.mlflow_import import import_from_mlflow

    with open_store(args.store) as store:
        summary = import_from_mlflow(store, args.directory, args.experiment or None)
    skipped = f"; {len(summary.skipped)} imported before" if summary.skipped else ""
    print(f"imported {len(summary.imported)} runs ({summary.points:,} metric points, {summary.artifacts} artifacts) "
          f"from {args.directory}{skipped}")
    return 0
