"""``neuralforge lineage PREDICTION_ID | NAME@V | RUN`` and ``neuralforge lineage --dataset NAME|FINGERPRINT``:
where a model came from, and what a dataset was used for.

The same lineage shows in the app (View ▸ Lineage), drawn as a graph whose nodes open the run, model or file."""

from __future__ import annotations

import argparse
import json

from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store
from neuralforge_desktop.core.errors import UserError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lineage", help="where a prediction, model version or run came from; what used a dataset",
                       description="Walk back from a served prediction id (the prediction_id a served answer "
                       "carries), a registered version NAME@V or a run id to the model version, the run, its parent "
                       "runs (optimisation, retrain, seed repeat), the graph (sha256), the dataset fingerprint, the "
                       "code (NeuralForge version and the git commit of the graph's folder) and the run's settings "
                       "and environment. With --dataset, walk forward from a dataset (name or fingerprint) to every "
                       "run trained on it and every version registered from them.",
                       epilog="examples:\n  neuralforge lineage 3f2a…e9 (a prediction id)\n"
                       "  neuralforge lineage mnist@2 --json\n  neuralforge lineage --dataset mnist-10k",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ref", nargs="?", metavar="PREDICTION_ID|NAME@V|RUN")
    p.add_argument("--dataset", metavar="NAME|FINGERPRINT", help="walk forward from this dataset instead")
    p.add_argument("--json", action="store_true", help="print the lineage graph as JSON (nodes and edges)")
    add_store_arg(p)
    p.set_defaults(func=cmd_lineage)


def cmd_lineage(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.lineage import ACCEPTED_REFS, lineage_of, lineage_of_dataset

    if (args.ref is None) == (args.dataset is None):
        raise UserError(f"lineage: give one of {', '.join(ACCEPTED_REFS)}, or --dataset NAME|FINGERPRINT")
    with open_store(args.store) as store:
        lineage = lineage_of_dataset(store, args.dataset) if args.dataset else lineage_of(store, args.ref)
    if args.json:
        print(json.dumps(lineage.to_json(), indent=2))
    else:
        print(lineage.render_text())
    return 0
