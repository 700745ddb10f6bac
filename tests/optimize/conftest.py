"""A small trained run that the optimisation tests share: a CNN on the 8×8 digits, one epoch (a few seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


def digits_cnn() -> Graph:
    c = Composer("digits-cnn")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Conv2d", x, "conv1", out_channels=8, kernel_size=3, padding=1)
    x = c.layer("BatchNorm2d", x, "bn1")
    x = c.layer("ReLU", x, "relu1")
    x = c.layer("Conv2d", x, "conv2", out_channels=16, kernel_size=3, padding=1)
    x = c.layer("ReLU", x, "relu2")
    x = c.layer("MaxPool2d", x, "pool", kernel_size=2)
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu3")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def digits_config(**overrides: object) -> TrainConfig:
    base: dict = dict(dataset="digits", epochs=1, batch_size=32, lr=3e-3, seed=1, threads=1, diagnostics="off")
    base.update(overrides)
    return TrainConfig(**base)


@dataclass
class TrainedRun:
    store: Store
    run_id: str
    folder: Path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> TrainedRun:
    store = Store(tmp_path_factory.mktemp("optimize") / "store.db")
    graph, config = digits_cnn(), digits_config()
    run_id, folder = prepare_run(graph, config, store, "tests")
    result = Trainer(graph, config, run_id, folder, lambda event: None, store).run()
    assert result.status == "finished" and result.best_metric > 0.8
    return TrainedRun(store, run_id, folder)
