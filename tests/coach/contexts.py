"""Hand-made Coach contexts: a healthy MNIST-like run (every number where a normal run puts it), and helpers to
plant one fault in it."""

from __future__ import annotations

import math
import random

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.training.coach.context import CoachContext, DataFacts
from neuralforge_desktop.core.training.coach.records import InputStats, LayerStats, RunDiagnostics
from neuralforge_desktop.core.training.config import TrainConfig

LAYERS = ["conv1", "relu1", "conv2", "relu2", "fc1", "relu3", "fc2"]
WEIGHTED = {"conv1", "conv2", "fc1", "fc2"}
RELUS = {"relu1", "relu2", "relu3"}
STEPS_PER_EPOCH = 140
EPOCHS = 3


def healthy_data() -> DataFacts:
    return DataFacts(name="mnist-10k", task="classification", classes=10, train_size=9000, val_size=1000,
                     kind="image", label_counts=[880, 1010, 900, 920, 870, 810, 890, 940, 860, 920],
                     channel_mean=[0.0], channel_std=[1.0], input_min=-0.42, input_max=2.82, leaked=0)


def healthy_metrics(seed: int = 0) -> dict[str, list[tuple[int, float]]]:
    """Step losses falling from ln 10 towards 0.1 with batch noise, and three epochs that improve."""
    rng = random.Random(seed)
    steps = [(s, (2.2 * math.exp(-s / 60) + 0.1) * rng.uniform(0.8, 1.2))
             for s in range(10, STEPS_PER_EPOCH * EPOCHS + 1, 10)]
    ends = [STEPS_PER_EPOCH * (e + 1) for e in range(EPOCHS)]
    return {"train/loss_step": steps,
            "train/loss": list(zip(ends, [0.6, 0.2, 0.13], strict=True)),
            "train/acc": list(zip(ends, [0.82, 0.94, 0.96], strict=True)),
            "val/loss": list(zip(ends, [0.25, 0.15, 0.12], strict=True)),
            "val/acc": list(zip(ends, [0.93, 0.955, 0.965], strict=True))}


def layer_record(step: int, grad: dict[str, float] | None = None, ratio: float = 1e-3,
                 zero: dict[str, float] | None = None, sat: dict[str, float] | None = None) -> LayerStats:
    grad = grad or {"conv1": 0.3, "conv2": 0.5, "fc1": 0.6, "fc2": 0.8}
    zero = zero or {}
    sat = sat or {}
    return LayerStats(
        step=step, layers=list(LAYERS),
        grad_norm=[grad.get(n) if n in WEIGHTED else None for n in LAYERS],
        weight_norm=[5.0 if n in WEIGHTED else None for n in LAYERS],
        update_ratio=[ratio if n in WEIGHTED else None for n in LAYERS],
        act_mean=[0.3] * len(LAYERS), act_std=[1.0] * len(LAYERS),
        act_zero_frac=[zero.get(n, 0.5) if n in RELUS else None for n in LAYERS],
        act_sat_frac=[sat.get(n) for n in LAYERS])


def healthy_diagnostics(records: int = 12) -> RunDiagnostics:
    diag = RunDiagnostics()
    for i in range(records):
        diag.add("layers", layer_record(20 * (i + 1)))
    for epoch in range(EPOCHS):
        diag.add("inputs", InputStats(step=STEPS_PER_EPOCH * epoch, epoch=epoch, channel_mean=[0.01],
                                      channel_std=[0.99], min=-0.42, max=2.82, label_counts=None))
    return diag


def healthy(**changes: object) -> CoachContext:
    """A finished healthy run of zoo:mnist-cnn; ``changes`` replace context fields."""
    ctx = CoachContext(graph=zoo.build("mnist-cnn"), config=TrainConfig(epochs=EPOCHS), loss_name="CrossEntropyLoss",
                       data=healthy_data(), metrics=healthy_metrics(), diagnostics=healthy_diagnostics(),
                       status="finished", steps_per_epoch=STEPS_PER_EPOCH)
    for name, value in changes.items():
        setattr(ctx, name, value)
    return ctx
