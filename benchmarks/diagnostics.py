"""Cost of the Coach's diagnostics capture: steps/s of a small MNIST CNN trained through the Trainer on
``mnist-10k`` with ``diagnostics`` off, basic and full, in one process. Targets: basic ≤ 10 % slower than
off; off ≤ 1 % slower than a loop without any capture code.

Off builds no capture object: what remains of the capture code in the training step is four
``capture is not None`` tests. Their cost is measured directly (``timeit``) and set against the step time,
which is a truer figure than timing two loops that differ by a few hundred nanoseconds on a shared machine.

Fair by construction: one discarded warm-up run per level, then ROUNDS rounds in which every level runs once,
the order rotating each round; each run trains from the same seed on the same data with one torch thread,
and the steps between FIRST and LAST are timed (capture steps included at the level's own rate, the
epoch-end input statistics not: they are timed once on their own). Each run stops after LAST steps, so no
validation pass is timed. Speeds are steps per second of this process's CPU time: on a machine shared with
other work, wall-clock speeds of one run swing by a third while CPU time barely moves; wall-clock medians are
printed beside them. Medians over rounds, and each level's median per-round ratio to off, are reported.

The model is smaller than the zoo's ``mnist-cnn`` so that the whole benchmark fits in about two minutes on
two cores; a smaller model is the harder case here, since a capture step's cost is mostly per layer while an
ordinary step's cost grows with the model.

Prints figures, then one JSON object on the last line."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import torch

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.training.coach.capture import capture_interval
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Control, Trainer
from neuralforge_desktop.core.training.events import Event, StepEvent

BATCH = 64
FIRST, LAST = 10, 130  # steps timed: from the step event of FIRST to that of LAST (inside epoch 1)
ROUNDS = 5
LEVELS = ("off", "basic", "full")
TARGETS = {"off": 0.01, "basic": 0.10}  # the most each may cost (fraction of steps/s)


def small_cnn():
    c = Composer("small-cnn")
    x = c.input("image", [1, 28, 28])
    x = c.layer("Conv2d", x, "conv1", out_channels=8, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu1")
    x = c.layer("MaxPool2d", x, "pool1", kernel_size=2)
    x = c.layer("Conv2d", x, "conv2", out_channels=16, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu2")
    x = c.layer("MaxPool2d", x, "pool2", kernel_size=2)
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=64)
    x = c.layer("ReLU", x, "relu3")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def timed_run(level: str, folder: Path) -> tuple[float, float, int]:
    """Steps per CPU second and per wall-clock second between steps FIRST and LAST at ``level``, and the run's
    steps per epoch."""
    times: dict[int, tuple[float, float]] = {}
    spe: list[int] = []
    control = Control(None)

    def sink(event: Event) -> None:
        if isinstance(event, StepEvent):
            times[event.step] = (time.process_time(), time.perf_counter())
        elif event.kind == "started":
            spe.append(event.steps_per_epoch)  # type: ignore[attr-defined]

    control.command = lambda: "stop" if LAST in times else "run"  # type: ignore[method-assign]
    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=BATCH, log_every=FIRST, checkpoint_minutes=1e9,
                         threads=1, seed=0, diagnostics=level)
    result = Trainer(small_cnn(), config, "bench", folder, sink, control=control).run()
    if result.status != "stopped":
        raise SystemExit(f"the {level} run ended {result.status}: it was to be stopped after step {LAST}")
    (cpu0, wall0), (cpu1, wall1) = times[FIRST], times[LAST]
    return (LAST - FIRST) / (cpu1 - cpu0), (LAST - FIRST) / (wall1 - wall0), spe[0]


def off_checks_seconds() -> float:
    """What diagnostics off leaves in a training step: four ``is not None`` tests of a local (seconds)."""
    runs = 1_000_000
    seconds = timeit.timeit("if capture is not None: pass\n" * 4, setup="capture = None", number=runs)
    return seconds / runs


def input_stats_seconds() -> float:
    """The epoch-end input statistics (computed once per run, then reused), timed once."""
    from neuralforge_desktop.core.training.coach.tensor_stats import input_stats
    from neuralforge_desktop.core.training.datasets import load_dataset

    bundle = load_dataset("mnist-10k")
    x, y = torch.from_numpy(bundle.train.x), torch.from_numpy(bundle.train.y).long()
    started = time.perf_counter()
    input_stats(x, y, 10, step=1, epoch=1)
    return time.perf_counter() - started


def main() -> None:
    torch.set_num_threads(1)
    speeds: dict[str, list[float]] = {level: [] for level in LEVELS}
    walls: dict[str, list[float]] = {level: [] for level in LEVELS}
    spe = 0
    with tempfile.TemporaryDirectory() as tmp:
        for level in LEVELS:
            warm, _, spe = timed_run(level, Path(tmp) / f"warm-{level}")
            print(f"warm-up (discarded) {level}: {warm:.1f} steps/CPU-s")
        for i in range(ROUNDS):
            order = LEVELS[i % 3:] + LEVELS[:i % 3]
            for level in order:
                cpu, wall, _ = timed_run(level, Path(tmp) / f"r{i}-{level}")
                speeds[level].append(cpu)
                walls[level].append(wall)
            print(f"round {i + 1} ({', '.join(order)}): " + ", ".join(
                f"{level} {speeds[level][-1]:.1f} ({walls[level][-1]:.1f})" for level in LEVELS)
                + " steps/CPU-s (steps/s)")
    median = {level: statistics.median(values) for level, values in speeds.items()}
    ratios = {level: [s / o for s, o in zip(speeds[level], speeds["off"], strict=True)] for level in ("basic", "full")}
    overhead = {level: round(1 - statistics.median(ratios[level]), 4) for level in ratios}
    check = off_checks_seconds()
    overhead["off"] = round(check * median["off"], 6)  # seconds of checks per step × steps per second
    inputs = input_stats_seconds()
    wall = {level: statistics.median(values) for level, values in walls.items()}
    print(f"\n{'level':<6} {'steps/CPU-s':>11} {'overhead':>9} {'wall steps/s':>13}  records every")
    for level in LEVELS:
        every = "-" if level == "off" else f"{capture_interval(level, spe)} steps"
        print(f"{level:<6} {median[level]:>11.1f} {overhead[level]:>8.2%} {wall[level]:>13.1f}  {every}")
    print(f"off: four `is not None` tests, {check * 1e9:.0f} ns a step against {1e3 / median['off']:.1f} ms a step; "
          f"epoch-end input statistics: {inputs * 1e3:.1f} ms once per run ({spe} steps an epoch)")
    figures = {
        "benchmark": "diagnostics", "model": "small-cnn (2 conv, 2 linear)", "dataset": "mnist-10k",
        "batch_size": BATCH, "threads": 1, "rounds": ROUNDS, "steps_timed": LAST - FIRST, "steps_per_epoch": spe,
        "steps_per_cpu_s": {level: round(m, 2) for level, m in median.items()},
        "per_round_steps_per_cpu_s": {level: [round(s, 2) for s in v] for level, v in speeds.items()},
        "wall_steps_per_s": {level: round(m, 2) for level, m in wall.items()},
        "overhead": overhead, "off_checks_ns": round(check * 1e9, 1), "input_stats_ms": round(inputs * 1e3, 2),
        "capture_every": {level: capture_interval(level, spe) for level in ("basic", "full")},
        "targets": TARGETS, "ok": all(overhead[level] <= limit for level, limit in TARGETS.items()),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
