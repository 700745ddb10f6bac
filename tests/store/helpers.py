"""Helpers shared by the store tests: process start method and direct looks into the SQLite file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path


def mp_context() -> multiprocessing.context.BaseContext:
    # fork starts 8 workers in milliseconds; spawn where fork does not exist (the Store handles both).
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def sql(path: Path, query: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def chunk_counts(path: Path, run_id: str, name: str) -> list[int]:
    rows = sql(path, "SELECT count FROM metric_chunks WHERE run_id = ? AND name = ? ORDER BY seq", (run_id, name))
    return [count for (count,) in rows]
