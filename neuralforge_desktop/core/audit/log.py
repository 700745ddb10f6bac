"""Appending to the audit log, and reading it back.

An append is one short ``BEGIN IMMEDIATE`` transaction: read the last entry's sequence number and hash, insert
the next entry chained to it, commit. The write lock is taken before the read, so two processes appending at
once cannot both chain to the same predecessor: 8 processes appending together still leave one chain. The
slow part (loading or creating the signing key) happens before the transaction; inside it there is one
index lookup, one sha256 and one ed25519 signature (well under a millisecond), so training, which writes its
metrics through the same lock, never waits on the audit log for longer than that.

:func:`record_event` is what the rest of NeuralForge calls: auditing must never break the work being audited,
so any failure there is logged and counted (:func:`failure_count`) instead of raised.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.audit import signing
from neuralforge_desktop.core.audit.entry import COLUMNS, GENESIS_HASH, AuditEntry, entry_hash, who
from neuralforge_desktop.core.store.environment import canonical_json

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

_log = logging.getLogger(__name__)
_failures = 0
_failures_lock = threading.Lock()
_DEFAULT_STORES: dict[Path, Store] = {}


def append(store: Store, kind: str, subject: str, details: Mapping[str, Any] | None = None, *,
           sign: bool = True, key_path: Path | None = None) -> AuditEntry:
    """Append one entry and return it; raises on failure (see :func:`record_event` for the forgiving call)."""
    details_text = canonical_json(dict(details or {}))
    signer = None
    if sign:
        try:
            signer = signing.installation_signer(key_path)
        except (OSError, ValueError) as exc:  # no writable config folder, or a damaged key file
            _log.warning("audit entries are written unsigned: the signing key is unusable (%s)", exc)
    actor = who()
    with store.database.write() as conn:
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS_HASH)
        now = time.time()  # inside the lock: times rise with the sequence
        digest = entry_hash(seq, now, actor, kind, subject, details_text, prev_hash)
        key_id = signature = None
        if signer is not None:
            conn.execute("INSERT OR IGNORE INTO audit_keys (key_id, public_key, created, who) VALUES (?, ?, ?, ?)",
                         (signer.key_id, signer.public_key_hex, now, actor))
            key_id, signature = signer.key_id, signer.sign(digest)
        conn.execute(f"INSERT INTO audit_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, now, actor, kind, subject, details_text, prev_hash, digest, key_id, signature))
    return AuditEntry(seq, now, actor, kind, subject, details_text, prev_hash, digest, key_id, signature)


def record_event(store: Store | None, kind: str, subject: str, details: Mapping[str, Any] | None = None) -> None:
    """Append an entry to ``store``'s audit log (None: the default store, as the app and CLI use it). Never
    raises: a failure is logged and counted, and the caller's work goes on."""
    global _failures
    try:
        append(store if store is not None else _default_store(), kind, subject, details)
    except Exception as exc:
        with _failures_lock:
            _failures += 1
        _log.warning("could not record audit event %s %s: %s", kind, subject, exc)


def record_event_at(store_path: str | os.PathLike[str] | None, kind: str, subject: str,
                    details: Mapping[str, Any] | None = None) -> None:
    """:func:`record_event` for a caller that holds no open store, only its path (None: the default store).
    Never raises, not even when the store cannot be opened."""
    global _failures
    if store_path is None:
        record_event(None, kind, subject, details)
        return
    from neuralforge_desktop.core.store.sqlite_store import Store

    try:
        with Store(store_path) as store:
            append(store, kind, subject, details)
    except Exception as exc:
        with _failures_lock:
            _failures += 1
        _log.warning("could not record audit event %s %s in %s: %s", kind, subject, store_path, exc)


def failure_count() -> int:
    """How many :func:`record_event` calls in this process failed to write their entry."""
    return _failures


def _default_store() -> Store:
    from neuralforge_desktop.core.store.sqlite_store import Store, default_store_path

    path = default_store_path()
    store = _DEFAULT_STORES.get(path)
    if store is None:
        store = _DEFAULT_STORES[path] = Store(path)
    return store


def entries(store: Store, *, since: float | None = None, kind: str | None = None, actor: str | None = None,
            limit: int | None = None) -> list[AuditEntry]:
    """Entries in sequence order, filtered by time (``since``, epoch seconds), ``kind`` (exact, or a prefix
    ending in "." such as "registry.") and ``actor`` (the who column)."""
    where: list[str] = []
    args: list[Any] = []
    if since is not None:
        where.append("time >= ?")
        args.append(since)
    if kind:
        if kind.endswith("."):
            where.append("substr(kind, 1, ?) = ?")
            args += [len(kind), kind]
        else:
            where.append("kind = ?")
            args.append(kind)
    if actor:
        where.append("who = ?")
        args.append(actor)
    sql = f"SELECT {COLUMNS} FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit):d}"
    with store.read_transaction() as conn:
        return [AuditEntry.from_row(row) for row in conn.execute(sql, args)]
