"""Metric series the comparison tests write through the store."""

from __future__ import annotations


def log_curve(store, run_id: str, name: str, values, *, first_step: int = 10, every: int = 10,
              start: float = 1000.0, seconds: float = 2.0) -> None:
    """``values`` of metric ``name`` at steps first_step, first_step + every, … one every ``seconds``."""
    for i, value in enumerate(values):
        store.log_metric(run_id, name, float(value), first_step + i * every, timestamp=start + i * seconds)
    store.flush()
