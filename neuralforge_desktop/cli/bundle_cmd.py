"""``neuralforge bundle export|import|inspect``: share a design with its runs as one ``.nfbundle`` file.

A bundle carries the graph file(s), the chosen runs with every metric point, their artifacts, model cards and
comments, each member checked against the manifest's sha256 on import (see docs/sharing.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EXAMPLES = """\
examples:
  neuralforge bundle export design.nfg -o design.nfbundle          (the graph and the runs trained from it)
  neuralforge bundle export vision --experiment baseline -o baseline.nfbundle
  neuralforge bundle export design.nfg --runs 3f2a9c1b0d4e 77c0e1aa9b12 -o two-runs.nfbundle
  neuralforge bundle inspect design.nfbundle
  neuralforge bundle import design.nfbundle --project review --graph-dir ~/designs
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    bundle = sub.add_parser("bundle", help="share a design with its runs, metrics, artifacts and comments as one file",
                            description="Export a graph file or a project (with chosen runs, their metrics, "
                            "artifacts, model cards and comments) as a portable .nfbundle; inspect one; import one "
                            "into your store.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="COMMAND", required=True)
    out = bsub.add_parser("export", help="write a bundle of a graph file or a project",
                          description="SOURCE is a graph file (.nfg: the graph and the runs trained from it) or a "
                          "project name (its runs and their graphs). --runs or --experiment choose the runs.")
    out.add_argument("source", metavar="PROJECT|GRAPH.nfg")
    out.add_argument("--runs", nargs="+", metavar="RUN", help="exactly these runs")
    out.add_argument("--experiment", metavar="NAME", help="the runs of this experiment")
    out.add_argument("-o", "--output", required=True, metavar="FILE.nfbundle", help="the bundle to write")
    out.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_store_arg(out)
    out.set_defaults(func=cmd_export)
    into = bsub.add_parser("import", help="import a bundle into the store",
                           description="Check every member against the manifest, then add the runs (with metrics, "
                           "artifacts and comments) to the store and write the graph file(s). Runs already in the "
                           "store (imported before, or exported from it) are not copied again; their new comments "
                           "are added.")
    into.add_argument("bundle", metavar="FILE.nfbundle")
    into.add_argument("--project", metavar="NAME", help="put the runs in this project (default: the bundle's)")
    into.add_argument("--graph-dir", metavar="DIR", default=".", help="where to write graph files (default: here)")
    into.add_argument("--json", action="store_true", help="the outcome as one JSON object")
    add_store_arg(into)
    into.set_defaults(func=cmd_import)
    show = bsub.add_parser("inspect", help="show what a bundle holds and check its checksums",
                           description="Show the manifest (who made it, when, which runs and graphs) and check "
                           "every member's sha256; exit 1 naming the first member that does not match.")
    show.add_argument("bundle", metavar="FILE.nfbundle")
    show.add_argument("--json", action="store_true", help="the manifest summary as one JSON object")
    show.set_defaults(func=cmd_inspect)


def _is_graph(source: str) -> bool:
    return source.endswith(".nfg") or Path(source).is_file()


def cmd_export(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.bundle import export_bundle

    graph = args.source if _is_graph(args.source) else None
    with open_store(args.store) as store:
        result = export_bundle(store, args.output, graph_path=graph, project=None if graph else args.source,
                               run_ids=args.runs, experiment=args.experiment, overwrite=args.force)
    print(f"wrote {result.path}: {plural(len(result.graphs), 'graph')}, {plural(len(result.runs), 'run')}, "
          f"{plural(result.artifacts, 'artifact')}, {plural(len(result.cards), 'model card')}, "
          f"{plural(result.comments, 'comment')}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.bundle_import import import_bundle

    with open_store(args.store) as store:
        result = import_bundle(store, args.bundle, project=args.project, graph_dir=args.graph_dir)
    if args.json:
        json.dump({"created": result.created, "existing": result.existing, "comments_added": result.comments_added,
                   "graphs_written": [str(p) for p in result.graphs_written],
                   "graphs_present": [str(p) for p in result.graphs_present], "cards": result.cards,
                   "notes": result.notes}, sys.stdout, indent=2)
        print()
        return 0
    for old, new in result.created.items():
        print(f"run {old} → {new} (new)")
    for old, new in result.existing.items():
        print(f"run {old} → {new} (already imported)")
    for path in result.graphs_written:
        print(f"graph written: {path}")
    for path in result.graphs_present:
        print(f"graph already there: {path}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"imported {plural(len(result.created), 'new run')}, {plural(result.comments_added, 'new comment')}"
          + (f", {plural(len(result.cards), 'model card')}" if result.cards else ""))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.team.bundle import describe
    from neuralforge_desktop.core.team.bundle_archive import BundleReader

    with BundleReader(args.bundle) as reader:
        reader.verify()
        summary = describe(reader.manifest)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    contents = summary.get("contents", {})
    when = dt.datetime.fromtimestamp(float(summary.get("created", 0))).strftime("%Y-%m-%d %H:%M")
    print(f"{Path(args.bundle).name}: bundle format {summary['version']}, NeuralForge {summary.get('neuralforge')}, "
          f"made by {summary.get('who')} on {when}; {summary['member_count']} members, {summary['bytes']:,} bytes; "
          "checksums OK")
    for graph in contents.get("graphs", []):
        print(f"  graph  {graph['member']}  ({graph.get('name')})")
    for run in contents.get("runs", []):
        print(f"  run    {run['id']}  {run['name']}  (experiment {run['experiment']})")
    for card in contents.get("cards", []):
        print(f"  card   {card['ref']}  (run {card['run_id']})")
    print(f"  {plural(int(contents.get('comments', 0)), 'comment')}")
    return 0
