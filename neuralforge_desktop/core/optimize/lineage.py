"""The runs of an optimisation: the trained parent it starts from, and the new run it makes, linked to the parent
by the tags every derived run carries (``parent_run``, ``optimization``).

:func:`load_parent` refuses, naming the run and what to do, a run that does not exist or saved no weights.
:func:`child_run` creates the new run beside its parent (same experiment, the parent's settings as its params, the
graph it holds in its folder) and marks it failed, with the reason, when the optimisation fails part way.
:func:`record_result` logs the figures, files and report of a finished optimisation to the new run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.exporters.source import WeightsSource
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.entities import Run
from neuralforge_desktop.core.store.sqlite_store import Store

PARENT_TAG = "parent_run"
METHOD_TAG = "optimization"
MODEL_TAG = "optimized_model"  # the artifact name of the optimised model file in the new run
MODEL_KIND = "optimized-model"
REPORT_KIND = "optimize-report"
REPORT_NAME = "optimize.json"


@dataclass(frozen=True)
class ParentRun:
    """A trained run to optimise: the run, its folder, its graph, its training settings and its best weights."""

    run: Run
    folder: Path
    graph: Graph
    config: dict[str, Any]
    weights: WeightsSource
    store_path: Path


def load_parent(store: Store, run_id: str) -> ParentRun:
    from neuralforge_desktop.core.exporters.source import resolve_source
    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.store.entities import NotFoundError
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint
    from neuralforge_desktop.core.training.runner import runs_root

    try:
        run = store.get_run(run_id)
    except NotFoundError:
        raise UserError(f"no run {run_id!r} in {store.path}; `neuralforge runs list` shows the runs") from None
    folder = runs_root(Path(store.path)) / run.id
    checkpoints = folder / "checkpoints"
    has_best = (checkpoints / "best" / "best.safetensors").is_file()
    if not has_best and (not checkpoints.is_dir() or latest_checkpoint(checkpoints) is None):
        raise UserError(f"run {run.id} ({run.status}) has no checkpoint in {checkpoints}, so there are no trained "
                        f"weights to optimise: train it (or resume it) past its first epoch, then optimise it")
    try:
        graph = load_graph(folder / "graph.nfg")
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"run {run.id}: its folder {folder} lacks {Path(str(exc.filename)).name}, which an "
                        f"optimisation needs (the graph and the training settings the run was made with)") from None
    except ValueError as exc:
        raise UserError(f"run {run.id}: {folder / 'config.json'} is not readable JSON ({exc})") from None
    if not isinstance(config, dict):
        raise UserError(f"run {run.id}: {folder / 'config.json'} holds no training settings")
    weights = resolve_source(run_id=run.id, store=store.path)
    return ParentRun(run, folder, graph, config, weights, Path(store.path))


def graph_hash(graph: Graph) -> str:
    from neuralforge_desktop.core.ir.serialize import graph_to_dict

    return hashlib.sha256(json.dumps(graph_to_dict(graph), sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def child_run(store: Store, parent: ParentRun, method: str, settings: Mapping[str, Any],
              graph: Graph | None = None) -> Iterator[tuple[str, Path]]:
    """Create the new run (its id and folder); a failure inside the block marks it failed with the error's first
    line as its reason, and is raised again."""
    from neuralforge_desktop.core.ir.atomic import write_text_atomic
    from neuralforge_desktop.core.ir.serialize import dumps
    from neuralforge_desktop.core.training.runner import runs_root

    graph = graph if graph is not None else parent.graph
    params = {**parent.run.params, **{f"optimize/{k}": v for k, v in settings.items() if v is not None}}
    run = store.create_run(parent.run.experiment_id, f"{parent.run.name}-{method}", params=params,
                           tags={"graph": graph.name, PARENT_TAG: parent.run.id, METHOD_TAG: method},
                           graph_sha256=graph_hash(graph), environment={})
    folder = runs_root(Path(store.path)) / run.id
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "graph.nfg", dumps(graph))
        write_text_atomic(folder / "config.json", json.dumps(parent.config, indent=2))
        store.log_artifact(run.id, folder / "graph.nfg", "graph.nfg", kind="graph")
        yield run.id, folder
    except BaseException as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        with contextlib.suppress(Exception):  # the original error matters more than a failed status write
            store.set_status(run.id, "failed", reason=reason)
        raise


def record_result(store: Store, result: OptimizeResult, model_artifact: str) -> None:
    """Log the new run's figures (``val/acc`` and ``model/*``, the parent's as ``before/*``), its files, the
    report as JSON, and mark it finished."""
    metrics: dict[str, float] = {}
    for prefix, figures in (("model", result.after), ("before", result.before)):
        for name, value in (("size_bytes", figures.size_bytes), ("params", figures.params),
                            ("macs", figures.macs), ("latency_ms", figures.latency_ms),
                            ("acc", figures.accuracy)):
            if value is not None:
                metrics[f"{prefix}/{name}"] = float(value)
    if result.after.accuracy is not None:
        metrics["val/acc"] = float(result.after.accuracy)
    store.log_batch(result.run_id, metrics=[(name, value, 0) for name, value in metrics.items()],
                    tags={MODEL_TAG: model_artifact})
    for name, path in result.artifacts.items():
        store.log_artifact(result.run_id, path, name, kind=MODEL_KIND if name == model_artifact else "file")
    store.log_artifact(result.run_id, json.dumps(result.to_json(), indent=2).encode(), REPORT_NAME,
                       kind=REPORT_KIND)
    store.set_status(result.run_id, "finished")
