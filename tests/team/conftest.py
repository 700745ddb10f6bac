"""A store with the demo team history (five projects, three people, three remote hosts and a local machine)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.demo_costs import DemoCosts, create_cost_demo


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[tuple[Store, DemoCosts]]:
    with Store(tmp_path / "store.db") as store:
        yield store, create_cost_demo(store, HostRegistry(), now=time.time())
