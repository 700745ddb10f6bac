"""Shape inference speed on a ~1,000-node residual network, against torch's own shape propagation.

Baseline (same process): build the same network with torch.nn on the ``meta`` device and run forward, which
is how one gets every shape out of PyTorch without computing anything. Prints figures, then one JSON line.
"""

from __future__ import annotations

import json
import statistics
import time

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph

BLOCKS = 142  # 7 nodes per residual block + stem/head ≈ 1,000 nodes
CHANNELS = 16


def residual_graph(blocks: int = BLOCKS) -> Graph:
    c = Composer("residual-1000")
    x = c.input("image", [3, 32, 32])
    x = c.layer("Conv2d", x, "stem", out_channels=CHANNELS, kernel_size=3, padding=1)
    for i in range(blocks):
        h = c.layer("Conv2d", x, f"b{i}_conv1", out_channels=CHANNELS, kernel_size=3, padding=1, bias=False)
        h = c.layer("BatchNorm2d", h, f"b{i}_bn1")
        h = c.layer("ReLU", h, f"b{i}_relu1")
        h = c.layer("Conv2d", h, f"b{i}_conv2", out_channels=CHANNELS, kernel_size=3, padding=1, bias=False)
        h = c.layer("BatchNorm2d", h, f"b{i}_bn2")
        s = c.layer("Add", [x, h], f"b{i}_add")
        x = c.layer("ReLU", s, f"b{i}_relu2")
    x = c.layer("GlobalAvgPool2d", x, "pool")
    x = c.layer("Linear", x, "fc", out_features=10)
    c.output(x, "logits")
    return c.done(layout=False)


def torch_meta_baseline(blocks: int = BLOCKS) -> float:
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(CHANNELS)
            self.conv2 = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(CHANNELS)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(x + self.bn2(self.conv2(h)))

    start = time.perf_counter()
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, CHANNELS, 3, padding=1), *[Block() for _ in range(blocks)],
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, 10))
        out = model(torch.empty(1, 3, 32, 32))
    assert tuple(out.shape) == (1, 10)
    return time.perf_counter() - start


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    graph = residual_graph()
    nodes = len(graph)
    engine = ShapeInference(graph)
    engine.run()  # warm the catalog and parameter caches, as the editor's are
    assert engine.ok, engine.errors[:3]
    full = best_of(engine.run, 15)
    cold = best_of(lambda: ShapeInference(graph).run(), 5)

    mid = BLOCKS // 2
    toggle = [3]

    def edit_conv() -> None:
        toggle[0] = 5 if toggle[0] == 3 else 3
        graph.set_param(f"b{mid}_conv1", "kernel_size", toggle[0])
        graph.set_param(f"b{mid}_conv1", "padding", toggle[0] // 2)
        engine.update([f"b{mid}_conv1"])

    incremental = best_of(edit_conv, 50)
    recomputed = len(engine.update([f"b{mid}_conv1"]))

    widths = [CHANNELS]

    def edit_width() -> None:
        widths[0] = 24 if widths[0] == CHANNELS else CHANNELS
        graph.set_param(f"b{mid}_conv1", "out_channels", widths[0])
        engine.update([f"b{mid}_conv1"])

    incremental_width = best_of(edit_width, 50)
    graph.set_param(f"b{mid}_conv1", "out_channels", 24)
    width_recomputed = len(engine.update([f"b{mid}_conv1"]))
    graph.set_param(f"b{mid}_conv1", "out_channels", CHANNELS)
    engine.update([f"b{mid}_conv1"])

    sizes = [32, 33]

    def edit_input() -> None:
        sizes.reverse()
        graph.set_param("image", "shape", [3, sizes[0], sizes[0]])
        engine.update(["image"])

    worst = best_of(edit_input, 10)
    baseline = statistics.median(torch_meta_baseline() for _ in range(3))
    figures = {
        "nodes": nodes,
        "full_ms": round(full * 1e3, 3),
        "full_cold_ms": round(cold * 1e3, 3),
        "incremental_ms": round(incremental * 1e3, 4),
        "incremental_nodes_recomputed": recomputed,
        "incremental_width_edit_ms": round(incremental_width * 1e3, 4),
        "incremental_width_nodes_recomputed": width_recomputed,
        "incremental_input_edit_ms": round(worst * 1e3, 3),
        "torch_meta_build_forward_ms": round(baseline * 1e3, 1),
        "speedup_full_vs_torch": round(baseline / full, 1),
        "speedup_incremental_vs_torch": round(baseline / incremental, 1),
        "targets": {"full_ms": 10, "incremental_ms": 1, "speedup": 100},
    }
    print(f"graph: {nodes} nodes (residual CNN, {BLOCKS} blocks)")
    print(f"full inference (warm caches): {figures['full_ms']} ms;  cold (new engine): {figures['full_cold_ms']} ms")
    print(f"incremental, one Conv2d edit: {figures['incremental_ms']} ms ({recomputed} nodes recomputed)")
    print(f"incremental, Conv2d width edit: {figures['incremental_width_edit_ms']} ms ({width_recomputed} nodes "
          "recomputed: the BatchNorm and ReLU after it; the next Conv2d's output is unchanged)")
    print(f"incremental, input shape edit (everything downstream): {figures['incremental_input_edit_ms']} ms")
    print(f"torch meta-device build + forward: {figures['torch_meta_build_forward_ms']} ms")
    print(f"speed-up vs torch: full {figures['speedup_full_vs_torch']}×, "
          f"incremental {figures['speedup_incremental_vs_torch']}×")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
