"""A run's diagnostics read back from the store, as one :class:`~.records.RunDiagnostics`."""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.training.coach.records import LEVELS, RunDiagnostics

DEFAULT_LEVEL = "basic"  # what TrainConfig.diagnostics defaults to; runs from before the setting used no capture


def load_run_diagnostics(store: Any, run_id: str) -> RunDiagnostics | None:
    """Everything captured for ``run_id``, oldest first, or None when the run has no records (it trained
    before diagnostics were captured, or with ``--diagnostics off``).

    A run resumed after a crash records the steps since its last checkpoint a second time; only the later
    record of each (kind, step) is kept, the one the run's history continued from."""
    records = store.diagnostic_records(run_id)
    if not records:
        return None
    latest: dict[tuple[str, int], Any] = {}
    for kind, record in records:  # oldest first, so a repeat replaces the earlier one in place
        latest[kind, record.step] = record
    level = store.get_run(run_id).params.get("diagnostics", DEFAULT_LEVEL)
    diagnostics = RunDiagnostics(level=level if level in LEVELS else DEFAULT_LEVEL)
    for (kind, _step), record in latest.items():
        diagnostics.add(kind, record)
    return diagnostics
