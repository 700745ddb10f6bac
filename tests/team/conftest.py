"""Team fixtures: a real store; the registry tests' trained MNIST run (trained once per session) for
model-version targets; a store with the cost demo history (five projects, three people, three remote hosts and a
local machine); a store holding the portfolio demo team (four months of remote runs, budgets and a registry),
made once per test session and copied for each test that writes to it; the suite's PostgreSQL server
(``pg_server`` in tests/conftest.py) as a cluster the database-enforced access tests log in to."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.demo_costs import DemoCosts, create_cost_demo
from neuralforge_desktop.core.team.demo_data import demo_now, make_demo_store
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


@dataclass(frozen=True)
class PgCluster:
    host: str
    port: int
    superuser: str
    superuser_password: str

    def dsn(self, user: str, password: str, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} dbname={dbname} user={user} password={password}"

    def connect(self, user: str | None = None, password: str | None = None, dbname: str = "postgres",
                autocommit: bool = True):
        import psycopg

        password = password if user is not None else self.superuser_password
        return psycopg.connect(self.dsn(user or self.superuser, password or "", dbname), autocommit=autocommit)


@pytest.fixture(scope="session")
def pg_cluster(pg_server) -> PgCluster:
    import pgserver  # tests/pgserver.py, beside the pg_server fixture

    return PgCluster("127.0.0.1", pg_server.port, pgserver.USER, pgserver.PASSWORD)
