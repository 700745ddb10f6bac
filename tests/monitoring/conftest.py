"""A real store file per test for the monitoring tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store(store_path) as s:
        yield s
