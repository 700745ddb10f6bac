"""What runs cost: GPU-seconds, GPU-hours and money per run, summed per experiment and over the whole store.

A run's GPU-seconds are what its worker (or the remote dispatcher) added with :meth:`Store.add_usage`; its rate
is the ``cost_per_gpu_hour`` tag the remote dispatcher records at dispatch time (the host's rate then, so a
later change of the rate does not rewrite old costs). cost = GPU-hours × rate; a run without the tag (a local
run) costs 0. Where it ran is its ``host`` tag, or "local" when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from neuralforge_desktop.core.store.entities import Run
from neuralforge_desktop.core.store.queue_store import HOST_TAG, LOCAL_HOST

RATE_TAG = "cost_per_gpu_hour"


def rate_from_tag(text: str | None) -> float:
    """The cost per GPU-hour a ``cost_per_gpu_hour`` tag says (0 when absent, or not a number of 0 or more)."""
    try:
        rate = float(text if text is not None else 0.0)
    except ValueError:
        return 0.0
    return rate if math.isfinite(rate) and rate > 0 else 0.0


def rate_of(run: Run) -> float:
    """The run's cost per GPU-hour (0 when it has none, or the tag is not a number of 0 or more)."""
    return rate_from_tag(run.tags.get(RATE_TAG))


def host_of(run: Run) -> str:
    return run.tags.get(HOST_TAG) or LOCAL_HOST


@dataclass(frozen=True, slots=True)
class RunUsage:
    run_id: str
    experiment: str
    host: str
    cpu_seconds: float
    gpu_seconds: float
    rate: float  # per GPU-hour

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600.0

    @property
    def cost(self) -> float:
        return self.gpu_hours * self.rate


def run_usage(run: Run) -> RunUsage:
    return RunUsage(run.id, run.experiment, host_of(run), float(run.cpu_seconds), float(run.gpu_seconds),
                    rate_of(run))


@dataclass(frozen=True, slots=True)
class UsageSum:
    """The usage of ``runs`` runs together: of one experiment (``name``, ``experiment_id``) or all."""

    name: str
    experiment_id: str | None
    runs: int
    cpu_seconds: float
    gpu_seconds: float
    cost: float

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600.0


def usage_sums(runs: Iterable[Run]) -> tuple[list[UsageSum], UsageSum]:
    """Sums per experiment (by name, then id: two projects may each have an experiment of one name) and the
    total of all ``runs``."""
    per: dict[str, list[RunUsage]] = {}
    names: dict[str, str] = {}
    for run in runs:
        per.setdefault(run.experiment_id, []).append(run_usage(run))
        names[run.experiment_id] = run.experiment
    sums = [_sum(names[exp_id], exp_id, usages) for exp_id, usages in per.items()]
    sums.sort(key=lambda s: (s.name, s.experiment_id or ""))
    total = _sum("total", None, [u for usages in per.values() for u in usages])
    return sums, total


def _sum(name: str, experiment_id: str | None, usages: list[RunUsage]) -> UsageSum:
    return UsageSum(name, experiment_id, len(usages), math.fsum(u.cpu_seconds for u in usages),
                    math.fsum(u.gpu_seconds for u in usages), math.fsum(u.cost for u in usages))
