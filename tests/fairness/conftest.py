"""Real NeuralForge runs trained once per test session on the bundled synthetic credit data: one on the data
with the planted disparity, one on the unbiased variant; each test gets a private copy of the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuralforge_desktop.core.fairness.example import train_example, write_example
from neuralforge_desktop.core.store.sqlite_store import Store


def _trained(folder: Path, bias: float) -> dict:
    files = write_example(folder / "data", bias=bias, train_rows=2500, eval_rows=2000)
    with Store(folder / "store.db") as store:
        run_id = train_example(store, files, epochs=3)
    return {"folder": folder, "run": run_id, "eval_csv": files.eval_csv, "files": files}


@pytest.fixture(scope="session")
def biased_template(tmp_path_factory) -> dict:
    return _trained(tmp_path_factory.mktemp("fair-biased"), bias=2.0)


@pytest.fixture(scope="session")
def unbiased_template(tmp_path_factory) -> dict:
    return _trained(tmp_path_factory.mktemp("fair-unbiased"), bias=0.0)


def _copy(template: dict, tmp_path: Path) -> dict:
    folder = tmp_path / template["folder"].name
    shutil.copytree(template["folder"], folder)
    # the run's settings name the training table by its absolute path, which stays in the template's folder
    return {**template, "folder": folder, "store": folder / "store.db", "eval_csv": folder / "data" / "credit-eval.csv"}


@pytest.fixture
def biased(biased_template, tmp_path) -> dict:
    return _copy(biased_template, tmp_path)


@pytest.fixture
def unbiased(unbiased_template, tmp_path) -> dict:
    return _copy(unbiased_template, tmp_path)
