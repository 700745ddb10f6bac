"""Trainer overhead: steps/s of the zoo MNIST CNN trained through NeuralForge's Trainer, against a
hand-written PyTorch loop training the same architecture (hand-written module) on the same tensors, in the
same process, alternating several times (this machine is noisy). Target: ratio ≥ 0.97.

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
ROUNDS = 3


class HandWrittenCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def hand_loop(x: torch.Tensor, y: torch.Tensor) -> float:
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


def neuralforge_loop(folder: Path) -> float:
    times: dict[int, float] = {}

    def sink(event: Event) -> None:
        if isinstance(event, StepEvent):
            times[event.step] = time.perf_counter()

    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=BATCH, limit=LIMIT, log_every=FIRST,
                         checkpoint_minutes=1e9)
    Trainer(zoo.build("mnist-cnn"), config, "bench", folder, sink).run()
    return (LAST - FIRST) / (times[LAST] - times[FIRST])


def main() -> None:
    bundle = load_dataset("mnist-10k", limit=LIMIT)
    x = torch.from_numpy(bundle.train.x)
    y = torch.from_numpy(bundle.train.y).long()
    hand, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ROUNDS):
            hand.append(hand_loop(x, y))
            ours.append(neuralforge_loop(Path(tmp) / f"r{i}"))
            print(f"round {i + 1}: hand-written {hand[-1]:.1f} steps/s, NeuralForge {ours[-1]:.1f} steps/s")
    ratios = [o / h for o, h in zip(ours, hand, strict=True)]
    figures = {
        "model": "mnist-cnn", "batch_size": BATCH, "threads": torch.get_num_threads(),
        "hand_steps_per_s": round(statistics.median(hand), 2),
        "neuralforge_steps_per_s": round(statistics.median(ours), 2),
        "ratio_median": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
        "target_ratio": 0.97,
    }
    print(f"median ratio NeuralForge / hand-written: {figures['ratio_median']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
