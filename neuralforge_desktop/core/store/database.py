"""One SQLite connection per process, and transactions that wait for each other instead of failing.

Concurrency model. The file is in WAL mode: readers never block the writer nor each other, and there is one
writer at a time. Every write starts with ``BEGIN IMMEDIATE``, which takes the write lock up front: a
transaction that began as a reader and later tried to write could otherwise fail with SQLITE_BUSY in the
middle (the deadlock SQLite resolves by refusing one side), and that cannot be retried from here. Waiting
for the lock is done twice over: SQLite's own busy handler (``busy_timeout``) sleeps in small steps, and
around it a retry loop with jittered exponential backoff handles the BUSY cases the handler is not called
for (WAL recovery, a checkpoint in progress) and keeps 8 or more writers from waking in lockstep. Only when
``lock_timeout`` passes without the lock does a write fail, with :class:`StoreError`.

``synchronous=NORMAL``: in WAL mode a committed transaction survives a crash of the process (kill -9); a
power cut may lose the last few commits, never corrupt the file. Commits then cost no fsync, which is
what makes small flushes cheap.

Hostile files. Before the first connection writes anything (even ``journal_mode``), :mod:`.guard` judges the
file and refuses anything that is not ours or new, leaving it byte for byte as it was. SQLite errors that
mean the file itself is unusable (damaged, read-only, a full disk) become :class:`StoreFileError`, a one-line
error naming the file, instead of a traceback.

Processes. A connection must not cross ``fork()`` (SQLite's locks belong to the process that took them), so
the connection is opened lazily by the process that uses it; a forked child opens its own and leaves the
inherited one untouched (closing it could disturb the parent's WAL state).
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from neuralforge_desktop.core.store import guard, schema
from neuralforge_desktop.core.store.entities import StoreDiskFullError, StoreError, StoreFileError

T = TypeVar("T")
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (extended codes share the low byte)
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = (
    3, 8, 10, 11, 13, 14, 26)
_ABANDONED: list[sqlite3.Connection] = []  # connections inherited across fork: kept, never closed
_LIVE: weakref.WeakSet[Database] = weakref.WeakSet()


def is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    text = str(error).lower()
    return "locked" in text or "busy" in text


def file_error(path: Path, error: sqlite3.Error) -> StoreFileError | None:
    """The :class:`StoreFileError` for an SQLite error that is about the file itself, else None."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_FULL:
        return StoreDiskFullError(f"the store {path}", str(error))
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreFileError(f"the store {path} is damaged ({error}); restore it from a backup or use another file")
    if code == _SQLITE_READONLY:
        return StoreFileError(f"the store {path} is read-only ({error}); make it writable or use another file")
    if code in (_SQLITE_PERM, _SQLITE_CANTOPEN, _SQLITE_IOERR):
        return StoreFileError(f"cannot read or write the store {path} ({error})")
    return None


class Database:
    """The store's SQLite file. :class:`.pg_database.PgDatabase` is the same interface on PostgreSQL: ``write()``,
    ``read()``, ``lock``, ``close()``, ``retries``, ``dialect`` and ``user`` (who the server knows us as)."""

    dialect = "sqlite"
    user: str | None = None  # a file has no login

    def __init__(self, path: Path, *, busy_timeout: float = 2.0, lock_timeout: float = 120.0,
                 newest_version: int = schema.SCHEMA_VERSION) -> None:
        self.path = path
        self.newest_version = newest_version  # the schema version this program writes (for the guard)
        self.busy_timeout = busy_timeout
        self.lock_timeout = lock_timeout
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        # Guards the connection when a Store is shared between threads; re-entrant because a write may
        # flush buffered metrics, which writes again.
        self._lock = threading.RLock()
        self.retries = 0  # how many times a busy database made us back off (for tests and diagnostics)
        _LIVE.add(self)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _open_elsewhere_in_this_process(self) -> bool:
        try:
            here = self.path.resolve()
        except OSError:
            return False
        pid = os.getpid()
        for db in list(_LIVE):
            if db is not self and db._conn is not None and db._pid == pid:
                try:
                    if db.path.resolve() == here:
                        return True
                except OSError:
                    continue
        return False

    def _open(self) -> sqlite3.Connection:
        if not self._open_elsewhere_in_this_process():
            # Judged only when no connection of this process has the file: POSIX locks belong to the process
            # and the guard's plain open()/close() of the file would release that connection's locks, letting
            # another process delete the write-ahead log under it. A file open here was judged already.
            guard.check_store_file(self.path, self.newest_version)  # before anything writes to the file, or raises
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreFileError(f"cannot create the folder of the store {self.path}: {exc.strerror or exc}") from None
        try:
            # isolation_level=None: the driver must not open transactions behind our back; we issue BEGIN.
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise file_error(self.path, exc) or exc from None
        try:
            # Switching to WAL needs a brief exclusive lock, which a crowd of processes opening a new file
            # at once can make busy; it persists in the file, so later opens find it already set.
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -16384")  # 16 MiB: a few long histories stay in memory
        except sqlite3.Error as exc:
            conn.close()
            raise file_error(self.path, exc) or exc from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _retry(self, action: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.001
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreError(f"{self.path}: database stayed locked for {self.lock_timeout:.0f} s") from error
                self.retries += 1
                time.sleep(delay * (0.5 + random.random()))  # jitter: waiting writers must not wake together
                delay = min(delay * 2, 0.1)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the write lock from its first statement; commits or rolls back."""
        with self._lock, self._file_errors():
            conn = self.connection()
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                # In WAL mode COMMIT takes no further lock; the retry is for a file where WAL was refused.
                self._retry(lambda: conn.execute("COMMIT"))
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot of the file."""
        with self._lock, self._file_errors():
            conn = self.connection()
            self._retry(lambda: conn.execute("BEGIN"))
            try:
                yield conn
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    @contextlib.contextmanager
    def _file_errors(self) -> Iterator[None]:
        """An SQLite error about the file itself (damaged, full, read-only) leaves as a StoreFileError."""
        try:
            yield
        except sqlite3.Error as exc:
            translated = file_error(self.path, exc)
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _forget_after_fork(self) -> None:
        if self._conn is not None:
            _ABANDONED.append(self._conn)
        self._conn = None
        self._lock = threading.RLock()  # another thread may have held the old one at fork time


def _after_fork_in_child() -> None:
    for db in list(_LIVE):
        db._forget_after_fork()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
