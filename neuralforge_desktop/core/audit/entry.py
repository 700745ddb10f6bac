"""One audit entry, its canonical encoding and hash, and who is acting.

The hash covers (seq, time, who, kind, subject, details, prev_hash) encoded as one canonical JSON array (sorted
keys, no whitespace, UTF-8, floats in Python's shortest round-trip form): the same entry always encodes to the
same bytes, on any machine, so a verifier recomputes exactly the hash the writer stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.store.environment import canonical_json

GENESIS_HASH = "0" * 64  # the prev_hash of entry 1: there is nothing before it
COLUMNS = "seq, time, who, kind, subject, details, prev_hash, hash, key_id, signature"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: float
    who: str
    kind: str
    subject: str
    details: str  # canonical JSON text, exactly as hashed
    prev_hash: str
    hash: str
    key_id: str | None = None
    signature: str | None = None

    @classmethod
    def from_row(cls, row: tuple) -> AuditEntry:
        return cls(*row)

    def details_value(self) -> Any:
        try:
            return json.loads(self.details)
        except ValueError:  # a hand-edited row: verify reports it; listing still shows the text
            return self.details

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "who": self.who, "kind": self.kind, "subject": self.subject,
                "details": self.details_value(), "prev_hash": self.prev_hash, "hash": self.hash,
                "key_id": self.key_id, "signature": self.signature}

    def describe(self) -> str:
        return f"entry #{self.seq} ({self.kind} {self.subject})"


def canonical_encoding(seq: int, time: float, who: str, kind: str, subject: str, details: str,
                       prev_hash: str) -> bytes:
    return canonical_json([seq, time, who, kind, subject, details, prev_hash]).encode("utf-8")


def entry_hash(seq: int, time: float, who: str, kind: str, subject: str, details: str, prev_hash: str) -> str:
    return hashlib.sha256(canonical_encoding(seq, time, who, kind, subject, details, prev_hash)).hexdigest()


def computed_hash(entry: AuditEntry) -> str:
    return entry_hash(entry.seq, entry.time, entry.who, entry.kind, entry.subject, entry.details, entry.prev_hash)


def who() -> str:
    """The user acting: the same name runs, comments and approvals are recorded under (a shared store's account
    named by NEURALFORGE_USER, else the operating-system user)."""
    from neuralforge_desktop.core.team.identity import current_user

    return current_user()
