"""The store on a PostgreSQL server: the same transactions as :class:`.database.Database`, over psycopg 3.

Concurrency model. Every write transaction starts with ``SELECT pg_advisory_xact_lock(K)`` (one constant for
every NeuralForge store in the database): writers run one at a time, as on SQLite, so the read-modify-write
of run revisions and the audit log's hash chain stay correct without a retry loop. The lock goes with the
transaction's COMMIT or ROLLBACK, also when the client dies (the server ends its session). Reads are
``REPEATABLE READ READ ONLY`` transactions: every statement inside sees one snapshot and never waits for a
writer. Every write is one transaction: a failure anywhere rolls back all of it.

Lost connections. A write whose connection is lost (server restart, network, the session terminated) fails
with :class:`ConnectionLostError` ("nothing of it was saved": the server rolled it back); the next call
reconnects. The batch metric path (:meth:`Store.log_batch`) repeats itself once on a new connection, since a
batch is written whole or not at all. A connection found dead when a transaction begins (the server restarted
while the app sat idle) is replaced at once: nothing was sent yet.

The code that uses the store is written against sqlite3's connection; :class:`PgConnection` looks like one
(``execute`` returning a cursor with ``fetchone``/``fetchall``/``lastrowid``/``rowcount``, ``executemany``)
and :mod:`.sql_translate` spells each statement for PostgreSQL. psycopg's errors become the sqlite3 error
classes callers catch (a unique violation is a :class:`sqlite3.IntegrityError`), or :class:`StoreError`.

Processes. A connection must not cross ``fork()`` (the parent and child would share one socket), so a forked
child opens its own and leaves the inherited one untouched (closing it would end the parent's session).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store import schema
from neuralforge_desktop.core.store.entities import StoreError, StoreFileError
from neuralforge_desktop.core.store.location import PgLocation, redact
from neuralforge_desktop.core.store.sql_translate import Translated, Translator

WRITE_LOCK_KEY = 0x4E46_5374  # "NFst", as the SQLite files' application_id
_ABANDONED: list[Any] = []  # connections inherited across fork: kept, never closed
_LIVE: weakref.WeakSet[PgDatabase] = weakref.WeakSet()


class ConnectionLostError(StoreError, UserError):
    """The connection to the server was lost during a transaction (which the server rolled back)."""


class PgIntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL enforced (unique, foreign key, check, not null)."""


class PgOperationalError(sqlite3.OperationalError):
    """Any other error PostgreSQL reported for a statement."""


class PgCursor:
    """The part of sqlite3.Cursor the store's code uses."""

    def __init__(self, cursor: Any, translated: Translated | None) -> None:
        self._cursor = cursor
        self.lastrowid: int | None = None
        self._rows_pending = cursor is not None and cursor.description is not None
        if translated is not None and translated.returns_id and self._rows_pending:
            row = cursor.fetchone()
            self.lastrowid = int(row[0]) if row is not None else None
            self._rows_pending = False

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._rows_pending else None

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall()) if self._rows_pending else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return list(self._cursor.fetchmany(size)) if self._rows_pending else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor) if self._rows_pending else iter(())


