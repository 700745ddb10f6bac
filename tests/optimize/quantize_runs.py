"""A real trained run for the optimisation tests: the MNIST CNN, one short epoch on a few hundred MNIST digits
(seconds on two cores), and a run that never trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


def train_tiny_cnn(folder: Path) -> dict:
    store_path = folder / "store.db"
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=384, seed=0, threads=1)
    with Store(store_path) as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
        untrained, _ = prepare_run(graph, config, store, "tests")
    return {"store": store_path, "run": run_id, "untrained": untrained}


def predictions(path: str | Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {session.get_inputs()[0].name: x})
    return scores.argmax(axis=1)


def agreement(before: str | Path, after: str | Path, x: np.ndarray) -> float:
    return float((predictions(before, x) == predictions(after, x)).mean())
