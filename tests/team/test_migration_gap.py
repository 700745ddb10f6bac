"""Migration numbers are handed out ahead of time, so v13 (users and roles) can be released after v14: a store
that has v12 and v14 but not v13 gets v13 when opened, and a store missing nothing is not migrated again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from neuralforge_desktop.core.store import schema

LATER = (14, "a later migration released first", lambda conn: conn.execute("CREATE TABLE later (x TEXT)"))


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_migration_numbered_below_the_files_version_is_applied_when_missing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    before_13 = tuple(m for m in schema.MIGRATIONS if m[0] < 13)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=14, migrations=(*before_13, LATER))
    conn.execute("COMMIT")
    assert schema.current_version(conn) == 14 and "project_members" not in _tables(conn)

    everything = (*schema.MIGRATIONS, LATER)
    assert schema.missing_versions(conn, everything) == [13]
    conn.execute("BEGIN IMMEDIATE")
    assert schema.migrate(conn, target=14, migrations=everything) == 14
    conn.execute("COMMIT")
    assert {"users", "project_members", "later"} <= _tables(conn)
    assert schema.missing_versions(conn, everything) == []
    assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")] == list(range(1, 15))
    conn.close()
