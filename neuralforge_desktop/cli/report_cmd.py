"""``neuralforge report EXPERIMENT --format html|ipynb -o OUT``: an experiment as a page or a notebook;
``neuralforge report portfolio --period 2026-Q4 --format html|pdf -o OUT``: the executive portfolio report."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

NEEDS = {"html": ("matplotlib",), "ipynb": ("nbformat",), "pdf": ("matplotlib",)}
PORTFOLIO = "portfolio"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="an experiment as a self-contained HTML page or a Jupyter notebook",
        description="Write a report on EXPERIMENT (its name or id). html: one self-contained file with the curves "
        "of every metric, the runs with their params and final metrics, the notes and each graph's diagram. "
        "ipynb: a notebook whose cells reload the runs from the store and re-draw the plots when run."
        "\n\nportfolio: `report portfolio --period 2026-Q4` writes the executive report instead: spend against budget "
        "per project and month, models shipped, top risks and charts (html, or pdf).",
        epilog="examples:\n  neuralforge report mnist-baseline --format html -o report.html\n"
        "  neuralforge report mnist-baseline --format ipynb -o mnist.ipynb --execute\n"
        "  neuralforge report portfolio --period 2026-Q4 --format pdf -o q4.pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", metavar="EXPERIMENT", help="an experiment's name or id, or 'portfolio'")
    p.add_argument("--format", choices=("html", "ipynb", "pdf"), default=None,
                   help="default: from the output's suffix (.html, .ipynb or .pdf; pdf for the portfolio only)")
    p.add_argument("--period", metavar="PERIOD", help="portfolio: YYYY-MM, YYYY-Qn or YYYY (default: this quarter)")
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
    if suffix in ("ipynb", "pdf"):
        return suffix
    raise CliError(f"give --format html, ipynb or pdf (the output {Path(args.output).name!r} does not say which)")


def _is_portfolio(args: argparse.Namespace, store: object) -> bool:
    """``report portfolio`` is the portfolio report, unless an experiment of that name exists and no --period
    was given (an experiment called "portfolio" keeps its own report)."""
    from neuralforge_desktop.core.store.entities import NotFoundError

    if args.experiment != PORTFOLIO or args.period is not None:
        return args.experiment == PORTFOLIO
    try:
        store.get_experiment(PORTFOLIO)  # type: ignore[attr-defined]
    except NotFoundError:
        return True
    return False


def cmd_report(args: argparse.Namespace) -> int:
    kind = _format(args)
    with open_store(args.store) as store:
        portfolio = _is_portfolio(args, store)
    if portfolio:
        return _portfolio_report(args, kind)
    if args.period is not None:
        raise CliError("--period is for `neuralforge report portfolio`; an experiment report covers all its runs")
    if kind == "pdf":
        raise CliError("an experiment report is html or ipynb; pdf is for `neuralforge report portfolio`")
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


def _portfolio_report(args: argparse.Namespace, kind: str) -> int:
    import time

    from neuralforge_desktop.core.reports.portfolio_report import write_portfolio_report
    from neuralforge_desktop.core.team.spend import month_of, parse_period

    if kind == "ipynb":
        raise CliError("the portfolio report is html or pdf")
    if importlib.util.find_spec("matplotlib") is None:
        raise CliError("the portfolio report needs matplotlib; install it with "
                       "`pip install 'neuralforge-desktop[report]'`", status=1)
    if args.period is None:
        this = month_of(time.time()).label
        period = parse_period(f"{this[:4]}-Q{(int(this[5:7]) - 1) // 3 + 1}")
    else:
        period = parse_period(args.period)
    with open_store(args.store) as store:
        path, pages = write_portfolio_report(store, period, args.output, fmt=kind)
    pages_text = f", {pages} page{'s' if pages != 1 else ''}" if kind == "pdf" else ""
    print(f"wrote {path} ({path.stat().st_size:,} bytes{pages_text}): portfolio report for {period.label}")
    return 0
