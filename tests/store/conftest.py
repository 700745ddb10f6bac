"""Fixtures for the experiment store, run against both backends: a real SQLite file in a temporary directory,
and a fresh database on the session's PostgreSQL server (``pg_server`` in tests/conftest.py).

``store_path`` is what ``Store(...)`` takes: a file path, or a ``postgresql://`` URL. Tests about the SQLite
file itself (hostile files, the write-ahead log, a damaged file) carry ``@pytest.mark.sqlite_only(reason)``
and run on SQLite alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): a store test about the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ("sqlite",) if only_sqlite else BACKENDS)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def store_path(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    if backend == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "store.db"


@pytest.fixture
def store(store_path: Path | str) -> Iterator[Store]:
    with Store(store_path) as s:
        yield s
