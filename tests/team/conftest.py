"""A store holding the demo team (five projects, three people, four months of remote runs, budgets and a registry),
made once per test session and copied for each test that writes to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.demo_data import demo_now, make_demo_store


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-team")
    with Store(folder / "store.db") as store:
        make_demo_store(store, now=demo_now())
    return folder


@pytest.fixture
def demo_store_path(demo_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "team"
    shutil.copytree(demo_template, folder)
    return folder / "store.db"
