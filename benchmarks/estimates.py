"""How true the CPU latency estimate is: every zoo template at batch 1, estimated and measured in the same run.

First calibrates this CPU into a temporary file (``--use-saved`` uses the saved calibration instead), then for
each template: the estimate from that calibration, and the measured forward pass (the model built as training
builds it, eval mode under ``no_grad``, torch's default threads, warm-up, then the median of repeated runs; a
measurement waits for an idle machine first, and one that other programs disturbed anyway is repeated, up to
three times). The headline is the share of
templates whose estimate is within ±25 % of the measurement; none should be off by more than 2×.

Run from the repository root: ``python benchmarks/estimates.py [--use-saved] [--models a,b] [--nodes]``.
Prints the table, then one JSON object on the last line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis import calibration as calib
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.devices import load_average
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.measure.calibrate import calibrate
from neuralforge_desktop.core.measure.cpu_busy import is_busy, wait_until_idle
from neuralforge_desktop.core.measure.profile_graph import example_inputs, per_node_ms, time_runs

WITHIN = 0.25


def measure(name: str, budget: float, nodes: bool, wait: float) -> tuple[dict, dict[str, float]]:
    graph = zoo.build(name)
    shapes = ShapeInference(graph).run()
    torch.manual_seed(0)
    model = build_model(graph, shapes).eval()
    inputs = example_inputs(graph, shapes, 1, torch.device("cpu"))
    result: dict = {}
    for _ in range(3):
        others = wait_until_idle(wait)  # measure in a quiet moment: other programs stretch torch's ops
        if is_busy(others):
            print(f"  (still busy after waiting {wait:.0f} s: other programs use {others:.1f} cores)", flush=True)
        with torch.no_grad():
            result = time_runs(lambda: model(*inputs), torch.device("cpu"), budget=budget)
        if not result["busy"]:
            break
    per_node = per_node_ms(model, inputs, torch.device("cpu")) if nodes else {}
    return result, per_node


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-saved", action="store_true", help="estimate from the saved calibration")
    parser.add_argument("--models", default="", help="comma-separated zoo names (default: all)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timed runs per model")
    parser.add_argument("--nodes", action="store_true", help="also print estimated vs profiled time per node")
    parser.add_argument("--force", action="store_true", help="calibrate even on a busy machine")
    parser.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait for an idle machine before calibrating and before each model")
    args = parser.parse_args()

    started = time.time()
    path = calib.default_calibration_path()
    if not args.use_saved:
        path = Path(tempfile.mkdtemp()) / calib.FILE_NAME
        print(f"calibrating this CPU (load average {load_average()}) …", flush=True)
        calib.save_calibration(calibrate(wait=args.wait, force=args.force), path)
    calibration, reason = calib.read_calibration(path)
    if calibration is None:
        print(f"no calibration: {reason}", file=sys.stderr)
        return 1
    names = [n for n in args.models.split(",") if n] or [e.name for e in zoo.list_models()]
    rows = []
    loads = []
    print(f"{'model':<18}{'estimate ms':>12}{'measured ms':>13}{'ratio':>8}{'spread':>16}  load")
    for name in names:
        graph = zoo.build(name)
        report = estimate_cost(graph, batch_size=1, device="cpu", calibration_path=path)
        measured, per_node = measure(name, args.budget, args.nodes, args.wait)
        load = load_average()
        loads.append(load)
        ratio = report.latency_ms / measured["median"]
        rows.append({"model": name, "estimate_ms": round(report.latency_ms, 4),
                     "measured_ms": round(measured["median"], 4), "measured_min_ms": round(measured["min"], 4),
                     "ratio": round(ratio, 3), "other_cores": measured["other_cores"], "busy": measured["busy"]})
        print(f"{name:<18}{report.latency_ms:>12.3f}{measured['median']:>13.3f}{ratio:>8.2f}"
              f"{measured['min']:>8.3f}–{measured['p90']:<8.3f} {load}"
              + ("  (busy while measured)" if measured["busy"] else ""), flush=True)
        if args.nodes:
            for row in report.rows:
                if row.depth == 0 and (row.latency_ms > 0 or row.path in per_node):
                    got = per_node.get(row.path, 0.0)
                    print(f"    {row.path:<24}{row.type:<24}{row.latency_ms:>10.4f}{got:>10.4f}")
    within = [r for r in rows if abs(r["ratio"] - 1) <= WITHIN]
    worst = max(rows, key=lambda r: max(r["ratio"], 1 / r["ratio"]))
    print(f"\nwithin ±25 %: {len(within)} of {len(rows)} ({100 * len(within) / len(rows):.0f} %); worst "
          f"{worst['model']} ×{worst['ratio']:.2f}; calibrated {calib.measured_when(calibration)} "
          f"({calibration.meta.get('seconds')} s, load average then {calibration.meta.get('load_average')}), "
          f"measured at load averages {min(loads)}–{max(loads)}")
    print(json.dumps({"within_25pct": len(within), "models": len(rows),
                      "share_within_25pct": round(len(within) / len(rows), 3),
                      "beyond_2x": [r["model"] for r in rows if not 0.5 <= r["ratio"] <= 2.0],
                      "torch": torch.__version__, "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                      "calibration_seconds": calibration.meta.get("seconds"),
                      "calibration_load_average": calibration.meta.get("load_average"),
                      "seconds": round(time.time() - started, 1), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
