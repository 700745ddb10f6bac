"""Activation memory: the estimate against what torch really does, for zoo models at one batch size.

Two figures per model. Saved for backward: what the cost model says a training step keeps for the backward
pass, against the bytes ``torch.autograd.graph.saved_tensors_hooks`` sees autograd keep (each storage once,
parameters left out, the loss included). Peak at inference: the estimate against the most tensor memory the
product's model holds at once in an inference pass (a dispatch mode watching each kernel's outputs; fused
kernels' private workspaces are invisible to both).

Run from the repository root: ``python benchmarks/memory_estimates.py [--batch-size 32] [MODEL …]``. Prints a
table, then one JSON object on the last line. CPU only; ResNet-18 at batch 32 needs about 2 GB of memory.
"""

from __future__ import annotations

import argparse
import json
import time

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.memory_check import (
    example_inputs,
    measure_inference_peak,
    measure_training_step,
)
from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.build.torch_builder import build_model

MODELS = ["mnist-cnn", "resnet18", "transformer-text", "bert-tiny"]


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def measure(name: str, batch: int) -> dict[str, object]:
    graph = zoo.build(name)
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, batch_size=batch, device="cpu")
    started = time.perf_counter()
    saved = measure_training_step(graph, shapes, batch)
    peak = measure_inference_peak(build_model(graph, shapes), example_inputs(graph, shapes, batch))
    return {
        "model": name, "batch_size": batch,
        "saved_estimated": report.saved_activation_bytes, "saved_measured": saved,
        "saved_ratio": round(report.saved_activation_bytes / saved, 4),
        "peak_estimated": report.peak_inference_activation_bytes, "peak_measured": peak,
        "peak_ratio": round(report.peak_inference_activation_bytes / peak, 4),
        "all_outputs": report.activation_bytes, "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=MODELS, help="zoo ids (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    rows = [measure(name, args.batch_size) for name in args.models]
    header = f"{'model':18} {'saved: estimated':>17} {'measured':>12} {'ratio':>6}   {'peak: estimated':>16} " \
             f"{'measured':>12} {'ratio':>6}   {'all outputs':>12}"
    print(f"activation memory at batch {args.batch_size} (CPU kernels)")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:18} {mib(r['saved_estimated']):>17} {mib(r['saved_measured']):>12} "  # type: ignore[arg-type]
              f"{r['saved_ratio']:>6.3f}   {mib(r['peak_estimated']):>16} {mib(r['peak_measured']):>12} "  # type: ignore[arg-type]
              f"{r['peak_ratio']:>6.3f}   {mib(r['all_outputs']):>12}")  # type: ignore[arg-type]
    print(json.dumps({"benchmark": "memory_estimates", "batch_size": args.batch_size, "models": rows}))


if __name__ == "__main__":
    main()
