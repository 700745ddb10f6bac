"""``neuralforge report EXPERIMENT --format html|ipynb -o OUT``: an experiment as a page or a notebook."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

NEEDS = {"html": ("matplotlib",), "ipynb": ("nbformat",)}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="an experiment as a self-contained HTML page or a Jupyter notebook",
        description="Write a report on EXPERIMENT (its name or id). html: one self-contained file with the curves "
        "of every metric, the runs with their params and final metrics, the notes and each graph's diagram. "
        "ipynb: a notebook whose cells reload the runs from the store and re-draw the plots when run.",
        epilog="examples:\n  neuralforge report mnist-baseline --format html -o report.html\n"
        "  neuralforge report mnist-baseline --format ipynb -o mnist.ipynb --execute",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", metavar="EXPERIMENT")
    p.add_argument("--format", choices=("html", "ipynb"), default=None,
                   help="default: from the output's suffix (.html or .ipynb)")
    p.add_argument("-o", "--output", required=True, type=opt.output_file, metavar="OUT")
    p.add_argument("--execute", action="store_true", help="ipynb: run the notebook once so it opens with its plots")
    add_store_arg(p)
    p.set_defaults(func=cmd_report)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".")
    if suffix in ("html", "htm"):
        return "html"
    if suffix == "ipynb":
        return "ipynb"
    raise CliError(f"give --format html or ipynb (the output {Path(args.output).name!r} does not say which)")


def cmd_report(args: argparse.Namespace) -> int:
    kind = _format(args)
    missing = [m for m in NEEDS[kind] + (("nbclient",) if args.execute else ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise CliError(f"a {kind} report needs {', '.join(missing)}; install it with "
                       "`pip install 'neuralforge-desktop[report]'`", status=1)
    with open_store(args.store) as store:
        if kind == "html":
            from neuralforge_desktop.core.reports.html_report import write_html_report

            path = write_html_report(store, args.experiment, args.output)
        else:
            from neuralforge_desktop.core.reports.notebook_report import write_notebook_report

            path = write_notebook_report(store, args.experiment, args.output, execute=args.execute)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0
