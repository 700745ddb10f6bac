"""How true the CPU latency estimate is: every zoo template at batch 1, estimated and measured in the same run.

First calibrates this CPU into a temporary file (``--use-saved`` uses the saved calibration instead), then for
each template: the estimate from that calibration, and the measured forward pass (the model built as training
builds it, eval mode under ``no_grad``, torch's default threads, warm-up, then rounds of repeated runs; every
template is timed once per round, so a disturbance spreads over all of them, and its figure is the median of its
quietest round that other programs did not visibly disturb; each round waits for an idle machine first). The
headline is the share of templates whose estimate is within ±25 % of the measurement; none should be off by
more than 2×.

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


class Measured:
    """One template, built as training builds it, timed over several rounds interleaved with the others."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.graph = zoo.build(name)
        shapes = ShapeInference(self.graph).run()
        torch.manual_seed(0)
        self.model = build_model(self.graph, shapes).eval()
        self.inputs = example_inputs(self.graph, shapes, 1, torch.device("cpu"))
        self.rounds: list[dict] = []

    def time_round(self, budget: float) -> None:
        with torch.no_grad():
            self.rounds.append(time_runs(lambda: self.model(*self.inputs), torch.device("cpu"), budget=budget,
                                         rounds=1, max_reps=200))

    def result(self) -> dict:
        """The quietest undisturbed round (any round when all were disturbed)."""
        quiet = [r for r in self.rounds if not r["busy"]] or self.rounds
        best = min(quiet, key=lambda r: r["median"])
        return {**best, "rounds": len(self.rounds), "busy": not any(not r["busy"] for r in self.rounds),
                "round_medians": [round(r["median"], 4) for r in self.rounds]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-saved", action="store_true", help="estimate from the saved calibration")
    parser.add_argument("--models", default="", help="comma-separated zoo names (default: all)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed runs per model, all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="measuring rounds over all the templates")
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
    models = [Measured(name) for name in names]
    loads = []
    for round_number in range(args.rounds):  # every template once per round: disturbances spread over all
        for model in models:
            others = wait_until_idle(args.wait, probe=0.3)
            if is_busy(others):
                print(f"  (still busy after waiting {args.wait:.0f} s: other programs use {others:.1f} cores)")
            model.time_round(args.budget / args.rounds)
            loads.append(load_average())
        print(f"  measured round {round_number + 1} of {args.rounds} (load average {load_average()})", flush=True)
    rows = []
    print(f"{'model':<18}{'estimate ms':>12}{'measured ms':>13}{'ratio':>8}{'spread':>16}  round medians")
    for model in models:
        name, graph = model.name, model.graph
        report = estimate_cost(graph, batch_size=1, device="cpu", calibration_path=path)
        measured = model.result()
        per_node = per_node_ms(model.model, model.inputs, torch.device("cpu")) if args.nodes else {}
        ratio = report.latency_ms / measured["median"]
        rows.append({"model": name, "estimate_ms": round(report.latency_ms, 4),
                     "measured_ms": round(measured["median"], 4), "measured_min_ms": round(measured["min"], 4),
                     "ratio": round(ratio, 3), "other_cores": measured["other_cores"], "busy": measured["busy"],
                     "round_medians_ms": measured["round_medians"]})
        print(f"{name:<18}{report.latency_ms:>12.3f}{measured['median']:>13.3f}{ratio:>8.2f}"
              f"{measured['min']:>8.3f}–{measured['p90']:<8.3f} {measured['round_medians']}"
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
