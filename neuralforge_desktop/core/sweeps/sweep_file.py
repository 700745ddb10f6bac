"""A sweep on disk, beside the store: ``<store dir>/sweeps/<id>/`` holds ``sweep.json`` (space, fixed
settings, objective, budget, sampler …), ``graph.nfg`` (the graph the variants start from) and
``study.journal``, Optuna's own storage (a journal file: every write an appended line, so a sweep killed at
any point keeps every trial it told). ``sweep resume ID`` needs nothing else."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import SearchSpace, space_from_json
from neuralforge_desktop.core.sweeps.variant import Budget
from neuralforge_desktop.core.training.config import TrainConfig

SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("median", "none")


class SweepNotFoundError(UserError):
    """No sweep with that id beside the store."""


@dataclass(frozen=True)
class Objective:
    metric: str  # a metric of the run's epochs, e.g. val/acc
    direction: str  # "maximize" or "minimize"

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``val/acc:max`` or ``val/loss:min``."""
        metric, sep, way = text.rpartition(":")
        ways = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}
        if not sep or not metric or way not in ways:
            raise UserError(f"objective {text!r}: expected METRIC:max or METRIC:min, e.g. val/acc:max")
        return cls(metric, ways[way])

    def text(self) -> str:
        return f"{self.metric}:{'max' if self.direction == 'maximize' else 'min'}"


@dataclass
class SweepSpec:
    """Everything that defines a sweep, saved once when it starts."""

    id: str
    graph_name: str
    space: dict[str, Any]
    config: dict[str, Any]  # the TrainConfig every trial starts from (the fixed settings)
    trials: int
    parallel: int = 1
    sampler: str = "tpe"
    pruner: str = "median"
    objective: str = "val/acc:max"
    budget: dict[str, Any] = field(default_factory=dict)
    experiment: str = ""
    seed: int = 0
    host: str | None = None
    trust_code: bool = False
    created: float = field(default_factory=time.time)

    @property
    def objective_value(self) -> Objective:
        return Objective.parse(self.objective)

    @property
    def budget_value(self) -> Budget:
        return Budget(**self.budget) if self.budget else Budget()

    @property
    def base_config(self) -> TrainConfig:
        return TrainConfig.from_json(self.config)

    def directions(self) -> list[str]:
        """The study's directions: the metric's, then one ``minimize`` per bounded cost."""
        return [self.objective_value.direction] + ["minimize"] * len(self.budget_value.objectives())

    def search_space(self, graph: Graph) -> SearchSpace:
        return space_from_json(self.space, graph, self.base_config)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_sweep_id() -> str:
    return secrets.token_hex(4)


def sweeps_root(store_path: Path) -> Path:
    from neuralforge_desktop.core.store.location import files_folder

    return files_folder(store_path) / "sweeps"


def sweep_dir(store_path: Path, sweep_id: str) -> Path:
    return sweeps_root(store_path) / sweep_id


def save_sweep(store_path: Path, spec: SweepSpec, graph: Graph) -> Path:
    from neuralforge_desktop.core.ir.serialize import dumps

    folder = sweep_dir(store_path, spec.id)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "graph.nfg", dumps(graph))
    write_text_atomic(folder / "sweep.json", json.dumps(spec.to_json(), indent=2))
    return folder


def load_sweep(store_path: Path, sweep_id: str) -> tuple[SweepSpec, Graph]:
    from neuralforge_desktop.core.ir.serialize import load_graph

    folder = sweep_dir(store_path, sweep_id)
    if not (folder / "sweep.json").is_file():
        known = list_sweep_ids(store_path)
        raise SweepNotFoundError(f"no sweep {sweep_id!r} beside {store_path}; sweeps: {', '.join(known) or 'none'}")
    data = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    return SweepSpec(**data), load_graph(folder / "graph.nfg")


def list_sweep_ids(store_path: Path) -> list[str]:
    root = sweeps_root(store_path)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "sweep.json").is_file()]
    return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime)]


def open_study(store_path: Path, spec: SweepSpec, graph: Graph, *, create: bool = False) -> Any:
    """The sweep's Optuna study, with its sampler and pruner (made again on every open: their state is the
    trials in storage; a seeded random sampler is re-seeded past the trials already asked, so a resume does
    not draw the same settings again)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = sweep_dir(store_path, spec.id) / "study.journal"
    storage = JournalStorage(JournalFileBackend(str(path)))
    asked = 0 if create else len(optuna.load_study(study_name=spec.id, storage=storage).trials)
    sampler = make_sampler(spec, graph, seed=spec.seed + asked)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
              if spec.pruner == "median" and len(spec.directions()) == 1 else optuna.pruners.NopPruner())
    if create:
        return optuna.create_study(study_name=spec.id, storage=storage, sampler=sampler, pruner=pruner,
                                   directions=cast(Any, spec.directions()))
    return optuna.load_study(study_name=spec.id, storage=storage, sampler=sampler, pruner=pruner)


def make_sampler(spec: SweepSpec, graph: Graph, seed: int) -> Any:
    import optuna

    if spec.sampler == "grid":  # always the sweep's seed: it orders the grid, which must stay the same
        return optuna.samplers.GridSampler(spec.search_space(graph).grid(), seed=spec.seed)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, spec.parallel * 2))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, spec.parallel))
