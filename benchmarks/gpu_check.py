"""On a CUDA machine: measured forward latency of zoo models against the cost model's estimate for that GPU.

Run from the repository root: ``python benchmarks/gpu_check.py [h100|a100|a10g|t4]``. Prints a table, then
one JSON object on the last line."""

from __future__ import annotations

import json
import sys

import torch

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.codegen.pytorch import index_high

CASES = [("mnist-cnn", 1), ("mnist-cnn", 256), ("resnet18", 1), ("resnet18", 32), ("resnet50", 32),
         ("bert-base", 8), ("vgg11", 16)]


def example(graph, batch: int):
    shapes = infer_shapes(graph)
    tensors = []
    for node in graph.input_nodes:
        if node.params.get("role", "data") != "data":
            continue
        spec = shapes.spec(node.id)
        dims = [batch if d == "N" else graph.symbols.get(d, d) if isinstance(d, str) else d for d in spec.shape]
        if spec.dtype.is_float:
            tensors.append(torch.randn(*dims, device="cuda"))
        else:
            tensors.append(torch.randint(0, index_high(graph, node.id), dims, device="cuda"))
    return tensors


def measure(model, inputs, repeats: int = 50) -> float:
    with torch.no_grad():
        for _ in range(10):
            model(*inputs)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            model(*inputs)
        end.record()
        torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "h100"
    rows = []
    for name, batch in CASES:
        graph = zoo.build(name)
        model = build_model(graph).cuda().eval()
        measured = measure(model, example(graph, batch))
        estimate = estimate_cost(graph, batch_size=batch, device=device).latency_ms
        rows.append({"model": name, "batch": batch, "measured_ms": round(measured, 3),
                     "estimate_ms": round(estimate, 3), "ratio": round(estimate / measured, 2)})
        print(f"{name:<10} batch {batch:>4}: measured {measured:8.3f} ms, estimate {estimate:8.3f} ms "
              f"(estimate/measured {estimate / measured:.2f})")
        del model
        torch.cuda.empty_cache()
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "profile": device, "torch": torch.__version__,
                      "rows": rows}))


if __name__ == "__main__":
    main()
