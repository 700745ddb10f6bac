"""The store's SQLite schema, versioned, with ordered migrations.

``schema_version`` has one row per migration applied (version, when). Opening a store runs every migration
newer than the file's version, in order, inside the single write transaction that also re-reads the version,
so two processes opening an old file at once cannot both migrate it, and a failing migration leaves the
file exactly as it was (SQLite DDL is transactional). A file from a newer NeuralForge is refused rather
than written with assumptions that may no longer hold.

Every store is stamped with ``PRAGMA application_id`` (:data:`.guard.APPLICATION_ID`) and ``user_version`` =
its schema version, in the migrating transaction, so other programs' SQLite files can be told apart from
ours by their header alone (see :mod:`.guard`); stores from before the stamp are stamped when next opened.

Migrations are never edited once released: a change is a new function appended to ``MIGRATIONS``.

The same migrations build a team store on PostgreSQL: each statement is translated by :mod:`.sql_translate`
(types, ``AUTOINCREMENT``, ``INSERT OR …``), PRAGMAs are skipped there, and a migration that needs something
else (v5's triggers) branches on :func:`dialect`. DDL is transactional on PostgreSQL too, and the migrating
transaction holds the store's write lock (an advisory lock), so one process migrates.

What each version adds is listed in :mod:`.schema_sql`, which holds their SQL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from neuralforge_desktop.core.store import schema_sql as sql
from neuralforge_desktop.core.store.entities import StoreFileError
from neuralforge_desktop.core.store.guard import APPLICATION_ID

Migration = Callable[[sqlite3.Connection], None]

def _run_all(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    # executescript() would COMMIT first and break the one-transaction guarantee; run statements one by one.
    for statement in statements:
        conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V1)


def _v2(conn: sqlite3.Connection) -> None:
    from neuralforge_desktop.core.store import chunks

    _run_all(conn, sql.V2)
    series = conn.execute("SELECT DISTINCT run_id, name FROM metric_chunks").fetchall()
    for run_id, name in series:
        points = chunks.read(conn, run_id, name)
        if len(points[0]):
            chunks.write_latest(conn, run_id, chunks.summarize(name, *points))


def _v3(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V3)


def _v4(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V4)


def _v5(conn: sqlite3.Connection) -> None:
    if dialect(conn) == "postgresql":  # triggers are PL/pgSQL there: same stamps, same columns and events
        from neuralforge_desktop.core.store import pg_functions

        _run_all(conn, [s for s in sql.V5 if not s.startswith("CREATE TRIGGER")])
        _run_all(conn, pg_functions.revision_triggers(sql.RUN_FIELDS))
        return
    _run_all(conn, sql.V5)


def _v6(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V6)


def _v7(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V7)


def _v8(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V8)


def _v9(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V9)


def _v10(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V10)


def _v11(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V11)


def _v12(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V12)


def _v13(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V13)


def _v14(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V14)


def _v15(conn: sqlite3.Connection) -> None:
    _run_all(conn, sql.V15)


MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial schema", _v1),
    (2, "latest_metrics table; status and tag indexes", _v2),
    (3, "queue table", _v3),
    (4, "diagnostics table", _v4),
    (5, "run revisions for incremental refresh; runs by creation time", _v5),
    (6, "notes table", _v6),
    (7, "model registry tables", _v7),
    (8, "monitoring: served requests, samples, feedback, drift reports, alerts", _v8),
    (9, "deployment pipelines: pipeline runs and their stages", _v9),
    (10, "audit log: hash-chained entries and their signing keys", _v10),
    (11, "model cards", _v11),
    (12, "who created each run and owns each project", _v12),
    (13, "users and their roles in projects", _v13),
    (14, "comments, mentions and review requests", _v14),
    (15, "project budgets and budget alerts", _v15),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def dialect(conn: sqlite3.Connection) -> str:
    """"sqlite", or "postgresql" for the connection a PostgreSQL store hands out (see :mod:`.pg_database`)."""
    return str(getattr(conn, "dialect", "sqlite"))


def _table_names(conn: sqlite3.Connection) -> list[str]:
    if dialect(conn) == "postgresql":
        return [name for (name,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = current_schema()").fetchall()]
    return [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]


def current_version(conn: sqlite3.Connection) -> int:
    exists = "schema_version" in _table_names(conn)
    if not exists:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def missing_versions(conn: sqlite3.Connection,
                     migrations: Sequence[tuple[int, str, Migration]] = MIGRATIONS) -> list[int]:
    """Migrations numbered below the file's version that it never had: numbers are handed out ahead of time, so
    one may be released after a higher one (v13 after v14 and v15); opening the file applies it then."""
    found = current_version(conn)
    if found == 0:
        return []
    applied = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version").fetchall()}
    return [version for version, _description, _apply in migrations if version <= found and version not in applied]


def is_stamped(conn: sqlite3.Connection) -> bool:
    if dialect(conn) == "postgresql":  # no file header there: "stamped" means the SQL functions are current
        from neuralforge_desktop.core.store import pg_functions

        return pg_functions.installed(conn)
    return int(conn.execute("PRAGMA application_id").fetchone()[0]) == APPLICATION_ID


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION,
            migrations: Sequence[tuple[int, str, Migration]] = MIGRATIONS) -> int:
    """Bring the schema to ``target`` and stamp the file as ours; returns the version found. Call inside a
    write transaction."""
    found = current_version(conn)
    newest = migrations[-1][0] if migrations else 0
    if found > newest:
        raise StoreFileError(f"the store has schema version {found}, newer than this NeuralForge understands "
                             f"({newest}); open it with a newer version")
    if found == 0:
        # The guard let the file through as new; tables written meanwhile by another program are theirs.
        others = _table_names(conn)
        if others:
            what = "database" if dialect(conn) == "postgresql" else "file is an SQLite database that"
            raise StoreFileError(f"the {what} is not a NeuralForge store (tables: "
                                 f"{', '.join(sorted(others))}); it was left untouched")
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied REAL NOT NULL)")
    if dialect(conn) == "postgresql":  # before the migrations: v5's triggers call one of them
        from neuralforge_desktop.core.store import pg_functions

        pg_functions.install(conn)
    missing = set(missing_versions(conn, migrations))
    for version, _description, apply in migrations:
        if found < version <= target or version in missing:
            apply(conn)
            conn.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)", (version, time.time()))
    if dialect(conn) == "postgresql":
        from neuralforge_desktop.core.store import pg_functions

        pg_functions.store_blobs_uncompressed(conn)
        return found
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")  # PRAGMAs take no parameters; both are ints
    conn.execute(f"PRAGMA user_version = {max(found, min(target, newest)):d}")
    return found
