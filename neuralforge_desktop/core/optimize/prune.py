"""Pruning a trained run into a new, linked run.

``prune-magnitude``: unstructured pruning, the smallest weights of every convolution and linear layer (one
global L1 ranking, torch.nn.utils.prune) zeroed to the target sparsity; the masks hold through the fine-tuning
epochs and the saved weights carry them permanently (weight = weight_orig × mask, what ``prune.remove`` keeps).
The graph is unchanged: a sparse model is the same network with zeros.

``prune-channels``: structured pruning with Torch-Pruning: its dependency graph finds every layer a removed
channel touches (the next convolution's inputs, a BatchNorm, the Linear after a Flatten) and its magnitude
pruner removes the channels of lowest L1 norm, to a channel ratio (``target_sparsity``: the share of channels
removed from each layer) or until the model's MACs are at most ``target_macs``. The layers that produce the
graph's outputs keep their width (their outputs are the classes). The smaller network is written back as a
real graph (see ``graph_channels.py``) and fine-tuned from the kept weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.derived_run import (
    OptimizeError,
    TrainedRun,
    Validation,
    create_derived_run,
    final_weights,
    finetune,
    load_model,
    load_trained_run,
    measure_model,
    record_figures,
)
from neuralforge_desktop.core.optimize.graph_channels import node_modules, pruned_graph, write_widths
from neuralforge_desktop.core.optimize.result import OptimizeOptions, OptimizeResult
from neuralforge_desktop.core.training.hooks import TrainingHooks

METHODS = ("prune-magnitude", "prune-channels")
MAC_STEPS = 40  # prune-channels to target_macs: channels go in this many equal steps until the target is met
MAX_CHANNEL_RATIO = 0.95  # never remove more than this share of a layer's channels


def optimize_prune(store: Any, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    if options.method not in METHODS:
        raise OptimizeError(f"method: {options.method!r} is not a pruning method ({', '.join(METHODS)})")
    if options.finetune_epochs < 0:
        raise OptimizeError(f"finetune_epochs: must be 0 or more, got {options.finetune_epochs}")
    parent = load_trained_run(store, run_id)
    validation = Validation(parent.graph, parent.config)
    model = load_model(parent.graph, parent.weights)
    before = measure_model(model, parent.graph, validation, options.runtime)
    if options.method == "prune-magnitude":
        return _magnitude(store, parent, model, validation, before, options)
    return _channels(store, parent, model, validation, before, options)


# -- unstructured ------------------------------------------------------------------------------------------------
def prunable_weights(model: Any) -> list[tuple[Any, str]]:
    """(module, "weight") of every convolution and linear layer: what magnitude pruning ranks."""
    from torch import nn

    return [(m, "weight") for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd | nn.Linear)]


def apply_magnitude_pruning(model: Any, sparsity: float) -> None:
    """Zero the ``sparsity`` share of the smallest conv/linear weights, ranked together (global L1), with
    torch's pruning reparametrisation (weight_orig × weight_mask), and make the module's state dict hold the
    pruned ``weight`` itself, so checkpoints load into the plain model built from the graph."""
    from torch.nn.utils import prune

    targets = prunable_weights(model)
    if not targets:
        raise OptimizeError("prune-magnitude: the model has no convolution or linear layer to prune")
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    for module, _ in targets:
        module.register_state_dict_post_hook(_permanent_weight)


def _permanent_weight(module: Any, state: dict[str, Any], prefix: str, local_metadata: Any) -> None:
    original, mask = state.pop(prefix + "weight_orig"), state.pop(prefix + "weight_mask")
    state[prefix + "weight"] = (original * mask).detach()


def weight_sparsity(model: Any) -> float:
    """The share of conv/linear weights that are exactly zero."""
    zeros = total = 0
    for module, name in prunable_weights(model):
        weight = getattr(module, name)
        zeros += int((weight == 0).sum())
        total += weight.numel()
    return zeros / max(total, 1)


def _magnitude(store: Any, parent: TrainedRun, model: Any, validation: Validation, before: dict[str, Any],
               options: OptimizeOptions) -> OptimizeResult:
    sparsity = options.target_sparsity
    if sparsity is None or not 0 < sparsity < 1:
        raise OptimizeError(f"target_sparsity: prune-magnitude needs the share of weights to zero, between 0 and 1 "
                            f"(exclusive), got {sparsity}")
    tags = {"target_sparsity": sparsity}
    new_run, folder, config = create_derived_run(store, parent, parent.graph, options.method, model.state_dict(),
                                                 options.finetune_epochs, tags)
    hooks = TrainingHooks(prepare_model=lambda m: apply_magnitude_pruning(m, sparsity))
    finetune(store, new_run, folder, parent.graph, config, options.finetune_epochs, hooks)
    pruned = load_model(parent.graph, final_weights(folder))
    reached = weight_sparsity(pruned)
    onnx_path = _onnx_path(options, folder, new_run)
    after = measure_model(pruned, parent.graph, validation, options.runtime, onnx_path)
    details = {"target_sparsity": sparsity, "sparsity": reached, "finetune_epochs": options.finetune_epochs}
    store.set_tags(new_run, {"sparsity": round(reached, 4)})
    figures = record_figures(store, new_run, folder, options.method, parent.run_id, before, after, details)
    return OptimizeResult(parent.run_id, new_run, options.method, before, after,
                          [figures, folder / "graph.nfg", final_weights(folder), onnx_path])


# -- structured ----------------------------------------------------------------------------------------------------
def output_layers(graph: Graph, model: Any) -> list[Any]:
    """The modules whose results reach an Output through stateless nodes only (a classifier's last Linear):
    their width is the model's output and is never pruned."""
    modules = {node_id: mods for path, owner, node_id, mods in node_modules(graph, model) if owner is graph}
    found: list[Any] = []
    for out in graph.output_nodes:
        pending, seen = [out.id], set()
        while pending:
            node_id = pending.pop()
            for src in graph.producers(node_id):
                if src in seen:
                    continue
                seen.add(src)
                if src in modules:
                    found += modules[src]
                else:
                    pending.append(src)
    return found


def graph_macs(graph: Graph, model: Any) -> int:
    """MACs for one example of ``graph`` with ``model``'s current widths, by the graph's cost analysis: the
    figure the before/after table and ``neuralforge summary`` show."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost

    resized = graph.copy()
    write_widths(resized, model)
    return estimate_cost(resized).macs


def prune_channels(graph: Graph, model: Any, example: tuple[Any, ...], *, ratio: float | None = None,
                   target_macs: int | None = None) -> float:
    """Remove channels from ``model`` (built from ``graph``) in place with Torch-Pruning; returns the pruner's
    final channel ratio. Exactly one of ``ratio`` (share of each layer's channels removed) and ``target_macs``."""
    import torch_pruning as tp  # type: ignore[import-untyped]

    if (ratio is None) == (target_macs is None):
        raise OptimizeError("prune-channels needs exactly one target: target_sparsity (the share of channels to "
                            "remove) or target_macs")
    if ratio is not None and not 0 < ratio <= MAX_CHANNEL_RATIO:
        raise OptimizeError(f"target_sparsity: the share of channels to remove must be above 0 and at most "
                            f"{MAX_CHANNEL_RATIO}, got {ratio}")
    model.eval()
    start_macs = graph_macs(graph, model)
    if target_macs is not None and target_macs >= start_macs:
        raise OptimizeError(f"target_macs: the model already needs only {start_macs:,} MACs, not more than "
                            f"{target_macs:,}")
    steps = 1 if ratio is not None else MAC_STEPS
    pruner = tp.pruner.MagnitudePruner(
        model, example, importance=tp.importance.MagnitudeImportance(p=1),
        pruning_ratio=ratio if ratio is not None else MAX_CHANNEL_RATIO, iterative_steps=steps,
        ignored_layers=output_layers(graph, model))
    for step in range(1, steps + 1):
        pruner.step()
        if target_macs is not None and graph_macs(graph, model) <= target_macs:
            return MAX_CHANNEL_RATIO * step / steps
    if target_macs is not None:
        raise OptimizeError(f"target_macs: removing {MAX_CHANNEL_RATIO:.0%} of every layer's channels leaves "
                            f"{graph_macs(graph, model):,} MACs, above the target {target_macs:,}")
    assert ratio is not None  # checked above: one target or the other
    return ratio


def _channels(store: Any, parent: TrainedRun, model: Any, validation: Validation, before: dict[str, Any],
              options: OptimizeOptions) -> OptimizeResult:
    ratio = prune_channels(parent.graph, model, validation.example(), ratio=options.target_sparsity,
                           target_macs=options.target_macs)
    smaller = pruned_graph(parent.graph, model, name=f"{parent.graph.name}-pruned")
    tags = {"channel_ratio": round(float(ratio), 4),
            **({"target_macs": options.target_macs} if options.target_macs is not None else {})}
    new_run, folder, config = create_derived_run(store, parent, smaller.graph, options.method, model.state_dict(),
                                                 options.finetune_epochs, tags)
    finetune(store, new_run, folder, smaller.graph, config, options.finetune_epochs)
    tuned = load_model(smaller.graph, final_weights(folder))
    onnx_path = _onnx_path(options, folder, new_run)
    after = measure_model(tuned, smaller.graph, validation, options.runtime, onnx_path)
    details = {"channel_ratio": float(ratio), "finetune_epochs": options.finetune_epochs,
               "widths": [{"node": c.path, "param": c.param, "before": c.before, "after": c.after}
                          for c in smaller.changes]}
    figures = record_figures(store, new_run, folder, options.method, parent.run_id, before, after, details)
    return OptimizeResult(parent.run_id, new_run, options.method, before, after,
                          [figures, folder / "graph.nfg", final_weights(folder), onnx_path])


def _onnx_path(options: OptimizeOptions, folder: Path, run_id: str) -> Path:
    return (options.output_dir / f"{run_id}.onnx") if options.output_dir is not None else folder / "model.onnx"
