"""The tamper-evident audit log: who did what, when, in one hash chain kept in the store (schema v10).

:func:`record_event` appends (and never raises into the caller's work); :func:`verify` walks the chain and
names the first entry that breaks it; :func:`entries` reads it back, filtered. See :mod:`.log` for how
concurrent appends keep one chain and :mod:`.signing` for the installation's ed25519 key.
"""

from neuralforge_desktop.core.audit.entry import AuditEntry, who
from neuralforge_desktop.core.audit.log import append, entries, failure_count, record_event, record_event_at
from neuralforge_desktop.core.audit.verify import ChainBreak, VerifyReport, verify

__all__ = ["AuditEntry", "ChainBreak", "VerifyReport", "append", "entries", "failure_count", "record_event",
           "record_event_at", "verify", "who"]
