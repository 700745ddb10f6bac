"""Trainer overhead: steps/s of the zoo MNIST CNN trained through NeuralForge's Trainer, against a
hand-written PyTorch loop training the same architecture (hand-written module) on the same tensors, in the
same process. Target: ratio ≥ 0.97.

Fair by construction: one discarded warm-up round per side, then ROUNDS alternating rounds (which side goes
first alternates too), each side under the same settings, set explicitly before every round: the same torch
thread count, and deterministic algorithms on (the Trainer switches ``use_deterministic_algorithms`` on for
the whole process on CPU; the hand-written loop runs under the same switch, and it is switched off before each
round so the Trainer's own switching is what its rounds run under). The spread of the per-round ratio is
printed beside the median.

Prints figures, then one JSON object on the last line."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.datasets import load_dataset
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.events import Event, StepEvent

BATCH = 64
LIMIT = 9000  # training pool; 8,100 train examples → 127 steps per epoch
FIRST, LAST = 25, 125  # steps measured: between these step events (inside epoch 1, after warm-up)
ROUNDS = 7  # measured rounds per side, after one discarded warm-up round each


class HandWrittenCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def reset_settings(threads: int) -> None:
    """What every round starts from: the same threads, determinism off (each side then sets its own)."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)


def hand_loop(x: torch.Tensor, y: torch.Tensor) -> float:
    torch.use_deterministic_algorithms(True, warn_only=True)  # exactly what the Trainer sets on CPU
    torch.manual_seed(0)
    model = HandWrittenCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(x))
    start = 0.0
    for step in range(LAST):
        if step == FIRST:
            start = time.perf_counter()
        index = order[step * BATCH:(step + 1) * BATCH]
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    loss.item()
    return (LAST - FIRST) / (time.perf_counter() - start)


def neuralforge_loop(folder: Path, threads: int) -> float:
    times: dict[int, float] = {}

    def sink(event: Event) -> None:
        if isinstance(event, StepEvent):
            times[event.step] = time.perf_counter()

    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=BATCH, limit=LIMIT, log_every=FIRST,
                         checkpoint_minutes=1e9, threads=threads, seed=0)
    Trainer(zoo.build("mnist-cnn"), config, "bench", folder, sink).run()
    if not torch.are_deterministic_algorithms_enabled():
        raise SystemExit("the Trainer no longer switches deterministic algorithms on: update hand_loop to match")
    return (LAST - FIRST) / (times[LAST] - times[FIRST])


def spread(values: list[float], digits: int) -> dict[str, float]:
    return {"min": round(min(values), digits), "median": round(statistics.median(values), digits),
            "max": round(max(values), digits)}


def main() -> None:
    threads = torch.get_num_threads()
    bundle = load_dataset("mnist-10k", limit=LIMIT)
    x = torch.from_numpy(bundle.train.x)
    y = torch.from_numpy(bundle.train.y).long()
    hand, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        reset_settings(threads)
        warm_hand = hand_loop(x, y)
        reset_settings(threads)
        warm_ours = neuralforge_loop(Path(tmp) / "warm-up", threads)
        print(f"warm-up (discarded): hand-written {warm_hand:.1f} steps/s, NeuralForge {warm_ours:.1f} steps/s")
        for i in range(ROUNDS):
            sides = ["hand", "ours"] if i % 2 == 0 else ["ours", "hand"]
            for side in sides:
                reset_settings(threads)
                if side == "hand":
                    hand.append(hand_loop(x, y))
                else:
                    ours.append(neuralforge_loop(Path(tmp) / f"r{i}", threads))
            print(f"round {i + 1} ({' first, '.join(sides)} second): hand-written {hand[-1]:.1f} steps/s, "
                  f"NeuralForge {ours[-1]:.1f} steps/s, ratio {ours[-1] / hand[-1]:.3f}")
    ratios = [o / h for o, h in zip(ours, hand, strict=True)]
    figures = {
        "benchmark": "trainer_overhead", "model": "mnist-cnn", "batch_size": BATCH, "threads": threads,
        "rounds": ROUNDS, "deterministic_algorithms": True,
        "hand_steps_per_s": spread(hand, 2), "neuralforge_steps_per_s": spread(ours, 2),
        "ratio": spread(ratios, 3), "ratios": [round(r, 3) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 3), "target_ratio": 0.97,
        "ok": statistics.median(ratios) >= 0.97,
    }
    print(f"ratio NeuralForge / hand-written over {ROUNDS} rounds: min {min(ratios):.3f}, median "
          f"{figures['ratio_median']:.3f}, max {max(ratios):.3f} (target ≥ 0.97)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
