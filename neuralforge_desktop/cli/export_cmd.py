"""``neuralforge export``: a graph with its weights to ONNX, TFLite or Core ML, verified against torch, in a worker
process; the report is printed (or, with --json, printed as JSON) and stored with the run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.graph_source import load_graph_arg
from neuralforge_desktop.cli.train_cmds import add_store_arg
from neuralforge_desktop.core.errors import UserError

EPILOG = """\
examples:
  neuralforge export zoo:mnist-cnn --run RUN --format onnx -o mnist.onnx
  neuralforge export model.nfg --weights model.safetensors --format onnx -o model.onnx --json
  neuralforge export zoo:resnet18 --format onnx -o resnet18.onnx      (seeded initial weights: shapes only)"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model to ONNX, TFLite or Core ML, verified against torch",
                       description="Export GRAPH (a .nfg file or zoo:NAME) with the weights of a run (its best\n"
                       "checkpoint) or of a safetensors file, or with its seeded initial weights when neither is\n"
                       "given. The export runs in a worker process; the file is verified against torch on the\n"
                       "same inputs (seeded random ones, and real examples from the run's dataset), timed beside\n"
                       "torch on this CPU, written atomically, and recorded as an artifact of the run.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", metavar="GRAPH", type=opt.non_empty, help="a .nfg file or zoo:NAME")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--run", metavar="RUN", type=opt.non_empty, help="a run in the store: its best checkpoint")
    weights.add_argument("--weights", metavar="FILE", type=opt.non_empty, help="a .safetensors weights file")
    p.add_argument("--format", metavar="FORMAT", help="onnx, tflite or coreml")
    p.add_argument("--precision", default="fp32", metavar="PRECISION",
                   help="fp32 (default), fp16, int8-weights or int8, as the format offers")
    p.add_argument("-o", "--output", type=opt.non_empty, metavar="OUT", help="the file to write")
    p.add_argument("--check", action="store_true",
                   help="export nothing: print which targets and precisions take this graph, naming the nodes "
                        "each one refuses (with --format, that format only)")
    p.add_argument("--no-verify", action="store_true", help="skip verification against torch")
    p.add_argument("--calibration", metavar="DATASET", type=opt.non_empty,
                   help="a dataset (name or path) for real examples: int8 calibration and verification")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_store_arg(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.exporters.base import ExportError
    from neuralforge_desktop.core.exporters.pipeline import ExportRequest
    from neuralforge_desktop.core.exporters.process import ExportProcess
    from neuralforge_desktop.core.exporters.report import ExportReport

    graph = load_graph_arg(args.graph)
    if args.check:
        return check_graph_support(graph, args.format, args.json)
    for flag, value in (("--format", args.format), ("-o/--output", args.output)):
        if not value:
            raise UserError(f"export needs {flag} (or --check to see which targets take the graph)")
    request = ExportRequest(graph=graph, format=args.format, output=Path(args.output).expanduser(),
                            precision=args.precision, run_id=args.run,
                            weights=Path(args.weights).expanduser() if args.weights else None,
                            store=Path(args.store).expanduser() if args.store else None, verify=not args.no_verify,
                            calibration=args.calibration)
    _stop_on_terminate()
    process = ExportProcess(request).start()
    if request.run_id is None and request.weights is None:
        print("note: no --run or --weights: exporting the seeded initial weights (seed 0), untrained; fine for "
              "checking shapes and speed, not for predictions", file=sys.stderr)
    last = _follow(process, live=not args.json and sys.stderr.isatty())
    if last.get("event") != "result":
        raise ExportError(_failure_text(last))
    report = ExportReport.from_json(last["report"])
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report)
    return 0


def check_graph_support(graph: Any, only: str | None, as_json: bool) -> int:
    """``export --check``: every target × precision, and the nodes each refuses (exit 1 when one refuses)."""
    from neuralforge_desktop.core.exporters.registry import get_format
    from neuralforge_desktop.core.exporters.support import graph_support

    if only:
        get_format(only)  # an unknown format: the registry's one-line error
    table = {key: nodes for key, nodes in graph_support(graph).items() if not only or key[0] == only}
    if as_json:
        print(json.dumps([{"format": fmt, "precision": precision, "exports": not nodes,
                           "refused": [{"node": node, "reason": reason, "suggestion": suggestion}
                                       for node, reason, suggestion in nodes]}
                          for (fmt, precision), nodes in table.items()], indent=2))
    else:
        print(f"{graph.name}: which export targets take it")
        for (fmt, precision), nodes in table.items():
            print(f"  {fmt:<7} {precision:<13} {'yes' if not nodes else 'no'}")
            for node in nodes:
                print(f"      {_refusal_text(node)}")
    return 0 if all(not nodes for nodes in table.values()) else 1


