"""Tiny real runs to explain, trained once per test session: the MNIST CNN (one short epoch on a few hundred
digits), a small MLP on iris, and BERT-tiny narrowed to one small layer on the generated movie reviews."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


def _train(folder: Path, graph, config: TrainConfig) -> dict:
    store_path = folder / "store.db"
    with Store(store_path) as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
    return {"store": store_path, "run": run_id}


def iris_mlp():
    c = Composer("iris-mlp")
    x = c.input("features", [4])
    x = c.layer("Linear", x, "fc1", out_features=16)
    x = c.layer("ReLU", x, "relu")
    logits = c.layer("Linear", x, "fc2", out_features=3)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def small_bert():
    """BERT-tiny with one layer of width 32 and 2 heads over a 200-word vocabulary."""
    graph = zoo.build("bert-tiny")
    for node_id, param, value in (("word_embeddings", "embedding_dim", 32), ("word_embeddings", "num_embeddings", 200),
                                  ("token_type_embeddings", "embedding_dim", 32), ("encoder", "repeat", 1),
                                  ("pooler", "out_features", 32)):
        graph.set_param(node_id, param, value)
    body = graph.node("encoder").body
    assert body is not None
    for node_id, param, value in (("intermediate", "out_features", 64), ("output_dense", "out_features", 32)):
        body.set_param(node_id, param, value)
    return graph


@pytest.fixture(scope="session")
def mnist_run(tmp_path_factory) -> dict:
    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=384, seed=0, threads=1)
    return _train(tmp_path_factory.mktemp("explain-mnist"), zoo.build("mnist-cnn"), config)


@pytest.fixture(scope="session")
def iris_run(tmp_path_factory) -> dict:
    config = TrainConfig(dataset="iris", epochs=20, batch_size=16, lr=0.01, seed=0, threads=1, val_fraction=0.3)
    return _train(tmp_path_factory.mktemp("explain-iris"), iris_mlp(), config)


@pytest.fixture(scope="session")
def text_run(tmp_path_factory) -> dict:
    config = TrainConfig(dataset="synthetic-reviews", epochs=1, batch_size=32, limit=256, seed=0, threads=1,
                         dataset_options={"vocab_size": 200})
    return _train(tmp_path_factory.mktemp("explain-text"), small_bert(), config)


@pytest.fixture
def store_of():
    opened: list[Store] = []

    def open_store(run: dict) -> Store:
        opened.append(Store(run["store"]))
        return opened[-1]
    yield open_store
    for store in opened:
        store.close()
