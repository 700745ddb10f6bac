"""``neuralforge optimize``: a trained run quantised, pruned or distilled into a new run linked to it, with the
model before and after measured side by side (accuracy, size, parameters, MACs, latency in the target runtime)."""

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
  neuralforge optimize RUN --method quantize-static-int8
  neuralforge optimize RUN --method quantize-static-int8 --runtime litert --json
  neuralforge optimize RUN --method qat-int8 --finetune-epochs 1
  neuralforge optimize RUN --method prune-channels --sparsity 0.5 --finetune-epochs 1
  neuralforge optimize RUN --method distill --student small.nfg --temperature 4 --alpha 0.7"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from neuralforge_desktop.core.optimize.methods import DESCRIPTIONS
    from neuralforge_desktop.core.optimize.options import DEFAULT_CALIBRATION_SAMPLES, DEFAULT_LATENCY_RUNS, RUNTIMES

    width = max(map(len, DESCRIPTIONS))
    methods = "\n".join(f"  {name.ljust(width)}  {text}" for name, text in DESCRIPTIONS.items())
    p = sub.add_parser("optimize", help="quantise, prune or distil a trained run into a new, linked run",
                       description="Optimise the model of RUN (its best checkpoint) with METHOD. The result is a new\n"
                       "run in the same experiment, tagged parent_run=RUN and optimization=METHOD, holding the\n"
                       "optimised model file; the table compares the model before and after: validation\n"
                       "accuracy, size on disk, parameters, MACs and latency (batch 1) in the target runtime.",
                       epilog=EPILOG.format(methods=methods), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", type=opt.non_empty, help="a trained run in the store")
    p.add_argument("--method", required=True, metavar="METHOD", type=opt.non_empty, help="see the methods below")
    p.add_argument("--sparsity", type=opt.positive_float, metavar="S",
                   help="pruning: the share of weights or channels to remove, e.g. 0.5")
    p.add_argument("--target-macs", type=opt.positive_int, metavar="N",
                   help="channel pruning: prune until one example needs at most N MACs")
    p.add_argument("--finetune-epochs", type=opt.non_negative_int, default=1, metavar="N",
                   help="epochs of fine-tuning (qat-int8, pruning, distillation; default 1)")
    p.add_argument("--teacher", metavar="RUN", type=opt.non_empty, help="distillation: the teaching run")
    p.add_argument("--temperature", type=opt.positive_float, default=4.0, metavar="T",
                   help="distillation: softmax temperature (default 4)")
    p.add_argument("--alpha", type=opt.non_negative_float, default=0.5, metavar="A",
                   help="distillation: weight of the teacher's soft targets, 0 to 1 (default 0.5)")
    p.add_argument("--student", metavar="GRAPH", type=opt.non_empty, help="distillation: the student graph (.nfg)")
    p.add_argument("--calibration-samples", type=opt.positive_int, default=DEFAULT_CALIBRATION_SAMPLES,
                   metavar="N", help=f"static int8: training examples to calibrate on (default "
                                     f"{DEFAULT_CALIBRATION_SAMPLES})")
    p.add_argument("--runtime", default="onnxruntime", metavar="RUNTIME",
                   help=f"where the model runs and is timed: {' or '.join(RUNTIMES)} (default onnxruntime)")
    p.add_argument("--latency-runs", type=opt.positive_int, default=DEFAULT_LATENCY_RUNS, metavar="N",
                   help=f"timed runs per model; the median is reported (default {DEFAULT_LATENCY_RUNS})")
    p.add_argument("--output-dir", metavar="DIR", type=opt.non_empty,
                   help="where the model files go (default: the new run's folder beside the store)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_store_arg(p)
    p.set_defaults(func=cmd_optimize)


def cmd_optimize(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.optimize.methods import get_method
    from neuralforge_desktop.core.optimize.options import OptimizeOptions
    from neuralforge_desktop.core.optimize.result import format_table

    options = OptimizeOptions(
        method=args.method, target_sparsity=args.sparsity, target_macs=args.target_macs,
        finetune_epochs=args.finetune_epochs, teacher_run=args.teacher, temperature=args.temperature,
        alpha=args.alpha, student_graph=Path(args.student).expanduser() if args.student else None,
        calibration_samples=args.calibration_samples, runtime=args.runtime, latency_runs=args.latency_runs,
        output_dir=Path(args.output_dir).expanduser() if args.output_dir else None).validate()
    method = get_method(options.method)  # an unknown method is named before anything starts
    if not args.json:
        print(f"optimising run {args.run} with {args.method} …", file=sys.stderr)
    with open_store(args.store) as store:
        result = method(store, args.run, options)
    print(json.dumps(result.to_json(), indent=2) if args.json else format_table(result))
    return 0
