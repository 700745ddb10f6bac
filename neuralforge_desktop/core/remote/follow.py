"""Keeping in touch with a host while a run lasts: a connection that comes back after a drop, and files on the
host read from a byte offset.

A run outlives the connection that started it: the laptop sleeps, Wi-Fi drops, the host's sshd restarts. So
:class:`Link` reopens the connection with backoff (up to ``retry_for`` seconds after the drop) and whoever reads
the run's files continues from the last byte it had: nothing is missed and nothing is read twice. The very first
connection is different: a host that cannot be reached at all fails after ``first_timeout`` with the reason, and
a key or login that is refused fails at once (waiting does not fix it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from neuralforge_desktop.core.remote.hosts import Host
from neuralforge_desktop.core.remote.ssh import Connection, Unreachable

T = TypeVar("T")
Opener = Callable[[Host], Connection]


class Link:
    """The connection to one host, reopened when it drops. Not shared between threads without a lock."""

    def __init__(self, host: Host, *, opener: Opener | None = None, first_timeout: float = 60.0,
                 retry_for: float = 6 * 3600.0, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.host = host
        self._opener: Opener = opener or (lambda h: Connection.open(h))
        self.first_timeout = first_timeout
        self.retry_for = retry_for
        self._sleep = sleep
        self._on_retry = on_retry
        self._conn: Connection | None = None
        self._ever_connected = False
        self.reconnects = 0
        self.closed = False

    def connection(self) -> Connection:
        if self._conn is not None and self._conn.alive:
            return self._conn
        self._drop()
        limit = self.retry_for if self._ever_connected else self.first_timeout
        deadline = time.monotonic() + limit
        delay = 0.25
        while True:
            if self.closed:
                raise Unreachable(f"host {self.host.name!r}: the link was closed")
            try:
                self._conn = self._opener(self.host)
            except Unreachable as exc:
                if time.monotonic() + delay > deadline:
                    raise Unreachable(f"{exc} (tried for {limit:.0f} s)") from exc
                if self._on_retry is not None:
                    self._on_retry(f"{exc}; trying again in {delay:.1f} s")
                self._sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            return self._conn

    def call(self, action: Callable[[Connection], T]) -> T:
        """``action(connection)``; when the connection broke under it, reconnect and do it again (the actions
        given here are reads, or writes that can be repeated)."""
        while True:
            conn = self.connection()
            try:
                return action(conn)
            except Exception:
                if conn.alive and not self.closed:
                    raise  # the connection is fine: the error is the action's own
                self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self.closed = True
        self._drop()


class RemoteFile:
    """A growing file on the host (an event log), read in whole lines from where the last read stopped."""

    def __init__(self, path: str, offset: int = 0) -> None:
        self.path = path
        self.offset = offset

    def read_lines(self, conn: Connection, limit: int = 4 << 20) -> bytes:
        """The whole lines added since the last read (a line still being written waits for the next read)."""
        data = conn.read_from(self.path, self.offset, limit)
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end]

    def peek(self, conn: Connection, limit: int = 4 << 20) -> bytes:
        """The whole lines from ``offset``, without moving it (the reader commits the offset itself)."""
        data = conn.read_from(self.path, self.offset, limit)
        return data[: data.rfind(b"\n") + 1]

