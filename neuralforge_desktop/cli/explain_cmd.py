"""``neuralforge explain``: why a trained run's model decides as it does, for one validation example or
aggregated over many, as PNG images in a folder (and, for a global explanation, the run's explanations.json)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

EPILOG = """\
methods:
{methods}

examples:
  neuralforge explain RUN --sample 3 --method ig -o explained
  neuralforge explain RUN --method gradcam --global 200 -o explained
  neuralforge explain RUN --sample 0 --method shap -o explained --json
  neuralforge explain RUN --method permutation -o explained"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from neuralforge_desktop.core.explain.methods import METHODS

    width = max(map(len, METHODS))
    methods = "\n".join(f"  {name.ljust(width)}  {text}" for name, (_, text) in METHODS.items())
    p = sub.add_parser("explain", help="explain a trained run's predictions (Captum, SHAP, attention maps)",
                       description="Explain the model of RUN (its best checkpoint) on its validation split: one\n"
                       "example (--sample I) or the first N aggregated (--global N). Images are written to OUT;\n"
                       "a global explanation is also kept with the run as explanations.json, for its model card.",
                       epilog=EPILOG.format(methods=methods), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", type=opt.non_empty, help="a trained run in the store")
    p.add_argument("--method", required=True, metavar="METHOD", choices=list(METHODS),
                   help=f"one of {', '.join(METHODS)} (see below)")
    p.add_argument("--sample", type=opt.non_negative_int, default=0, metavar="I",
                   help="the validation example to explain (default 0)")
    p.add_argument("--global", dest="global_count", type=opt.positive_int, metavar="N",
                   help="aggregate over the first N validation examples instead of one")
    p.add_argument("-o", "--output", required=True, metavar="OUT", type=opt.non_empty,
                   help="folder for the images (created when missing)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_store_arg(p)
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.explain import explain

    output = Path(args.output).expanduser()
    if output.exists() and not output.is_dir():
        from neuralforge_desktop.core.errors import UserError

        raise UserError(f"-o {args.output}: a file is there; give a folder for the images")
    if not args.json:
        what = f"the first {args.global_count} validation examples" if args.global_count else f"example {args.sample}"
        print(f"explaining run {args.run} ({args.method}, {what}) …", file=sys.stderr)
    with open_store(args.store) as store:
        found = explain(store, args.run, args.method, sample=args.sample, global_count=args.global_count,
                        output=output)
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
        return 0
    if found.prediction is not None:
        p = found.prediction
        truth = f"; true class {p['label_name']}" if "label_name" in p else ""
        print(f"example {found.sample}: predicted {p['name']} ({p['probability']:.1%}){truth}")
    for key, value in found.figures.items():
        if isinstance(value, int | float | str):
            print(f"{key}: {value}")
    for path in found.images:
        print(f"wrote {path}")
    return 0
