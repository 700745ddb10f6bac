"""Content-addressed artifact files: each distinct content is stored once, under its sha256.

Layout: ``<store dir>/artifacts/<sha[:2]>/<sha>``; the two-character fan-out keeps directories small. The
``artifacts`` table links a run's artifact name to a hash, so the same checkpoint logged by ten runs (or the
same graph file by every run of a sweep) takes the space of one. Files are written to a temporary file in
the artifacts directory, fsynced and renamed into place, so a reader (or a crash) never sees half a file;
two processes storing the same content at once both rename identical bytes, which is harmless.

Files are never modified in place, and never deleted while a row refers to them. ``prune`` deletes files no
row refers to (after :meth:`Store.delete_run`), sparing recent ones: another process may have stored a file
and not yet committed the row that refers to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from neuralforge_desktop.core.ir.atomic import write_bytes_atomic
from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.entities import Artifact, NotFoundError, StoreError

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.database import Database
    from neuralforge_desktop.core.team.access import AccessCache

_BLOCK = 1 << 20
ARTIFACT_COLUMNS = "run_id, name, kind, sha256, size, created"


class ArtifactFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> tuple[str, int]:
        """Store content (bytes, or a file to copy) if new; returns (sha256, size)."""
        if isinstance(source, bytes | bytearray | memoryview):
            return self._put_bytes(bytes(source))
        path = Path(source)
        if path.is_dir():
            raise StoreError(f"{path} is a directory; log its files one by one (or an archive of it)")
        return self._put_file(path)

    def _put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if not self._have(target, len(data)):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, data)
        return sha, len(data)

    def _put_file(self, path: Path) -> tuple[str, int]:
        # One pass: copy to a temporary file while hashing, then rename under the hash (or drop the copy if
        # the content is already stored). Reading a multi-GB checkpoint twice would cost more than the
        # occasional wasted copy.
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".tmp", dir=self.root)
        try:
            with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                while block := src.read(_BLOCK):
                    digest.update(block)
                    dst.write(block)
                    size += len(block)
                dst.flush()
                os.fsync(dst.fileno())
            sha = digest.hexdigest()
            target = self.path_for(sha)
            if self._have(target, size):
                os.unlink(tmp)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return sha, size

    @staticmethod
    def _have(target: Path, size: int) -> bool:
        try:
            if target.stat().st_size != size:  # a damaged copy is replaced, not trusted
                return False
            os.utime(target)  # fresh mtime: prune's grace period now protects it until our row commits
            return True
        except OSError:
            return False

    def prune(self, referenced: set[str], grace_seconds: float = 3600.0) -> list[str]:
        """Delete stored files whose hash is not in ``referenced`` and older than the grace period."""
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        cutoff = time.time() - grace_seconds
        for path in self._stored_files():
            try:
                if path.name not in referenced and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path.name)
            except OSError:
                continue
        return removed

    def _stored_files(self) -> Iterable[Path]:
        for fan in self.root.iterdir():
            if fan.is_dir() and len(fan.name) == 2:
                yield from (p for p in fan.iterdir() if p.is_file() and len(p.name) == 64)


def artifact_from_row(files: ArtifactFiles, row: tuple) -> Artifact:
    run_id, name, kind, sha, size, created = row
    return Artifact(run_id, name, kind, sha, int(size), files.path_for(sha), float(created))


def link(conn: sqlite3.Connection, run_id: str, name: str, kind: str, sha256: str, size: int) -> tuple:
    """Record (or replace) a run's artifact ``name``. Call inside a write transaction."""
    row = (run_id, name, kind, sha256, size, time.time())
    conn.execute(f"INSERT OR REPLACE INTO artifacts ({ARTIFACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)
    return row


def referenced_hashes(conn: sqlite3.Connection) -> set[str]:
    """Every stored file a row refers to: runs' artifacts and the registered model versions' files."""
    return {sha for (sha,) in conn.execute("SELECT sha256 FROM artifacts UNION SELECT sha256 FROM model_version_files")}


class ArtifactStoreMixin:
    """The artifact methods of :class:`~.sqlite_store.Store`; it relies on ``self._db``, ``self._files`` and
    ``self._access``."""

    _db: Database
    _files: ArtifactFiles
    _access: AccessCache

    def log_artifact(self, run_id: str, source: bytes | bytearray | memoryview | str | os.PathLike[str],
                     name: str | None = None,
                     kind: str = "file") -> Artifact:
        """Attach a file (copied) or bytes to a run under ``name`` (default: the file's name). Identical content
        is stored once for the whole store; logging a name again replaces that run's link."""
        if name is None:
            if isinstance(source, bytes | bytearray | memoryview):
                raise StoreError("an artifact given as bytes needs a name")
            name = Path(source).name
        self._access.check_run(run_id, "log")
        with self._db.read() as conn:
            _q.require_run(conn, run_id)  # before copying a possibly large file
        sha, size = self._files.put(source)
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            row = link(conn, run_id, name, kind, sha, size)
        return artifact_from_row(self._files, row)

    def get_artifact(self, run_id: str, name: str) -> Artifact:
        self._access.check_run(run_id, "read")
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE run_id = ? AND name = ?",
                               (run_id, name)).fetchone()
        if row is None:
            raise NotFoundError(f"run {run_id!r} has no artifact {name!r}")
        return artifact_from_row(self._files, row)

    def artifact_path(self, run_id: str, name: str) -> Path:
        """Where the content of a run's artifact is (shared by identical artifacts: do not modify it)."""
        return self.get_artifact(run_id, name).path

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        self._access.check_run(run_id, "read")
        with self._db.read() as conn:
            _q.require_run(conn, run_id)
            rows = conn.execute(f"SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE run_id = ? ORDER BY name",
                                (run_id,)).fetchall()
        return [artifact_from_row(self._files, row) for row in rows]

    def prune_artifacts(self, grace_seconds: float = 3600.0) -> list[str]:
        """Delete stored files no run refers to any more (older than ``grace_seconds``); returns their hashes."""
        with self._db.read() as conn:
            referenced = referenced_hashes(conn)
        return self._files.prune(referenced, grace_seconds)
