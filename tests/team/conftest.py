"""A real store; the registry tests' trained MNIST run (trained once per session) for model-version targets."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.store.sqlite_store import Store
from tests.registry.conftest import trained, trained_template  # noqa: F401  (fixtures used here)


@pytest.fixture
def plain_store(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALFORGE_USER", "ana")
    with Store(tmp_path / "store.db") as opened:
        yield opened


@pytest.fixture
def registered(trained, monkeypatch):  # noqa: F811
    """The trained run registered as mnist@1, in a store of its own."""
    from neuralforge_desktop.core import registry

    monkeypatch.setenv("NEURALFORGE_USER", "ana")
    with Store(trained["store"]) as opened:
        registry.register(opened, trained["run"], "mnist")
        yield opened
