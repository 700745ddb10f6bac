"""A realistic team history for the cost, ROI and capacity views: five projects, three people, three remote
GPU hosts with their rates and a local machine, about twelve weeks of runs.

Shaped like a real one: later runs are bigger (more GPU-hours) and busier weeks come later, so the weekly
GPU-hours trend upwards; each project's accuracy climbs with diminishing returns (the last points cost the
most), some exploratory runs do worse than what came before, and a few runs fail before logging an
accuracy. Deterministic for a given seed. Used by the tests and by ``docs/make_cost_screenshot.py``.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuralforge_desktop.core.team.identity import USER_ENV

if TYPE_CHECKING:
    from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
    from neuralforge_desktop.core.store.sqlite_store import Store

WEEKS = 12
USERS = ("alice", "bob", "chen")
# name, GPUs, cost per GPU-hour
HOSTS = (("h100-pod", 8, 4.10), ("a100-box", 4, 2.40), ("rtx-lab", 2, 0.55))
# name, experiments, first accuracy, ceiling, runs, GPU-hours of a first run, hosts it uses, its people
PROJECTS = (
    ("vision-defects", ("resnet-baseline", "convnext-tune"), 0.71, 0.945, 18, 40.0, ("h100-pod", "a100-box"),
     ("alice", "chen")),
    ("speech-commands", ("cnn-mfcc", "conformer"), 0.78, 0.955, 15, 22.0, ("a100-box", "rtx-lab"), ("bob",)),
    ("support-tickets", ("bert-finetune", "distilbert"), 0.62, 0.885, 16, 30.0, ("h100-pod", "a100-box"),
     ("chen", "bob")),
    ("fraud-signals", ("mlp", "tabtransformer"), 0.83, 0.972, 12, 6.0, ("rtx-lab", "local"), ("alice",)),
    ("retail-demand", ("tcn",), 0.55, 0.79, 10, 12.0, ("a100-box", "rtx-lab", "local"), ("bob", "alice")),
)


@dataclass(frozen=True, slots=True)
class DemoCosts:
    runs: int
    projects: tuple[str, ...]
    hosts: tuple[str, ...]
    users: tuple[str, ...]
    start: float
    end: float


def demo_hosts() -> list[Host]:
    """The demo's remote hosts as registered ones: address, rate and a probe that found their GPUs."""
    from neuralforge_desktop.core.remote.hosts import Host

    return [Host(name, f"10.0.0.{i + 10}", user="ml", cost_per_gpu_hour=rate,
                 probe={"gpus": [{"index": g, "name": "NVIDIA " + name.split("-")[0].upper(),
                                  "memory_total_mib": 81559} for g in range(gpus)]})
            for i, (name, gpus, rate) in enumerate(HOSTS)]


def create_cost_demo(store: Store, hosts: HostRegistry | None = None, *, now: float | None = None,
                     seed: int = 7) -> DemoCosts:
    """Write the demo runs into ``store`` (and register the demo hosts in ``hosts`` when given), the last run
    ending shortly before ``now``."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    start = now - WEEKS * 7 * 86400.0
    rates = {name: rate for name, _, rate in HOSTS}
    if hosts is not None:
        for registered in demo_hosts():
            hosts.add(registered, replace=True)
    count = 0
    for project, experiments, first, ceiling, runs, hours, used_hosts, people in PROJECTS:
        for i in range(runs):
            progress = i / (runs - 1)
            # Busier and bigger later on: start times bunch towards the end, GPU-hours grow with the run's index.
            when = start + (WEEKS * 7 - 2) * 86400.0 * math.sqrt((i + rng.random()) / runs)
            host = rng.choice(used_hosts)
            gpu_hours = hours * (1 + 2.5 * progress) * rng.uniform(0.7, 1.3) * (0.4 if host == "local" else 1.0)
            accuracy = first + (ceiling - first) * (1 - math.exp(-3.2 * progress)) / (1 - math.exp(-3.2))
            if i > 0 and rng.random() < 0.25:  # an idea that did not pan out
                accuracy -= rng.uniform(0.01, 0.06)
            accuracy = min(accuracy + rng.gauss(0, 0.004), 0.999)
            failed = i not in (0, runs - 1) and rng.random() < 0.08
            tags = {} if host == "local" else {"host": host, "cost_per_gpu_hour": f"{rates[host]:.2f}"}
            experiment = experiments[min(int(progress * len(experiments)), len(experiments) - 1)]
            previous = os.environ.get(USER_ENV)
            os.environ[USER_ENV] = people[i % len(people)]
            try:
                run = store.create_run(experiment, project=project, tags=tags, environment={})
            finally:
                if previous is None:
                    os.environ.pop(USER_ENV, None)
                else:
                    os.environ[USER_ENV] = previous
            count += 1
            store.add_usage(run.id, gpu_seconds=gpu_hours * 3600.0)
            gpus = next((g for name, g, _ in HOSTS if name == host), 1)
            ended = when + gpu_hours * 3600.0 / gpus
            if not failed:
                epochs = 10
                steps = list(range(1, epochs + 1))
                curve = [accuracy - (accuracy - 0.3) * math.exp(-0.6 * s) for s in steps]
                curve[-1] = accuracy
                store.log_series(run.id, "val/acc", steps, curve,
                                 [when + (ended - when) * s / epochs for s in steps])
            store.set_status(run.id, "failed" if failed else "finished", end=ended,
                             reason="CUDA out of memory" if failed else None)
            with store._db.write() as conn:  # the demo's history happened in the past
                conn.execute("UPDATE runs SET created = ?, started = ? WHERE id = ?", (when - 60.0, when, run.id))
    return DemoCosts(count, tuple(p[0] for p in PROJECTS), (*(h[0] for h in HOSTS), "local"), USERS, start, now)
