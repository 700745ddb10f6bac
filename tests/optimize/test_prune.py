"""Pruning a trained run: magnitude pruning reaches its sparsity, channel pruning gives a real smaller graph
whose counts are the pruned model's, and both make a new run linked to the parent."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.cli.main import main as cli_main
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.optimize.derived_run import OptimizeError, load_model
from neuralforge_desktop.core.optimize.prune import optimize_prune, weight_sparsity
from neuralforge_desktop.core.optimize.result import OptimizeOptions
from neuralforge_desktop.core.training.runner import prepare_run

from .conftest import digits_cnn, digits_config

FIGURES = {"val_accuracy", "size_bytes", "params", "macs", "latency_ms"}


def _weights(result):
    return next(p for p in result.artifacts if p.suffix == ".safetensors")


def _check_linked(store, result, parent, method):
    run = store.get_run(result.new_run)
    assert run.status == "finished"
    assert run.tags["parent_run"] == parent and run.tags["optimization"] == method
    assert set(result.before) == FIGURES and set(result.after) == FIGURES
    assert all(path.exists() for path in result.artifacts)
    figures = json.loads(next(p for p in result.artifacts if p.name == "optimization.json").read_text())
    assert figures["before"] == result.before and figures["after"] == result.after
    assert store.latest_metrics(result.new_run)["optimize/after/params"].value == result.after["params"]


def test_magnitude_pruning_reaches_the_target_sparsity_in_a_linked_run(trained_run):
    store = trained_run.store
    options = OptimizeOptions(method="prune-magnitude", target_sparsity=0.6, finetune_epochs=1)
    result = optimize_prune(store, trained_run.run_id, options)
    _check_linked(store, result, trained_run.run_id, "prune-magnitude")
    graph = load_graph(trained_run.folder / "graph.nfg")
    pruned = load_model(graph, _weights(result))  # plain weights: the pruning is permanent
    assert not any(name.endswith(("_orig", "_mask")) for name in pruned.state_dict())
    assert weight_sparsity(pruned) == pytest.approx(0.6, abs=0.002)
    assert result.after["macs"] == result.before["macs"]  # same network, with zeros
    assert float(store.get_run(result.new_run).tags["sparsity"]) >= 0.598
    assert result.after["val_accuracy"] > 0.5


def test_channel_pruning_halves_channels_and_the_new_graph_counts_what_the_model_has(trained_run, tmp_path,
                                                                                      capsys):
    store = trained_run.store
    options = OptimizeOptions(method="prune-channels", target_sparsity=0.5, finetune_epochs=1, output_dir=tmp_path)
    result = optimize_prune(store, trained_run.run_id, options)
    _check_linked(store, result, trained_run.run_id, "prune-channels")
    graph = load_graph(next(p for p in result.artifacts if p.name == "graph.nfg"))
    widths = {n.id: node_params(n).get("out_channels", node_params(n).get("out_features")) for n in graph
              if n.type in ("Conv2d", "Linear")}
    assert widths == {"conv1": 4, "conv2": 8, "fc1": 16, "fc2": 10}  # the classifier keeps its 10 classes

    model = load_model(graph, _weights(result))
    cost = estimate_cost(graph)
    assert cost.params == sum(p.numel() for p in model.parameters()) == result.after["params"]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 1, 8, 8))
    # FlopCounterMode counts the convolutions and matrix products; the graph also counts BatchNorm's affine MACs
    counted = sum(row.macs for row in cost.rows if row.type in ("Conv2d", "Linear"))
    assert counted == counter.get_total_flops() // 2 and cost.macs == result.after["macs"]
    assert result.after["macs"] < result.before["macs"] / 2 and result.after["size_bytes"] < result.before["size_bytes"]

    # the weights load strictly into the model the generated code builds: it trains and exports like any other
    namespace: dict = {}
    exec(compile(generate_pytorch(graph).source, "<pruned>", "exec"), namespace)
    generated = namespace["build_model"]()
    from safetensors.torch import load_file
    generated.load_state_dict(load_file(str(_weights(result))), strict=True)

    graph_path = tmp_path / "pruned.nfg"
    graph_path.write_text(next(p for p in result.artifacts if p.name == "graph.nfg").read_text())
    assert cli_main(["summary", str(graph_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"] == cost.params and summary["macs"] == cost.macs
    assert (tmp_path / f"{result.new_run}.onnx").exists()


def test_channel_pruning_to_target_macs(trained_run):
    store = trained_run.store
    before = estimate_cost(digits_cnn()).macs
    result = optimize_prune(store, trained_run.run_id,
                            OptimizeOptions(method="prune-channels", target_macs=before // 3, finetune_epochs=0))
    assert result.after["macs"] <= before // 3 < result.before["macs"]
    assert store.get_run(result.new_run).tags["target_macs"] == str(before // 3)


def test_a_run_without_checkpoints_is_refused(trained_run):
    store = trained_run.store
    run_id, _ = prepare_run(digits_cnn(), digits_config(), store, "tests")
    with pytest.raises(OptimizeError, match=rf"run {run_id} .*has no checkpoints"):
        optimize_prune(store, run_id, OptimizeOptions(method="prune-magnitude", target_sparsity=0.5))
    with pytest.raises(OptimizeError, match="no such run"):
        optimize_prune(store, "nope", OptimizeOptions(method="prune-magnitude", target_sparsity=0.5))


@pytest.mark.parametrize(("options", "field"), [
    (OptimizeOptions(method="prune-magnitude"), "target_sparsity"),
    (OptimizeOptions(method="prune-magnitude", target_sparsity=1.0), "target_sparsity"),
    (OptimizeOptions(method="prune-channels"), "exactly one target"),
    (OptimizeOptions(method="prune-channels", target_sparsity=0.5, target_macs=100), "exactly one target"),
    (OptimizeOptions(method="prune-channels", target_macs=10**9), "target_macs"),
    (OptimizeOptions(method="prune-channels", target_sparsity=0.5, runtime="tflite"), "runtime"),
    (OptimizeOptions(method="prune-sideways"), "method"),
])
def test_bad_options_name_their_field(trained_run, options, field):
    runs_before = len(trained_run.store.list_runs())
    with pytest.raises(OptimizeError, match=field):
        optimize_prune(trained_run.store, trained_run.run_id, options)
    assert len(trained_run.store.list_runs()) == runs_before  # nothing half-made
