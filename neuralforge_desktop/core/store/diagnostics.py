"""A run's training diagnostics (schema v4): one row per record, its JSON compressed with zlib.

The records are the plain dataclasses of :mod:`neuralforge_desktop.core.training.coach.records` (layer
statistics, histograms, input statistics, the first NaN/Inf). A row holds ``record_to_json(record)`` as
compact JSON, zlib-compressed: a layer-statistics record of a 50-layer model is ~4 KB of JSON and ~1.5 KB
stored, so a long run at the default level adds well under a megabyte.

``seq`` tells apart two records of one kind at one step: a run resumed after a crash re-trains the steps
after its last checkpoint and records them again. Readers that want one record per step keep the last.

:class:`DiagnosticsStoreMixin` gives :class:`~.sqlite_store.Store` its diagnostics methods; it relies on
``self._db``. Writes take the store's write lock like every other write (one transaction each).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.store import queries as _q
from neuralforge_desktop.core.store.database import Database
from neuralforge_desktop.core.store.entities import StoreError
from neuralforge_desktop.core.training.coach.records import RECORD_KINDS, record_from_json, record_to_json

if TYPE_CHECKING:
    from neuralforge_desktop.core.team.access import AccessCache

# Level 6 of 9: the records are small, written every few dozen steps; higher levels gain ~2 % for 2× the time.
_COMPRESSION = 6


def encode(record: Any) -> bytes:
    # NaN and Inf stay as Python's JSON spells them: a NaN gradient norm is evidence, not a missing value.
    text = json.dumps(record_to_json(record), separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), _COMPRESSION)


def decode(kind: str, data: bytes) -> Any:
    return record_from_json(kind, json.loads(zlib.decompress(data).decode("utf-8")))


def insert(conn: sqlite3.Connection, run_id: str, kind: str, step: int, data: bytes) -> None:
    """Add one record after the run's others of that kind and step. Call inside a write transaction."""
    conn.execute("INSERT INTO diagnostics (run_id, kind, step, seq, data) VALUES (?, ?, ?, (SELECT COALESCE("
                 "MAX(seq) + 1, 0) FROM diagnostics WHERE run_id = ? AND kind = ? AND step = ?), ?)",
                 (run_id, kind, step, run_id, kind, step, data))


def _check_kind(kind: str) -> None:
    if kind not in RECORD_KINDS:
        raise StoreError(f"unknown diagnostics kind {kind!r}; expected one of {', '.join(RECORD_KINDS)}")


class DiagnosticsStoreMixin:
    """The diagnostics methods of :class:`~.sqlite_store.Store`."""

    _db: Database
    _access: AccessCache

    def log_diagnostic(self, run_id: str, kind: str, record: Any) -> None:
        """Store one record of ``kind`` (one of ``RECORD_KINDS``) for the run, at the record's own step."""
        self.log_diagnostics(run_id, [(kind, record)])

    def log_diagnostics(self, run_id: str, records: list[tuple[str, Any]]) -> None:
        """Store several ``(kind, record)`` pairs in one transaction (all or none)."""
        for kind, _ in records:
            _check_kind(kind)
        rows = [(kind, int(record.step), encode(record)) for kind, record in records]
        if not rows:
            return
        self._access.check_run(run_id, "log")
        with self._db.write() as conn:
            _q.require_run(conn, run_id)
            for kind, step, data in rows:
                insert(conn, run_id, kind, step, data)

    def diagnostic_records(self, run_id: str, kind: str | None = None) -> list[tuple[str, Any]]:
        """The run's records (of one kind, or all), oldest first: by step, then in the order written."""
        if kind is not None:
            _check_kind(kind)
        self._access.check_run(run_id, "read")
        with self._db.read() as conn:
            _q.require_run(conn, run_id)
            if kind is None:
                rows = conn.execute("SELECT kind, data FROM diagnostics WHERE run_id = ? ORDER BY step, rowid",
                                    (run_id,)).fetchall()
            else:
                rows = conn.execute("SELECT kind, data FROM diagnostics WHERE run_id = ? AND kind = ? "
                                    "ORDER BY step, rowid", (run_id, kind)).fetchall()
        return [(found, decode(found, data)) for found, data in rows]

    def has_diagnostics(self, run_id: str) -> bool:
        with self._db.read() as conn:
            return conn.execute("SELECT 1 FROM diagnostics WHERE run_id = ? LIMIT 1", (run_id,)).fetchone() is not None
