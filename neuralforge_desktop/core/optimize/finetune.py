"""Training the new run of a pruning or distillation with the ordinary training loop, in this process.

The run created by :func:`~.lineage.child_run` gets the parent's training settings with its own starting weights
(``init.safetensors`` in its folder, or a fresh initialisation) and the number of epochs asked for, and trains with
:class:`~neuralforge_desktop.core.training.engine.Trainer`: checkpoints, metrics and events land in its folder as
for any run, so it can be exported, resumed or trained further like one. The adaptations a method needs (pruning
masks, a distillation loss) come in as :class:`~neuralforge_desktop.core.training.hooks.TrainingHooks`, which is
why the loop runs here and not in a worker process."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.lineage import ParentRun
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.hooks import TrainingHooks

INIT_WEIGHTS = "init.safetensors"  # the starting weights of the new run, in its folder (TrainConfig.init)


def load_model(graph: Graph, weights: Path | dict[str, Any]) -> Any:
    """The model built from ``graph`` holding ``weights`` (a safetensors file or a state dict), in eval mode;
    a tensor missing, extra or of the wrong shape is named."""
    from neuralforge_desktop.core.analysis.shapes import ShapeInference
    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.training.setup import load_initial_weights, load_initial_weights_from

    model = build_model(graph, ShapeInference(graph).run())
    if isinstance(weights, Path):
        load_initial_weights(model, weights)
    else:
        load_initial_weights_from(model, weights, "the weights")
    return model.eval()


def finetune(store: Store, parent: ParentRun, run_id: str, folder: Path, graph: Graph,
             start_weights: dict[str, Any] | None, epochs: int, hooks: TrainingHooks | None = None) -> None:
    """Train run ``run_id`` (its folder holds ``graph``) from ``start_weights`` (None: a fresh initialisation
    from the parent's seed) with the parent's settings for ``epochs``. With 0 epochs the starting weights, after
    ``hooks.prepare_model``, become the run's only checkpoint."""
    from safetensors.torch import save

    from neuralforge_desktop.core.ir.atomic import write_bytes_atomic, write_text_atomic
    from neuralforge_desktop.core.training.config import TrainConfig

    # fine-tuning runs in this one process: a data-parallel parent's process count does not apply
    config = replace(TrainConfig.from_json(dict(parent.config)),
                     init=INIT_WEIGHTS if start_weights is not None else None, epochs=max(epochs, 1), procs=None)
    write_text_atomic(folder / "config.json", json.dumps(config.to_json(), indent=2))
    # what a worker reads to resume or continue the run, as for a run that `neuralforge train` made
    write_text_atomic(folder / "run.json", json.dumps({"run_id": run_id, "store": str(store.path)}))
    if start_weights is not None:
        weights = {k: v.detach().cpu().contiguous() for k, v in start_weights.items()}
        write_bytes_atomic(folder / INIT_WEIGHTS, save(weights))
    if epochs <= 0:
        _checkpoint_start_weights(store, run_id, folder, graph, hooks)
        return
    _train(store, run_id, folder, graph, config, hooks)


def _train(store: Store, run_id: str, folder: Path, graph: Graph, config: Any, hooks: TrainingHooks | None) -> None:
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.events import FailedEvent, encode_event

    failures: list[FailedEvent] = []
    with (folder / "events.jsonl").open("a", encoding="utf-8") as log:
        def sink(event: Any) -> None:
            log.write(encode_event(event) + "\n")
            if isinstance(event, FailedEvent):
                failures.append(event)

        result = Trainer(graph, config, run_id, folder, sink, store, hooks=hooks).run()
    if result.status != "finished":
        reason = failures[-1].error if failures else result.status
        raise UserError(f"fine-tuning run {run_id} did not finish: {reason}")


def _checkpoint_start_weights(store: Store, run_id: str, folder: Path, graph: Graph,
                              hooks: TrainingHooks | None) -> None:
    from neuralforge_desktop.core.training.checkpoints import save_checkpoint

    model = load_model(graph, folder / INIT_WEIGHTS)
    if hooks is not None and hooks.prepare_model is not None:
        hooks.prepare_model(model)
    path = save_checkpoint(folder / "checkpoints", "epoch-0000", model, {"epoch": 0, "global_step": 0})
    store.log_artifact(run_id, path, "model.safetensors", kind="weights")


def final_weights(folder: Path) -> Path:
    """The weights the run ended with: its best checkpoint, else its latest (what export takes, too)."""
    from neuralforge_desktop.core.training.checkpoints import latest_checkpoint

    best = folder / "checkpoints" / "best" / "best.safetensors"
    if best.is_file():
        return best
    tag = latest_checkpoint(folder / "checkpoints")
    if tag is None:
        raise UserError(f"run folder {folder} has no checkpoint after fine-tuning")
    return folder / "checkpoints" / f"{tag}.safetensors"