class PgConnection:
    """What the store's modules see inside ``Database.write()``/``read()`` on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, database: PgDatabase, raw: Any, translate: Translator, *, writing: bool) -> None:
        self._database = database
        self._raw = raw
        self._translate = translate
        self._writing = writing

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PgCursor:
        translated = self._translate(sql)
        if translated is None:  # a PRAGMA: SQLite-only, nothing to do here
            return PgCursor(None, None)
        with self._database.errors(writing=self._writing):
            # Binary results: a metric chunk's bytea arrives as its bytes, not as hex text to decode.
            cursor = self._raw.cursor(binary=True)
            cursor.execute(translated.sql, _parameters(parameters))
            return PgCursor(cursor, translated)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        translated = self._translate(sql)
        if translated is None:
            return PgCursor(None, None)
        plain = Translated(translated.sql[:-len(" RETURNING id")], False) if translated.returns_id else translated
        with self._database.errors(writing=self._writing):
            cursor = self._raw.cursor()
            cursor.executemany(plain.sql, [_parameters(row) for row in rows])
            return PgCursor(cursor, plain)

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        """The SQL functions the store needs exist in the database (created by its migrations)."""


def _parameter(value: Any) -> Any:
    kind = type(value)
    if kind is float and math.isnan(value):
        return None  # SQLite stores NaN as NULL and the store's code relies on it; PostgreSQL would keep NaN
    if kind is bool:
        return int(value)  # SQLite stores True as 1 (booleans are INTEGER 0/1 columns)
    return value


def _parameters(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_parameter(v) for v in values)


class PgDatabase:
    dialect = "postgresql"

    def __init__(self, location: PgLocation, *, lock_timeout: float = 120.0,
                 newest_version: int = schema.SCHEMA_VERSION) -> None:
        self.location = location
        self.path = location.display  # what messages name: the URL without its password
        self.user = location.user
        self.newest_version = newest_version
        self.lock_timeout = lock_timeout
        self.retries = 0
        self._conn: Any = None
        self._pid = -1
        self._lock = threading.RLock()
        self._translate = Translator()
        _LIVE.add(self)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # -- connecting ------------------------------------------------------------------------------------------

    def connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid() or self._conn.closed:
            self._conn = self._connect()
            self._pid = os.getpid()
        return self._conn

    def _connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(**self.location.connect_args(), autocommit=True, connect_timeout=10,
                                   application_name="neuralforge")
        except psycopg.Error as exc:
            raise StoreFileError(self._connect_message(exc)) from None
        _load_numeric_as_sqlite_does(conn)
        self._load_tables(conn)
        return conn

    def _connect_message(self, exc: BaseException) -> str:
        text = redact(str(exc), self.location)
        lower = text.lower()
        where = f"the PostgreSQL server at {self.location.server}"
        if "password authentication failed" in lower or "no password supplied" in lower:
            why = (f"{where} refused user {self.location.user!r}: wrong password or no such user "
                   "(check the URL's user and password, or ~/.pgpass)")
        elif "does not exist" in lower and "database" in lower:
            why = (f"{where} has no database {self.location.dbname!r}; create it (createdb {self.location.dbname}) "
                   "or fix the URL")
        elif "role" in lower and "does not exist" in lower:
            why = f"{where} has no user {self.location.user!r}; fix the URL's user"
        elif "translate host name" in lower or "name or service not known" in lower:
            why = f"cannot find the host {self.location.host!r} of the store URL; check its spelling"
        elif "refused" in lower or "timeout" in lower or "timed out" in lower or "no route" in lower:
            why = f"cannot reach {where}: is the server running and the port right?"
        else:
            why = f"cannot connect to {where} (database {self.location.dbname!r}, user {self.location.user!r})"
        detail = " ".join(text.split())
        return f"{why} [{detail}]" if detail else why

    def _load_tables(self, conn: Any) -> None:
        """Primary keys and identity columns of the store's tables, for INSERT OR REPLACE and lastrowid."""
        keys: dict[str, list[str]] = {}
        rows = conn.execute(
            "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
            "AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name "
            "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() "
            "ORDER BY tc.table_name, kcu.ordinal_position").fetchall()
        for table, column in rows:
            keys.setdefault(table, []).append(column)
        for table, columns in conn.execute(
                "SELECT t.relname, array_agg(a.attname ORDER BY k.ordinality) FROM pg_index i "
                "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality) "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
                "WHERE i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL AND n.nspname = current_schema() "
                "GROUP BY i.indexrelid, t.relname").fetchall():
            known = self._translate.unique_keys.setdefault(table, [])
            if tuple(columns) not in known:
                known.append(tuple(columns))
        identity = {table for (table,) in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND column_name = 'id' AND is_identity = 'YES'").fetchall()}
        self._translate.primary_keys.update({t: tuple(c) for t, c in keys.items()})
        self._translate.identity_tables.update(identity)

    # -- transactions ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the store's write lock from its first statement; commits or rolls
        back as a whole."""
        with self._lock:
            with self.errors(writing=True):
                # One round trip (no parameters: psycopg sends it as one simple query).
                raw = self._begin(f"BEGIN ISOLATION LEVEL READ COMMITTED; "
                                  f"SET LOCAL lock_timeout = '{max(1, int(self.lock_timeout * 1000))}ms'; "
                                  f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
            try:
                yield cast(sqlite3.Connection, PgConnection(self, raw, self._translate, writing=True))  # duck-typed
            except BaseException:
                self._rollback(raw)
                raise
            with self.errors(writing=True):
                try:
                    raw.execute("COMMIT")
                except BaseException:
                    self._rollback(raw)
                    raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        with self._lock:
            with self.errors():
                raw = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield cast(sqlite3.Connection, PgConnection(self, raw, self._translate, writing=False))
            finally:
                self._rollback(raw)

    def _begin(self, sql: str) -> Any:
        """Start a transaction; a connection found dead at this point (the server restarted while we were idle)
        is replaced once: nothing of the transaction was sent yet, so starting it again is safe."""
        import psycopg

        raw = self.connection()
        try:
            raw.execute(sql)
            return raw
        except psycopg.OperationalError:
            if not (raw.closed or raw.broken):
                self._rollback(raw)
                raise
        self._conn = None
        raw = self.connection()
        try:
            raw.execute(sql)
        except BaseException:
            self._rollback(raw)
            raise
        return raw

    def _rollback(self, raw: Any) -> None:
        import psycopg

        with contextlib.suppress(psycopg.Error):
            if not raw.closed:
                raw.execute("ROLLBACK")

    @contextlib.contextmanager
    def errors(self, *, writing: bool = False) -> Iterator[None]:
        """psycopg's errors as the sqlite3 classes (or StoreError) the store's callers expect."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise self._mapped(exc, writing) from exc

    def _mapped(self, exc: BaseException, writing: bool) -> BaseException:
        import psycopg
        from psycopg import errors

        text = redact(" ".join(str(exc).split()), self.location)
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self._conn = None  # the next call reconnects
            if writing:
                return ConnectionLostError(f"lost the connection to the PostgreSQL server at {self.location.server} "
                                           "during a write; nothing of it was saved")
            return ConnectionLostError(f"lost the connection to the PostgreSQL server at {self.location.server} "
                                       "during a read; try again")
        if isinstance(exc, errors.LockNotAvailable):
            return StoreError(f"{self.path}: the store stayed locked for {self.lock_timeout:.0f} s")
        if isinstance(exc, psycopg.IntegrityError):
            return PgIntegrityError(text)
        return PgOperationalError(text)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = None

    def _forget_after_fork(self) -> None:
        if self._conn is not None:
            _ABANDONED.append(self._conn)
        self._conn = None
        self._lock = threading.RLock()


def _load_numeric_as_sqlite_does(conn: Any) -> None:
    """SUM() of an integer column is ``numeric`` on PostgreSQL (a Decimal in Python); SQLite gives an int. Whole
    numerics load as int, others as float, so callers see the same types on both."""
    from decimal import Decimal

    from psycopg.types.numeric import NumericBinaryLoader, NumericLoader

    def plain(number: Decimal) -> int | float:
        return int(number) if number.is_finite() and number == number.to_integral_value() else float(number)

    class TextLoader(NumericLoader):
        def load(self, data: Any) -> Any:
            return plain(super().load(data))

    class BinaryLoader(NumericBinaryLoader):
        def load(self, data: Any) -> Any:
            return plain(super().load(data))

    conn.adapters.register_loader("numeric", TextLoader)
    conn.adapters.register_loader("numeric", BinaryLoader)


def _after_fork_in_child() -> None:
    for db in list(_LIVE):
        db._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
