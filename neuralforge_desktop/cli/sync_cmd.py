"""``neuralforge sync FILE.py GRAPH.nfg``: update a graph from edited model code, as the code view's Apply does."""

from __future__ import annotations

import argparse
import json

from neuralforge_desktop.cli.graph_source import CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="update a graph file from its edited PyTorch code",
                       description="Import FILE.py (its build_model(), or --name) as `neuralforge import` does and "
                       "change GRAPH.nfg by the smallest set of edits that makes its model what the code says: "
                       "unchanged nodes keep their ids and positions, nodes outside the model's forward (losses, "
                       "target inputs) stay. A file that does not import or run is reported with its line and the "
                       "graph is left as it was. Your code runs in this process.")
    p.add_argument("code", metavar="FILE.py", help="model code, e.g. what `neuralforge codegen GRAPH` wrote, edited")
    p.add_argument("graph", metavar="GRAPH.nfg", help="the graph file to update (written atomically)")
    p.add_argument("--name", default="build_model", help="the class or function in FILE.py (default build_model)")
    p.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neuralforge_desktop.core.importers.import_torch import import_torch
    from neuralforge_desktop.core.importers.sync import sync_plan
    from neuralforge_desktop.core.ir.serialize import GraphFileError, load_graph, save_graph

    target = Path(args.graph)
    if not target.is_file():
        raise CliError(f"no graph file {target}")
    try:
        graph = load_graph(target)
    except GraphFileError as exc:
        raise CliError(str(exc)) from None
    imported = import_torch(f"{args.code}:{args.name}").graph
    plan = sync_plan(graph, imported)
    if not plan.empty and not args.dry_run:
        plan.edit.apply(graph)
        save_graph(graph, target)
        from neuralforge_desktop.core.audit.events import graph_saved

        graph_saved(target, len(graph))
    if args.json:
        print(json.dumps({"changed": not plan.empty, "written": not plan.empty and not args.dry_run,
                          "changes": plan.lines}, indent=2))
        return 0
    if plan.empty:
        print(f"{target}: no change (the graph already is this code)")
        return 0
    for line in plan.lines:
        print(f"  {line}")
    print(f"{'would update' if args.dry_run else 'updated'} {target}: {len(plan.lines)} change(s)")
    return 0
