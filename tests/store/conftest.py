"""Fixtures for the experiment store: a real SQLite file in a temporary directory per test."""

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
