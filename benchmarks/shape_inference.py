"""Shape inference speed on a ~1,000-node residual network, against torch's own shape propagation.

Headline, cold against cold: each round builds a NEW graph object (untimed: that is the design the user already
has) and times a NEW ``ShapeInference`` engine inferring every node; the baseline round times building the same
network with ``torch.nn`` on the ``meta`` device and running forward, which is how one gets every shape out of
PyTorch without computing anything. Both sides get one untimed warm-up round (imports, the catalog, torch's
dispatcher), then the SAME number of rounds, interleaved, in this process; medians are compared.

Also measured (medians): a full re-run of a warm engine and incremental edits. Prints figures, then one JSON
object on the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph

BLOCKS = 142  # 7 nodes per residual block + stem/head ≈ 1,000 nodes
CHANNELS = 16
ROUNDS = 15  # cold rounds on each side
EDITS = 51  # incremental edits timed per kind
TARGET_COLD_MS = 10.0
TARGET_SPEEDUP = 100.0


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


def torch_meta_round(blocks: int = BLOCKS) -> tuple[float, float]:
    """Seconds (wall, CPU) to build the network on the meta device and run forward (every shape, nothing computed)."""
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

    start, start_cpu = time.perf_counter(), time.process_time()
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, CHANNELS, 3, padding=1), *[Block() for _ in range(blocks)],
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, 10))
        out = model(torch.empty(1, 3, 32, 32))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    assert tuple(out.shape) == (1, 10)
    return elapsed, cpu


def cold_round() -> tuple[float, float]:
    """Seconds (wall, CPU) for a new engine to infer a new graph object (built before the clock starts)."""
    graph = residual_graph()
    start, start_cpu = time.perf_counter(), time.process_time()
    engine = ShapeInference(graph).run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    assert engine.ok and engine.spec("fc") is not None
    return elapsed, cpu


def medians_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main() -> None:
    cold_round()  # warm-up, discarded: imports, the catalog's per-type tables
    torch_meta_round()  # warm-up, discarded: importing torch, its dispatcher
    ours: list[float] = []
    torch_ms: list[float] = []
    ours_cpu: list[float] = []
    torch_cpu: list[float] = []
    for _ in range(ROUNDS):  # interleaved, so a burst of load hits both sides alike
        wall, cpu = cold_round()
        ours.append(wall * 1e3)
        ours_cpu.append(cpu * 1e3)
        wall, cpu = torch_meta_round()
        torch_ms.append(wall * 1e3)
        torch_cpu.append(cpu * 1e3)
    cold = statistics.median(ours)
    baseline = statistics.median(torch_ms)
    cold_cpu, baseline_cpu = statistics.median(ours_cpu), statistics.median(torch_cpu)
    ratios = [t / o for o, t in zip(ours, torch_ms, strict=True)]

    graph = residual_graph()
    nodes = len(graph)
    engine = ShapeInference(graph).run()
    full = medians_ms(engine.run, ROUNDS)

    mid = BLOCKS // 2
    toggle = [3]

    def edit_conv() -> None:
        toggle[0] = 5 if toggle[0] == 3 else 3
        graph.set_param(f"b{mid}_conv1", "kernel_size", toggle[0])
        graph.set_param(f"b{mid}_conv1", "padding", toggle[0] // 2)
        engine.update([f"b{mid}_conv1"])

    incremental = medians_ms(edit_conv, EDITS)
    recomputed = len(engine.update([f"b{mid}_conv1"]))

    widths = [CHANNELS]

    def edit_width() -> None:
        widths[0] = 24 if widths[0] == CHANNELS else CHANNELS
        graph.set_param(f"b{mid}_conv1", "out_channels", widths[0])
        engine.update([f"b{mid}_conv1"])

    incremental_width = medians_ms(edit_width, EDITS)
    graph.set_param(f"b{mid}_conv1", "out_channels", CHANNELS)
    engine.update([f"b{mid}_conv1"])
    graph.set_param(f"b{mid}_conv1", "out_channels", 24)
    width_recomputed = len(engine.update([f"b{mid}_conv1"]))
    graph.set_param(f"b{mid}_conv1", "out_channels", CHANNELS)
    engine.update([f"b{mid}_conv1"])

    sizes = [32, 33]

    def edit_input() -> None:
        sizes.reverse()
        graph.set_param("image", "shape", [3, sizes[0], sizes[0]])
        engine.update(["image"])

    worst = medians_ms(edit_input, 11)
    figures = {
        "benchmark": "shape_inference",
        "nodes": nodes,
        "rounds": ROUNDS,
        "cold_ms": round(cold, 3),
        "cold_ms_spread": spread(ours),
        "torch_meta_build_forward_ms": round(baseline, 1),
        "torch_meta_ms_spread": spread(torch_ms),
        "speedup_cold_vs_torch": round(baseline / cold, 1),
        "speedup_per_round": spread(ratios),
        "cold_cpu_ms": round(cold_cpu, 3),
        "torch_meta_cpu_ms": round(baseline_cpu, 1),
        "speedup_cold_vs_torch_cpu": round(baseline_cpu / cold_cpu, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "full_warm_engine_ms": round(full, 3),
        "incremental_ms": round(incremental, 4),
        "incremental_nodes_recomputed": recomputed,
        "incremental_width_edit_ms": round(incremental_width, 4),
        "incremental_width_nodes_recomputed": width_recomputed,
        "incremental_input_edit_ms": round(worst, 3),
        "targets": {"cold_ms": TARGET_COLD_MS, "incremental_ms": 1, "speedup": TARGET_SPEEDUP},
        "ok": cold <= TARGET_COLD_MS and baseline / cold >= TARGET_SPEEDUP,
    }
    print(f"graph: {nodes} nodes (residual CNN, {BLOCKS} blocks); {ROUNDS} cold rounds per side, interleaved")
    print(f"cold (new graph object, new engine): median {cold:.2f} ms (min {min(ours):.2f}, max {max(ours):.2f}; "
          f"target ≤ {TARGET_COLD_MS:.0f} ms)")
    print(f"torch meta-device build + forward:   median {baseline:.1f} ms (min {min(torch_ms):.1f}, "
          f"max {max(torch_ms):.1f})")
    print(f"speed-up, cold vs cold: {figures['speedup_cold_vs_torch']}× (ratio of medians; per round "
          f"min {min(ratios):.0f}×, median {statistics.median(ratios):.0f}×, max {max(ratios):.0f}×; "
          f"target ≥ {TARGET_SPEEDUP:.0f}×)")
    print(f"in process CPU time (steadier on a busy machine): cold {cold_cpu:.2f} ms, torch {baseline_cpu:.1f} ms, "
          f"{baseline_cpu / cold_cpu:.1f}×; load average {os.getloadavg()[0]:.1f}")
    print(f"full re-run of a warm engine: {full:.2f} ms")
    print(f"incremental, one Conv2d edit: {incremental * 1e3:.0f} µs ({recomputed} nodes recomputed)")
    print(f"incremental, Conv2d width edit: {incremental_width * 1e3:.0f} µs ({width_recomputed} nodes "
          "recomputed: the BatchNorm and ReLU after it; the next Conv2d's output is unchanged)")
    print(f"incremental, input shape edit (everything downstream): {worst:.2f} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
