"""Audit entries that need a little preparation before :func:`~.log.record_event`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from neuralforge_desktop.core.audit.log import record_event

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store


def graph_saved(path: str | os.PathLike[str], nodes: int, store: Store | None = None) -> None:
    """Record that the graph file at ``path`` was saved, with the sha256 of what was written (None: the store
    the app and CLI use by default). Never raises."""
    target = Path(path)
    try:
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        subject = str(target.resolve())
    except OSError:  # moved or removed at once: the save itself happened, so it is still recorded
        digest, subject = None, str(target)
    record_event(store, "graph.saved", subject, {"sha256": digest, "nodes": nodes})
