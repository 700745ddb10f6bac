"""Walking the audit chain and naming the first entry that breaks it.

Entries are read in ``seq`` order. Each must have the next sequence number (a deleted row leaves a gap), chain
to the hash of the entry before it (an inserted or removed row, or a row moved from elsewhere, does not), hash
to its stored hash (an edited row does not, and neither do two rows whose places were swapped, since the
sequence number is hashed), and, once the chain holds signed entries, carry a valid signature from a key
recorded in the store (a chain rewritten with recomputed hashes lacks the private key to re-sign it).

What it cannot see: the last entries removed together (the chain up to there is intact), unless the signing
key's owner compares the count with what they know was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.audit.entry import COLUMNS, GENESIS_HASH, AuditEntry, computed_hash
from neuralforge_desktop.core.audit.signing import signature_is_valid

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

HASH_MISMATCH = "hash mismatch"
PREVIOUS_HASH_MISMATCH = "previous-hash mismatch"
SEQUENCE_GAP = "gap in sequence"
BAD_SIGNATURE = "bad signature"


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why."""

    seq: int
    kind: str
    subject: str
    problem: str  # one of HASH_MISMATCH, PREVIOUS_HASH_MISMATCH, SEQUENCE_GAP, BAD_SIGNATURE
    detail: str

    def describe(self) -> str:
        return f"entry #{self.seq} ({self.kind} {self.subject}): {self.problem}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "subject": self.subject, "problem": self.problem,
                "detail": self.detail}


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    signed: int
    keys: list[str] = field(default_factory=list)
    first_break: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def summary(self) -> str:
        if self.first_break is not None:
            return f"audit log BROKEN at {self.first_break.describe()}"
        return (f"audit log intact: {self.entries} entr{'y' if self.entries == 1 else 'ies'}, {self.signed} signed"
                + (f" (keys {', '.join(self.keys)})" if self.keys else ""))

    def to_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "entries": self.entries, "signed": self.signed, "keys": self.keys,
                "first_break": None if self.first_break is None else self.first_break.to_json()}


def verify(store: Store) -> VerifyReport:
    with store.read_transaction() as conn:  # one snapshot: appends meanwhile do not confuse the walk
        keys = {str(k): str(p) for k, p in conn.execute("SELECT key_id, public_key FROM audit_keys")}
        rows = conn.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY seq").fetchall()
    return check_chain([AuditEntry.from_row(row) for row in rows], keys)


def check_chain(chain: list[AuditEntry], keys: dict[str, str]) -> VerifyReport:
    expected_seq, prev_hash, signed, seen_signed = 1, GENESIS_HASH, 0, False
    used_keys: list[str] = []
    for entry in chain:
        problem = _problem(entry, expected_seq, prev_hash, keys, seen_signed)
        if problem is not None:
            return VerifyReport(len(chain), signed, used_keys,
                                ChainBreak(entry.seq, entry.kind, entry.subject, *problem))
        if entry.signature is not None:
            signed += 1
            seen_signed = True
            if entry.key_id not in used_keys:
                used_keys.append(str(entry.key_id))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return VerifyReport(len(chain), signed, used_keys)


def _problem(entry: AuditEntry, expected_seq: int, prev_hash: str, keys: dict[str, str],
             seen_signed: bool) -> tuple[str, str] | None:
    if entry.seq != expected_seq:
        missing = (f"entries #{expected_seq}–#{entry.seq - 1} are missing" if entry.seq > expected_seq
                   else f"expected #{expected_seq} after #{expected_seq - 1}")
        return SEQUENCE_GAP, missing
    if entry.prev_hash != prev_hash:
        return PREVIOUS_HASH_MISMATCH, (f"it chains to {entry.prev_hash[:12]}… but the entry before it hashes to "
                                        f"{prev_hash[:12]}… (an entry was inserted, removed or rewritten)")
    actual = computed_hash(entry)
    if actual != entry.hash:
        return HASH_MISMATCH, (f"its content hashes to {actual[:12]}… but {entry.hash[:12]}… is stored "
                               f"(the entry was edited)")
    if entry.signature is None and entry.key_id is None:
        if seen_signed:
            return BAD_SIGNATURE, "unsigned, after signed entries (the chain was rewritten without the key)"
        return None
    public_key = keys.get(str(entry.key_id))
    if public_key is None:
        return BAD_SIGNATURE, f"signed by key {entry.key_id!r}, which the store does not know"
    if entry.signature is None or not signature_is_valid(public_key, entry.hash, entry.signature):
        return BAD_SIGNATURE, f"the signature does not match key {entry.key_id}"
    return None
