"""A real store with a real trained run, trained once per test session and copied for each test, so that a test
may register, promote and delete freely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.engine import Trainer
from neuralforge_desktop.core.training.runner import prepare_run


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory) -> dict:
    """The MNIST CNN trained for one short epoch (256 digits), and a run of it that never trained."""
    folder = tmp_path_factory.mktemp("registry-template")
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=256, seed=0, threads=1)
    with Store(folder / "store.db") as store:
        run_id, run_dir = prepare_run(graph, config, store, "tests")
        assert Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status == "finished"
        untrained, _ = prepare_run(graph, config, store, "tests")
        store.set_status(untrained, "failed")
        val_acc = store.latest_metrics(run_id)["val/acc"].value
    return {"folder": folder, "run": run_id, "untrained": untrained, "val_acc": val_acc}


@pytest.fixture(scope="session")
def quantised_template(trained_template, tmp_path_factory) -> dict:
    """A copy of the trained template with a static int8 quantisation of its run, made by the optimise method
    `neuralforge optimize` calls: a run with tags parent_run, optimization and optimized_model and no checkpoint."""
    from neuralforge_desktop.core.optimize.methods import get_method
    from neuralforge_desktop.core.optimize.options import OptimizeOptions

    folder = tmp_path_factory.mktemp("registry-quantised") / "store"
    shutil.copytree(trained_template["folder"], folder)
    options = OptimizeOptions(method="quantize-static-int8", calibration_samples=64, latency_runs=3).validate()
    with Store(folder / "store.db") as store:
        result = get_method(options.method)(store, trained_template["run"], options)
    return {**trained_template, "folder": folder, "quantised": result.run_id, "result": result.to_json()}


@pytest.fixture
def quantised(quantised_template, tmp_path) -> dict:
    """A private copy of the quantised template."""
    folder = tmp_path / "quantised-store"
    shutil.copytree(quantised_template["folder"], folder)
    return {**quantised_template, "folder": folder, "store": folder / "store.db"}


@pytest.fixture
def trained(trained_template, tmp_path) -> dict:
    """A private copy of the template: its store path, the trained run and the untrained one."""
    folder = tmp_path / "store"
    shutil.copytree(trained_template["folder"], folder)
    return {**trained_template, "folder": folder, "store": folder / "store.db"}


@pytest.fixture
def store(trained):
    with Store(trained["store"]) as opened:
        yield opened


def stored_files(folder: Path) -> set[str]:
    """Every file in the store's content-addressed artifact area."""
    return {p.name for p in (folder / "artifacts").glob("??/*")}
