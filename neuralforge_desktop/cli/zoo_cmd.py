"""``neuralforge zoo list`` and ``neuralforge new``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import count, fit, plural, terminal_width
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.layout import ORIENTATIONS, Orientation


def add_parsers(sub: argparse._SubParsersAction) -> None:
    zoo = sub.add_parser("zoo", help="architecture templates (ResNet, BERT, GPT-2 …)",
                         description="Architecture templates to start from. They carry no weights.")
    zsub = zoo.add_subparsers(dest="zoo_command", metavar="COMMAND", required=True)
    ls = zsub.add_parser("list", help="list the templates", description="List the architecture templates.")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_zoo_list)

    new = sub.add_parser("new", help="create a graph file from a template",
                         description="Create a new .nfg graph file from a zoo template.")
    new.add_argument("--template", "-t", required=True, metavar="NAME", help="zoo template name (see `zoo list`)")
    new.add_argument("-o", "--output", required=True, type=opt.output_file, metavar="FILE",
                     help="the .nfg file to write")
    new.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    new.add_argument("--layout", choices=ORIENTATIONS, default="wrapped",
                     help="how the nodes are placed: wrapped rows that fit the editor's canvas (default), one row "
                     "left to right, or one column top to bottom")
    new.set_defaults(func=cmd_new)


def cmd_zoo_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import zoo

    entries = zoo.list_models()
    if args.json:
        print(json.dumps([{"name": e.name, "title": e.title, "task": e.task, "description": e.description,
                           "reference_params": e.reference_params, "reference": e.reference}
                          for e in entries], indent=2))
        return 0
    from neuralforge_desktop.cli.fmt import table

    rows = [[e.name, e.task, count(e.reference_params) if e.reference_params else "", e.description]
            for e in entries]
    # the description column takes what the terminal has left (as `rich` tables do); --json has it whole
    used = sum(max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(["NAME", "TASK", "PARAMS"]))
    for row in rows:
        row[3] = fit(row[3], max(terminal_width() - used, 20))
    print(table(["NAME", "TASK", "PARAMS", "DESCRIPTION"], rows, right=[2]))
    print("\nStart from one:  neuralforge new --template NAME -o my-model.nfg")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    new_from_template(args.template, Path(args.output), force=args.force, layout=args.layout)
    return 0


def new_from_template(template: str, path: Path, *, force: bool = False, layout: Orientation = "wrapped") -> Graph:
    """Write the zoo template ``template`` to the graph file ``path``, its nodes placed as ``layout`` says (so
    it opens readable in the editor), and say so; returns the graph."""
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.ir.layout import EDITOR_AREA, layout_positions
    from neuralforge_desktop.core.ir.serialize import save_graph

    if path.exists() and not force:
        raise CliError(f"{path} exists; pass --force to overwrite it")
    if path.suffix != ".nfg":
        raise CliError(f"{path}: graph files end in .nfg")
    try:
        graph = zoo.build(template)
    except KeyError:
        names = ", ".join(e.name for e in zoo.list_models())
        raise CliError(f"no zoo template {template!r}; available: {names}") from None
    for node_id, position in layout_positions(graph, orientation=layout, area=EDITOR_AREA).items():
        graph.nodes[node_id].position = position
    save_graph(graph, path)
    from neuralforge_desktop.core.audit.events import graph_saved

    graph_saved(path, len(graph))
    print(f"wrote {path} ({plural(len(graph), 'node')}, from template {template})")
    print(f"next:  neuralforge summary {path}")
    return graph
