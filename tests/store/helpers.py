"""Helpers shared by the store tests: process start method and direct looks into the SQLite file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path


def mp_context() -> multiprocessing.context.BaseContext:
    # fork starts 8 workers in milliseconds; spawn where fork does not exist (the Store handles both).
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _is_url(path: Path | str) -> bool:
    return isinstance(path, str) and path.startswith("postgresql://")


def _pg_rows(url: str, query: str, args: tuple = ()) -> list[tuple]:
    # Through the store's own translation, so a test's SQLite-dialect query means the same on PostgreSQL.
    from neuralforge_desktop.core.store import location
    from neuralforge_desktop.core.store.pg_database import PgDatabase

    db = PgDatabase(location.parse(url))
    try:
        with db.write() as conn:
            return [tuple(row) for row in conn.execute(query, args).fetchall()]
    finally:
        db.close()


def integrity(path: Path | str) -> str:
    if _is_url(path):  # a server keeps its own files consistent; the store's constraints are checked on write
        return "ok"
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def sql(path: Path | str, query: str, args: tuple = ()) -> list[tuple]:
    if _is_url(path):
        return _pg_rows(str(path), query, args)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def chunk_counts(path: Path | str, run_id: str, name: str) -> list[int]:
    rows = sql(path, "SELECT count FROM metric_chunks WHERE run_id = ? AND name = ? ORDER BY seq", (run_id, name))
    return [count for (count,) in rows]
