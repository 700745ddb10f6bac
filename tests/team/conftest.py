"""A real PostgreSQL server for the session: the store tests' server (``pg_server`` in tests/conftest.py) where
there is one, else one started here: initdb in a temporary directory (as the ``postgres`` OS user when running as
root, since initdb refuses root), pg_ctl on a free port with its socket in that directory, stopped at the end.
Tests that use it are skipped, saying why, where the PostgreSQL binaries or psycopg are missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER_PASSWORD = "server-admin-secret"


@dataclass(frozen=True)
class PgCluster:
    host: str
    port: int
    superuser: str = "postgres"
    superuser_password: str = SUPERUSER_PASSWORD

    def dsn(self, user: str, password: str, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} dbname={dbname} user={user} password={password}"

    def connect(self, user: str | None = None, password: str | None = None, dbname: str = "postgres",
                autocommit: bool = True):
        import psycopg

        password = password if user is not None else self.superuser_password
        return psycopg.connect(self.dsn(user or self.superuser, password or "", dbname), autocommit=autocommit)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[PgCluster]:
    try:
        shared = request.getfixturevalue("pg_server")  # the store tests' server, where the suite has one
    except pytest.FixtureLookupError:
        yield from _own_server()
        return
    import pgserver  # tests/pgserver.py, beside that fixture

    yield PgCluster("127.0.0.1", shared.port, pgserver.USER, pgserver.PASSWORD)


def _own_server() -> Iterator[PgCluster]:
    pytest.importorskip("psycopg", reason="psycopg (the team extra) is not installed")
    missing = [tool for tool in ("initdb", "pg_ctl", "postgres") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"PostgreSQL server binaries not on PATH ({', '.join(missing)}): install PostgreSQL to run "
                    "the database-enforced access tests")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot be run as another user")
    root = Path(tempfile.mkdtemp(prefix="nf-pg-"))
    data, sockets, pwfile = root / "data", root / "sockets", root / "pwfile"
    sockets.mkdir()
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for path in (sockets, pwfile):
            shutil.chown(path, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(_as_postgres(["initdb", "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                                 "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions"]), **run)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres(["pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w",
                                 "start"]), **run)
    try:
        yield PgCluster("127.0.0.1", port)
    finally:
        subprocess.run(_as_postgres(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True,
                       timeout=120)
        shutil.rmtree(root, ignore_errors=True)
