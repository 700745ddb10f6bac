"""Team fixtures: a real store; the registry tests' trained MNIST run (trained once per session) for
model-version targets; a store with the demo team history (five projects, three people, three remote hosts
and a local machine)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.demo_costs import DemoCosts, create_cost_demo
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


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[tuple[Store, DemoCosts]]:
    with Store(tmp_path / "store.db") as store:
        yield store, create_cost_demo(store, HostRegistry(), now=time.time())
