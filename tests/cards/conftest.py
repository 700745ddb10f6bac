"""The registry tests' trained MNIST run, registered once as mnist@1 and copied for each test."""

from __future__ import annotations

import shutil

import pytest

from neuralforge_desktop.core import registry
from neuralforge_desktop.core.store.sqlite_store import Store
from tests.registry.conftest import trained_template  # noqa: F401  (a fixture, found by name)


@pytest.fixture(scope="session")
def registered_template(trained_template, tmp_path_factory) -> dict:  # noqa: F811
    folder = tmp_path_factory.mktemp("cards-template") / "store"
    shutil.copytree(trained_template["folder"], folder)
    with Store(folder / "store.db") as store:
        registry.register(store, trained_template["run"], "mnist", "digits classifier")
    return {**trained_template, "folder": folder}


@pytest.fixture
def registered(registered_template, tmp_path) -> dict:
    """A private copy of the store with mnist@1 registered from the trained run."""
    folder = tmp_path / "store"
    shutil.copytree(registered_template["folder"], folder)
    return {**registered_template, "folder": folder, "store": folder / "store.db"}


@pytest.fixture
def store(registered):
    with Store(registered["store"]) as opened:
        yield opened
