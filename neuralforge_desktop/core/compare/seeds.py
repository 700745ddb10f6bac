"""Run N more seeds of a run: the same graph and settings, new seeds, to narrow a confidence interval.

Each new run is prepared exactly as ``neuralforge train --parent RUN`` prepares a retrain (``prepare_run``:
same experiment, the run's saved graph and config, the tag ``parent_run``) with only the seed changed. The
workers then train one after another on a background thread that also drains their event pipes (a worker whose
pipe is never read would block once the pipe fills); on a small machine several at once would only slow each
other down."""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.compare.graph_diff import run_graph
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.config import MAX_SEED

MAX_MORE_SEEDS = 100


class SeedRunError(UserError):
    """More seeds of a run cannot be started (its settings are gone, or the count is out of range)."""


@dataclass(frozen=True)
class SeedRun:
    run_id: str
    seed: int
    folder: Path


def used_seeds(store: Any, run: Any) -> set[int]:
    """The seeds already used for ``run``'s graph in its experiment (so new ones repeat none of them)."""
    seeds = set()
    for other in store.list_runs(run.experiment_id, limit=None):
        if other.graph_sha256 == run.graph_sha256 and isinstance(other.params.get("seed"), int):
            seeds.add(other.params["seed"])
    return seeds


def new_seeds(taken: set[int], count: int) -> list[int]:
    """``count`` seeds counting up from above the largest taken one (readable: 0, 1, 2 … then 3, 4)."""
    start = max(taken, default=-1) + 1
    if start + count - 1 > MAX_SEED:
        start = 0
    seeds: list[int] = []
    candidate = start
    while len(seeds) < count:
        if candidate not in taken:
            seeds.append(candidate)
        candidate += 1
    return seeds


def prepare_seed_runs(store: Any, run_id: str, count: int) -> list[SeedRun]:
    """Create ``count`` runs repeating ``run_id`` with new seeds; returns them, not yet started."""
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.runner import prepare_run, runs_root

    if not 1 <= count <= MAX_MORE_SEEDS:
        raise SeedRunError(f"more seeds: give 1 to {MAX_MORE_SEEDS}, got {count}")
    run = store.get_run(run_id)
    graph = run_graph(store, run.id)
    settings = runs_root(Path(store.path)) / run.id / "config.json"
    try:
        config = TrainConfig.from_json(json.loads(settings.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise SeedRunError(f"run {run.id}: cannot read its settings {settings}: {exc}") from None
    base = run.tags.get("seed_of") or run.id  # seeds of a seed run all point at the first run
    prepared = []
    for seed in new_seeds(used_seeds(store, run), count):
        seeded = dataclasses.replace(config, seed=seed)
        name = f"{store.get_run(base).name if base != run.id else run.name} seed {seed}"
        new_id, folder = prepare_run(graph, seeded, store, run.experiment_id, name,
                                     tags={"parent_run": run.id, "seed_of": base})
        prepared.append(SeedRun(new_id, seed, folder))
    return prepared


class SeedTrainer:
    """Trains prepared seed runs one after another on a daemon thread. ``wait()`` blocks until all are done;
    ``returncodes`` holds each worker's exit status as it ends."""

    def __init__(self, runs: list[SeedRun], trust_code: bool = False) -> None:
        self.runs = list(runs)
        self.trust_code = trust_code
        self.returncodes: dict[str, int] = {}
        self._stopped = threading.Event()
        self._current: Any = None
        self._thread = threading.Thread(target=self._train_all, name="seed-runs", daemon=True)

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    def start(self) -> SeedTrainer:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True when every run has ended (within ``timeout`` seconds)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Ask the running worker to stop after its current step and start no further ones."""
        self._stopped.set()
        if self._current is not None:
            self._current.stop()

    def _train_all(self) -> None:
        from neuralforge_desktop.core.training.runner import TrainingProcess

        for run in self.runs:
            if self._stopped.is_set():
                break
            process = TrainingProcess(run.folder, trust_code=self.trust_code).start()
            self._current = process
            for _event in process.events():  # drained so the worker never blocks on a full pipe
                pass
            self.returncodes[run.run_id] = process.wait()
        self._current = None


def run_more_seeds(store: Any, run_id: str, count: int, *, trust_code: bool = False) -> SeedTrainer:
    """Prepare ``count`` more seeds of ``run_id`` and start training them (one at a time, in the background);
    the new run ids are ``.run_ids`` of the result."""
    return SeedTrainer(prepare_seed_runs(store, run_id, count), trust_code=trust_code).start()