def _refusal_text(refused: tuple[str, str, str]) -> str:
    node_id, reason, suggestion = refused
    return f"'{node_id}': {reason}" + (f" (instead: {suggestion})" if suggestion else "")


def _stop_on_terminate() -> None:
    """SIGTERM (a closing terminal, ``kill``) cancels as Ctrl+C does: the worker is killed and its temporary
    folder removed, rather than this process vanishing and leaving both."""
    import signal
    import threading

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _follow(process: Any, live: bool) -> dict[str, Any]:
    last: dict[str, Any] = {}
    try:
        for event in process.events():
            if event["event"] == "progress":
                if live:
                    print(f"\r{event.get('text', '')[:70]:<70}", end="", file=sys.stderr, flush=True)
            else:
                last = event
    except KeyboardInterrupt:
        process.kill()  # nothing half-written stays: the worker's temporary folder goes with it
        raise
    finally:
        if live:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return last


def _failure_text(event: dict[str, Any]) -> str:
    error = str(event.get("error") or "the export worker stopped without a result")
    if event.get("user_error"):
        return error.splitlines()[0] if error.strip() else error
    detail = event.get("traceback") or event.get("stderr") or ""
    if detail:
        print(detail.rstrip(), file=sys.stderr)
    return f"export failed: {error.splitlines()[0] if error.strip() else error}"


def print_report(report: Any) -> None:
    from neuralforge_desktop.core.exporters.report import size_text

    print(f"exported {report.output} ({report.title} {report.precision}, {size_text(report.size_bytes)}) from "
          f"{report.source.get('description', '')}")
    facts = report.facts
    if facts.get("route"):
        axes = sorted({name for axes in facts.get("dynamic_axes", {}).values() for name in axes.values()})
        print(f"  {facts['route']}" + (f", opset {facts['opset']}" if facts.get("opset") else "")
              + f"; dynamic axes: {', '.join(axes) or 'none'}")
    if report.verification == "parity":
        tolerance = report.tolerance
        print(f"  verified against torch: {report.parity_text()} (tolerance: max |Δ| ≤ {tolerance.get('max_abs'):g}, "
              f"mean |Δ| ≤ {tolerance.get('mean_abs'):g})")
        for p in report.parity:
            top1 = f", top-1 {p['top1']:.2%}" if p.get("top1") is not None else ""
            scale = p.get("scale", 1.0)
            scaled = f" (outputs up to {scale:.3g}: the tolerance ×{scale:.3g})" if scale > 1 else ""
            print(f"    {p['inputs']}: max |Δ| {p['max_abs']:.3g}, mean |Δ| {p['mean_abs']:.3g}{top1}{scaled}")
    elif report.verification == "structure":
        print("  structure checked (this file cannot run here): " + ", ".join(f"{k} {v}" for k, v in
                                                                          report.checks.items()))
    else:
        print("  not verified")
    for m in report.latency:
        print(f"  latency, batch {m['batch']}: {report.title} {m['export_ms']:.3g} ms, torch eager "
              f"{m['torch_ms']:.3g} ms ({m['ratio']:.2f}×; median of {m['runs']} runs on this CPU)"
              + (f"; other programs used {m['other_cores']:.1f} cores meanwhile" if m.get("busy") else ""))
    for note in report.notes:
        print(f"  note: {note}")
    if report.artifacts:
        print(f"  recorded with run {report.source.get('run_id')} as {', '.join(report.artifacts)}")
    seconds = report.seconds
    print(f"  took {seconds.get('total', 0):.1f} s (convert {seconds.get('convert', 0):.1f} s, verify "
          f"{seconds.get('verify', 0):.1f} s, timing {seconds.get('latency', 0):.1f} s)")
