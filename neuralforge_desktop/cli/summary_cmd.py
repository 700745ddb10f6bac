"""``neuralforge summary``: parameters, MACs/FLOPs, memory and latency of a graph."""

from __future__ import annotations

import argparse
import json
import sys

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import count, millis, nbytes, table
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.core.analysis.devices import DeviceProfile
from neuralforge_desktop.core.ir.graph import Graph

DEVICES = ("cpu", "t4", "a10g", "a100", "h100")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="parameters, MACs/FLOPs, memory and latency, per node",
                       description="Summarise GRAPH (a .nfg file or zoo:NAME): every node's output shape, "
                       "parameters and cost, and totals: MACs (FLOPs = 2 × MACs + elementwise work), "
                       "activations kept for backward in training and the peak at inference, training memory "
                       "(weights + gradients + Adam state + saved activations) and a latency estimate for a "
                       "device profile. --json adds saved_activation_bytes and peak_inference_activation_bytes "
                       "(at the batch size asked) beside the other totals.")
    p.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    p.add_argument("--batch-size", "-b", type=opt.positive_int, default=1, metavar="N", help="batch size (default 1)")
    p.add_argument("--device", "-d", choices=DEVICES, default="cpu",
                   help="latency profile: this machine's CPU (calibrated once, from real torch ops) or a GPU "
                   "spec sheet (a roofline: no GPU is measured here)")
    p.add_argument("--all", action="store_true", help="also list the nodes inside blocks")
    p.add_argument("--json", action="store_true", help="print JSON (totals and per-node rows)")
    p.set_defaults(func=cmd_summary)


def cmd_summary(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {args.batch_size}")
    graph = load_graph_arg(args.graph)
    return print_summary(graph, args.batch_size, args.device, show_all=args.all, as_json=args.json)


def _measured_note(profile: DeviceProfile) -> str:
    """For the measured CPU: when it was measured and how to measure it again."""
    from neuralforge_desktop.core.analysis.devices import measured_when

    when = measured_when(profile)
    what = "calibrated" if profile.calibration is not None else "measured"
    return f"  (CPU {what} {when}; `neuralforge calibrate` measures again)" if when else ""


def ensure_calibrated(quiet: bool = False) -> None:
    """Before a CPU estimate: calibrate this CPU once (notes on stderr, never on stdout)."""
    from neuralforge_desktop.core.measure.auto import ensure_calibrated as ensure

    ensure(None if quiet else (lambda text: print(text, file=sys.stderr, flush=True)))


def print_summary(graph: Graph, batch_size: int = 1, device: str = "cpu", *, show_all: bool = False,
                  as_json: bool = False, calibrate: bool = True) -> int:
    """Print ``graph``'s per-node shapes and costs and the totals; 1 when it has shape errors. ``calibrate``:
    calibrate this CPU first when it has no valid calibration (see ``core/measure/auto.py``)."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost
    from neuralforge_desktop.core.analysis.shapes import infer_shapes
    from neuralforge_desktop.core.measure.results import load_result, measured_line

    if device == "cpu" and calibrate:
        ensure_calibrated(quiet=as_json)
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, batch_size=batch_size, device=device)
    data = report.to_json()
    data["graph"] = graph.name
    data["errors"] = [d.to_json() for d in shapes.errors]
    measured = load_result(graph, batch_size, "cpu") if device == "cpu" and not shapes.errors else None
    data["measured"] = measured
    if as_json:
        print(json.dumps(data, indent=2))
        return 1 if shapes.errors else 0
    rows = []
    for row in data["nodes"]:
        if row["depth"] > 0 and not show_all:
            continue
        name = "  " * row["depth"] + row["path"].rsplit("/", 1)[-1]
        if row.get("repeat", 1) > 1:
            name += f" ×{row['repeat']}"
        rows.append([name, row["type"], row["output_shape"] or "", f"{row['params']:,}",
                     count(row["macs"]) if row["counted"] else "?", nbytes(row["activation_bytes"])])
    print(f"{graph.name}  (batch size {data['batch_size']}, device {data['device']})")
    print(table(["NODE", "TYPE", "OUTPUT", "PARAMS", "MACS", "ACTIVATIONS"], rows, right=[3, 4, 5]))
    print()
    print(f"params               {data['params']:,}  (trainable {data['trainable_params']:,}, "
          f"frozen {data['non_trainable_params']:,}; buffers {data['buffers']:,})")
    print(f"MACs                 {count(data['macs'])}   FLOPs {count(data['flops'])}  (FLOPs = 2 × MACs + "
          "elementwise)")
    print(f"activations          {nbytes(data['saved_activation_bytes'])} kept for backward in training, peak "
          f"{nbytes(data['peak_inference_activation_bytes'])} at inference (all outputs: "
          f"{nbytes(data['activation_bytes'])})")
    print(f"training memory      {nbytes(data['training_memory_bytes'])}  (weights {nbytes(data['weight_bytes'])} + "
          f"grads {nbytes(data['gradient_bytes'])} + Adam state {nbytes(data['optimizer_bytes'])} + saved "
          "activations)")
    print(f"latency estimate     {millis(data['latency_ms'])} on {data['device_profile'].get('name', device)}"
          f"{_measured_note(report.profile)}")
    print(f"latency model        {report.profile.latency_model}")
    if measured:
        print(f"                     {measured_line(measured, report.latency_ms)} by `neuralforge profile`")
    if data["uncounted"]:
        print(f"not costed           {', '.join(data['uncounted'])}")
    for d in shapes.errors:
        print(f"error: {d.message}")
    if shapes.errors:
        return 1
    return 0
