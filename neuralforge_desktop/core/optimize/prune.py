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
real graph (see ``graph_channels.py``) and fine-tuned from the kept weights.

Both follow the shared flow (:mod:`.flow`): the new run, linked to the parent, holds the pruned graph and its
fine-tuned checkpoints (so it exports and trains like any run), and the parent's and the pruned model, each
exported to the target runtime's file, are measured side by side by :func:`.measure.measure_models`."""

from __future__ import annotations

from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.finetune import final_weights, finetune, load_model
from neuralforge_desktop.core.optimize.flow import export_float, export_run_model, finish, place_file, work_dir
from neuralforge_desktop.core.optimize.graph_channels import node_modules, pruned_graph, write_widths
from neuralforge_desktop.core.optimize.lineage import child_run, load_parent
from neuralforge_desktop.core.optimize.measure import EvaluationData, validation_data
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.hooks import TrainingHooks

METHODS = ("prune-magnitude", "prune-channels")
MAC_STEPS = 40  # prune-channels to target_macs: channels go in this many equal steps until the target is met
MAX_CHANNEL_RATIO = 0.95  # never remove more than this share of a layer's channels
SUFFIXES = {"onnxruntime": ".onnx", "litert": ".tflite"}


def optimize_prune(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    """Prune run ``run_id`` with ``options.method`` into a new run, fine-tune it, and measure both models."""
    options.validate()
    if options.method not in METHODS:
        raise UserError(f"method: {options.method!r} is not a pruning method ({', '.join(METHODS)})")
    if options.method == "prune-magnitude" and (options.target_sparsity is None or options.target_macs is not None):
        raise UserError("sparsity: prune-magnitude needs --sparsity, the share of weights to zero, between 0 and 1 "
                        "(exclusive), and no --target-macs")
    parent = load_parent(store, run_id)
    data = validation_data(parent.graph.copy(), parent.config)
    from neuralforge_desktop.core.exporters.source import load_model as load_parent_model

    model = load_parent_model(parent.graph, parent.weights)
    settings: dict[str, Any] = {"method": options.method, "runtime": options.runtime,
                                "target_sparsity": options.target_sparsity, "target_macs": options.target_macs,
                                "finetune_epochs": options.finetune_epochs}
    hooks: TrainingHooks | None = None
    notes: list[str] = []
    if options.method == "prune-magnitude":
        sparsity = float(options.target_sparsity or 0)
        graph = parent.graph
        hooks = TrainingHooks(prepare_model=lambda m: apply_magnitude_pruning(m, sparsity))
    else:  # pruned before the new run exists, so a target it cannot meet leaves no run behind
        ratio = prune_channels(parent.graph, model, _example(data), ratio=options.target_sparsity,
                               target_macs=options.target_macs)
        smaller = pruned_graph(parent.graph, model, name=f"{parent.graph.name}-pruned")
        graph = smaller.graph
        settings["channel_ratio"] = round(float(ratio), 4)
        notes.append("channels: " + ", ".join(f"{c.path} {c.before}→{c.after}" for c in smaller.changes))
    with child_run(store, parent, options.method, settings, graph=graph) as (new_run, folder), \
            work_dir(options, folder) as (work, out):
        finetune(store, parent, new_run, folder, graph, model.state_dict(), options.finetune_epochs, hooks)
        suffix = SUFFIXES[options.runtime]
        before = export_float(parent, work / f"{parent.graph.name}-fp32{suffix}", options.runtime)
        after = export_run_model(graph, new_run, parent.store_path, work / f"{parent.graph.name}-{options.method}"
                                 f"{suffix}", options.runtime)
        if options.method == "prune-magnitude":
            reached = weight_sparsity(load_model(graph, final_weights(folder)))
            settings["sparsity"] = round(reached, 4)
            notes.append(f"{reached:.1%} of the convolution and linear weights are zero; the file stores them "
                         f"densely, so its size and latency change only with a runtime or compression that "
                         f"exploits zeros")
        notes.append(f"fine-tuned {options.finetune_epochs} epoch(s) with the run's training settings"
                     if options.finetune_epochs else "not fine-tuned (--finetune-epochs 0)")
        files = {"before": place_file(before, out), "after": place_file(after, out)}
        return finish(store, parent, new_run, options, options.method, files, notes, settings, after_graph=graph,
                      data=data)
    raise AssertionError("unreachable")  # the block returns or raises; mypy cannot tell


def _example(data: EvaluationData) -> tuple[Any, ...]:
    """One validation example as the model's inputs, for tracing the model's dependencies."""
    import numpy as np
    import torch

    return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in data.first(1))


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
        raise UserError("prune-magnitude: the model has no convolution or linear layer to prune")
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
        raise UserError("prune-channels needs exactly one target: target_sparsity (the share of channels to "
                            "remove) or target_macs")
    if ratio is not None and not 0 < ratio <= MAX_CHANNEL_RATIO:
        raise UserError(f"target_sparsity: the share of channels to remove must be above 0 and at most "
                            f"{MAX_CHANNEL_RATIO}, got {ratio}")
    model.eval()
    start_macs = graph_macs(graph, model)
    if target_macs is not None and target_macs >= start_macs:
        raise UserError(f"target_macs: the model already needs only {start_macs:,} MACs, not more than "
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
        raise UserError(f"target_macs: removing {MAX_CHANNEL_RATIO:.0%} of every layer's channels leaves "
                            f"{graph_macs(graph, model):,} MACs, above the target {target_macs:,}")
    assert ratio is not None  # checked above: one target or the other
    return ratio
