"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` in a temporary folder, ``pg_ctl start`` on
a free local port (socket in the same folder, fsync off), a fresh database per test made from a template
that already holds the store's schema, and ``pg_ctl stop`` at the end.

initdb refuses to run as root; as root the server runs as the ``postgres`` OS user (``runuser``) in a folder
it owns. Without PostgreSQL's binaries :func:`find_bindir` returns None and the callers skip, naming the
Debian package to install.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

MISSING = "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package `postgresql`"
PASSWORD = "s3cret-test-pw"
USER = "nf"


def find_bindir() -> Path | None:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One running server; :meth:`new_database` gives a fresh database's URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="nf-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self._template: str | None = None

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)

    def start(self) -> PgServer:
        if self.as_root:
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        # C locale: text sorts by code point, as in SQLite; md5/scram password auth on TCP, as a team server.
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
                  "--auth=scram-sha-256", "--locale=C", "--encoding=UTF8", "--no-sync")
        for attempt in range(3):  # another worker (pytest-xdist) may take the free port first
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o",
                          options, "-w", "start")
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = _free_port()
        return self

    def url(self, dbname: str, *, password: str | None = PASSWORD, user: str = USER, port: int | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{port or self.port}/{dbname}"

    def admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname="postgres",
                               autocommit=True)

    def new_database(self, *, with_schema: bool = True) -> str:
        """A fresh database's URL (with the store's current schema unless ``with_schema`` is False)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            if with_schema:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE {self._schema_template(conn)}")
            else:
                conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def _schema_template(self, conn) -> str:
        # Migrating a new store takes ~0.3 s of DDL; copying a migrated template takes a few ms.
        if self._template is None:
            from neuralforge_desktop.core.store import Store

            name = f"tpl_{uuid.uuid4().hex[:8]}"
            conn.execute(f"CREATE DATABASE {name}")
            Store(self.url(name), flush_seconds=3600).close()
            self._template = name
        return self._template

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        for _ in range(3):
            try:
                shutil.rmtree(self.root)
                return
            except OSError:
                time.sleep(0.2)


def start_server() -> PgServer | None:
    bindir = find_bindir()
    if bindir is None:
        return None
    return PgServer(bindir).start()
