"""``neuralforge profile``: measure a graph's real latency in a worker process, beside the estimate."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.core.measure.results import format_ms

GPU_NAMES = {"t4": "T4", "a10g": "A10G", "a100": "A100", "h100": "H100"}  # profile → what CUDA names the card


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="measure a graph's latency and compare it with the estimate",
                       description="Build GRAPH (a .nfg file or zoo:NAME) in a worker process, time its forward "
                       "pass (eval mode, no_grad, torch's default threads; warm-up, then rounds of repeated runs, "
                       "the median of the quietest round) and one training step (forward, backward, Adam update), "
                       "time every node with the torch profiler, and print the estimate and the measurement side by "
                       "side with their ratio. The result is saved per graph, and `summary` and the app's Summary "
                       "show it beside the estimate.")
    p.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    p.add_argument("--batch-size", "-b", type=opt.positive_int, default=1, metavar="N", help="batch size (default 1)")
    p.add_argument("--device", "-d", choices=("cpu", "cuda"), default="cpu", help="where to run it (default cpu)")
    p.add_argument("--no-training", action="store_true", help="time the forward pass only")
    p.add_argument("--budget", type=opt.positive_float, default=2.0, metavar="SECONDS",
                   help="seconds of timed forward passes (default 2)")
    p.add_argument("--json", action="store_true", help="print the measurement and the estimate as JSON")
    p.set_defaults(func=cmd_profile)


def _estimate_device(result: dict[str, Any]) -> str | None:
    """The cost model's profile for the device the worker ran on (None: a GPU without a spec-sheet profile)."""
    if result["device"] == "cpu":
        return "cpu"
    name = str(result.get("device_name", "")).upper()
    return next((key for key, text in GPU_NAMES.items() if text in name), None)


def cmd_profile(args: argparse.Namespace) -> int:
    from neuralforge_desktop.cli.summary_cmd import ensure_calibrated
    from neuralforge_desktop.core.analysis.cost import estimate_cost
    from neuralforge_desktop.core.analysis.shapes import infer_shapes
    from neuralforge_desktop.core.measure.process import MeasureProcess, profile_args, write_graph

    graph = load_graph_arg(args.graph)
    shapes = infer_shapes(graph)
    if shapes.errors:
        raise CliError("the graph has errors; `neuralforge validate` lists them:\n  "
                       + "\n  ".join(d.message for d in shapes.errors), status=1)
    if args.device == "cpu":
        ensure_calibrated(quiet=args.json)
    graph_file = write_graph(graph)
    process = MeasureProcess(profile_args(graph_file, args.batch_size, args.device, training=not args.no_training,
                                          budget=args.budget)).start()
    last: dict[str, Any] = {}
    live = not args.json and sys.stderr.isatty()  # a progress line that rewrites itself, on a terminal only
    try:
        for event in process.events():
            if event["event"] == "progress":
                if live:
                    print(f"\r{event.get('text', '')[:70]:<70}", end="", file=sys.stderr, flush=True)
            else:
                last = event
    except KeyboardInterrupt:
        process.kill()
        raise
    finally:
        if live:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
        shutil.rmtree(graph_file.parent, ignore_errors=True)
    if last.get("event") != "measured":
        raise CliError(f"could not measure {graph.name}: {last.get('error', 'the worker stopped')}", status=1)
    result = last["result"]
    device = _estimate_device(result)
    report = estimate_cost(graph, shapes, batch_size=args.batch_size, device=device) if device else None
    if args.json:
        print(json.dumps({"measured": result, "saved_to": last.get("path"),
                          "estimate": report.to_json() if report else None}, indent=1))
        return 0
    print_comparison(graph.name, result, report, last.get("path", ""))
    return 0


def _ratio(estimate: float, measured: float) -> str:
    return f"×{estimate / measured:.2f}" if measured > 0 else "–"


def print_comparison(name: str, result: dict[str, Any], report: Any, path: str) -> None:
    forward = result["forward_ms"]
    nodes = result.get("nodes_ms", {})
    rows = []
    if report is not None:
        for row in report.rows:
            if row.depth > 0 or (row.latency_ms == 0 and row.path not in nodes):
                continue
            got = nodes.get(row.path)
            rows.append([row.path, row.type, format_ms(row.latency_ms), format_ms(got) if got is not None else "–",
                         _ratio(row.latency_ms, got) if got else "–"])
    print(f"{name}  (batch size {result['batch_size']}, {result['device_name']}, torch {result['torch']}, "
          f"{result['threads']} threads)")
    if rows:
        print(table(["NODE", "TYPE", "ESTIMATE", "MEASURED", "EST/MEAS"], rows, right=[2, 3, 4]))
        print("(per node: the torch profiler's times, scaled so the top-level nodes add up to the forward pass "
              "timed without it: the profiler's own cost inflates every op)")
        print()
    spread = (f"median of the quietest of {forward.get('rounds', 1)} rounds ({forward['reps']} runs after warm-up; "
              f"all runs: median {format_ms(forward.get('median_all', forward['median']))}, best "
              f"{format_ms(forward['min'])}, 90 % under {format_ms(forward['p90'])})")
    if report is not None:
        measured = forward["median"]
        print(f"forward pass         estimate {format_ms(report.latency_ms)}   measured {format_ms(measured)}   "
              f"estimate/measured {_ratio(report.latency_ms, measured)}")
        print(f"                     {spread}")
        print(f"latency model        {report.profile.latency_model}")
    else:
        print(f"forward pass         measured {format_ms(forward['median'])}; no spec-sheet profile for this GPU, "
              "so no estimate")
        print(f"                     {spread}")
    step = result.get("training_step_ms")
    if step:
        print(f"training step        measured {format_ms(step['median'])} (forward + backward + Adam, median of "
              f"{step['reps']})")
    elif result.get("training_error"):
        print(f"training step        not measured: {result['training_error']}")
    others = forward.get("other_cores")
    load = result.get("load_average")
    note = f"load average {load:.2f}" if isinstance(load, int | float) else "load average unknown"
    if others is not None:
        note += f"; other programs used {others:.2f} cores while timing"
    print(f"conditions           {note}")
    if forward.get("busy"):
        print("note: other programs kept the CPU busy while timing, so the measured times are likely too high")
    print(f"saved to             {path}")
