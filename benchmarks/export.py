"""ONNX export of the MNIST CNN and ResNet-18: size, parity, and onnxruntime's latency beside torch eager.

For each template (seeded initial weights): the export as ``neuralforge export`` makes it, in a worker process,
timed from start to end (torch imported, model built, converted, verified; no latency report) and in this
process through the same pipeline; then the exported file timed beside torch eager at batch 1 and 32 with the
export report's own harness (torch and onnxruntime take turns on the same inputs, the same rounds; medians),
after waiting for other programs to leave the CPU. The targets: onnxruntime no slower than torch eager
(ratio ≤ 1.0) at both batch sizes, and ResNet-18's export + verification under 30 s.

Run from the repository root: ``python benchmarks/export.py [--models mnist-cnn,resnet18] [--budget SECONDS]``.
Prints a table, then one JSON object on the last line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.devices import load_average
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.codegen.plan import plan_model
from neuralforge_desktop.core.exporters import latency
from neuralforge_desktop.core.exporters.onnx import session
from neuralforge_desktop.core.exporters.pipeline import ExportRequest, export_graph
from neuralforge_desktop.core.exporters.process import ExportProcess
from neuralforge_desktop.core.exporters.source import load_model, resolve_source
from neuralforge_desktop.core.exporters.verify import random_inputs
from neuralforge_desktop.core.measure.cpu_busy import wait_until_idle

BATCHES = (1, 32)
TARGET_EXPORT_SECONDS = 30.0


def worker_seconds(name: str, folder: Path) -> float:
    """Wall-clock seconds of the export as the CLI runs it: a worker process, from start to its result."""
    start = time.perf_counter()
    event = ExportProcess(ExportRequest(zoo.build(name), "onnx", folder / f"{name}-worker.onnx",
                                        latency_batches=())).start().run()
    if event.get("event") != "result":
        raise SystemExit(f"{name}: the export failed: {event.get('error')}")
    return time.perf_counter() - start


def bench(name: str, folder: Path, budget: float) -> dict:
    graph = zoo.build(name)
    in_worker = worker_seconds(name, folder)
    out = folder / f"{name}.onnx"
    report = export_graph(ExportRequest(graph, "onnx", out, latency_batches=()))
    worst = max(report.parity, key=lambda p: p["max_abs"])
    model = load_model(graph, resolve_source())
    plan = plan_model(graph, ShapeInference(graph).run())
    inputs = [(n.id, s) for n, s in zip(plan.input_nodes, plan.input_specs, strict=True)]
    others = wait_until_idle(120.0)
    timings = latency.measure(model, session(out), lambda b: random_inputs(graph, inputs, {"N": b, **graph.symbols}),
                              BATCHES, budget=budget, min_runs=10, max_runs=400)
    return {"size_bytes": report.size_bytes, "max_abs": worst["max_abs"], "mean_abs": worst["mean_abs"],
            "export_verify_s": round(report.seconds["total"], 2), "export_verify_worker_s": round(in_worker, 2),
            "route": report.facts.get("route"), "other_cores_before": others, "latency": timings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mnist-cnn,resnet18")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds of timed rounds per batch size")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            results[name] = bench(name, Path(tmp), args.budget)
    print(f"{'MODEL':<10} {'SIZE':>9} {'MAX |Δ|':>9} {'MEAN |Δ|':>9} {'EXPORT+VERIFY':>14}   "
          "LATENCY (ORT vs torch eager)")
    for name, r in results.items():
        lat = "; ".join(f"b{m['batch']}: {m['export_ms']:.3g} vs {m['torch_ms']:.3g} ms ({m['ratio']:.2f}×)"
                        for m in r["latency"])
        print(f"{name:<10} {r['size_bytes'] / 2**20:>7.1f}MB {r['max_abs']:>9.2g} {r['mean_abs']:>9.2g} "
              f"{r['export_verify_worker_s']:>12.1f} s   {lat}")
    ratios = [m["ratio"] for r in results.values() for m in r["latency"]]
    resnet = results.get("resnet18", {}).get("export_verify_worker_s")
    summary = {"models": results, "batches": list(BATCHES), "onnxruntime_not_slower": all(x <= 1.0 for x in ratios),
               "worst_ratio": max(ratios) if ratios else None, "resnet18_export_verify_s": resnet,
               "resnet18_under_30s": resnet is not None and resnet < TARGET_EXPORT_SECONDS,
               "load_average": load_average(), "cpus": os.cpu_count()}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
