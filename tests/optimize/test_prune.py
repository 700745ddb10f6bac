"""Pruning a trained run: magnitude pruning reaches its sparsity, channel pruning gives a real smaller graph
whose counts are the pruned model's, and both make a new run linked to the parent, measured from exported files
like every optimisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from neuralforge_desktop.cli.main import main as cli_main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.optimize.finetune import final_weights, load_model
from neuralforge_desktop.core.optimize.lineage import METHOD_TAG, MODEL_TAG, PARENT_TAG, REPORT_NAME
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.prune import optimize_prune, weight_sparsity
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.runner import runs_root


def _prune(trained, **options):
    """The result, the new run, its artifacts by name and its folder."""
    with Store(trained["store"]) as store:
        result = optimize_prune(store, trained["run"], OptimizeOptions(latency_runs=3, **options))
        run = store.get_run(result.run_id)
        artifacts = {a.name: a for a in store.list_artifacts(result.run_id)}
    return result, run, artifacts, runs_root(Path(trained["store"])) / result.run_id


def _check_linked(trained, result, run, artifacts, method):
    assert run.status == "finished"
    assert run.tags[PARENT_TAG] == trained["run"] and run.tags[METHOD_TAG] == method
    model = artifacts[run.tags[MODEL_TAG]]
    assert model.name.endswith(".onnx") and model.size == result.after.size_bytes
    assert model.path.read_bytes() == Path(result.after.file).read_bytes() and result.before.file.endswith(".onnx")
    report = json.loads(artifacts[REPORT_NAME].path.read_text())
    assert report["parent_run"] == trained["run"] and report["after"] == result.after.to_json()
    assert run.metrics["model/params"].value == result.after.params
    assert result.before.params == 421_642 and result.after.accuracy is not None
    assert result.after.examples == result.before.examples > 0
    assert "graph.nfg" in artifacts  # the new run holds its graph and checkpoints: it exports and trains as any run


def test_magnitude_pruning_reaches_the_target_sparsity_in_a_linked_run(trained):
    result, run, artifacts, folder = _prune(trained, method="prune-magnitude", target_sparsity=0.6)
    _check_linked(trained, result, run, artifacts, "prune-magnitude")
    pruned = load_model(load_graph(folder / "graph.nfg"), final_weights(folder))  # plain weights: permanent
    assert not any(name.endswith(("_orig", "_mask")) for name in pruned.state_dict())
    assert weight_sparsity(pruned) == pytest.approx(0.6, abs=0.002)
    assert result.settings["sparsity"] == pytest.approx(0.6, abs=0.002)
    assert result.after.macs == result.before.macs  # the same network, with zeros
    assert any("are zero" in note for note in result.notes)


def test_channel_pruning_halves_channels_and_the_new_graph_counts_what_the_model_has(trained, tmp_path, capsys):
    result, run, artifacts, folder = _prune(trained, method="prune-channels", target_sparsity=0.5,
                                            finetune_epochs=1, output_dir=tmp_path)
    _check_linked(trained, result, run, artifacts, "prune-channels")
    assert Path(result.after.file).parent == tmp_path
    graph = load_graph(artifacts["graph.nfg"].path)
    widths = {n.id: node_params(n).get("out_channels", node_params(n).get("out_features")) for n in graph
              if n.type in ("Conv2d", "Linear")}
    assert widths == {"conv1": 16, "conv2": 32, "fc1": 64, "fc2": 10}  # the classifier keeps its 10 classes

    model = load_model(graph, final_weights(folder))
    cost = estimate_cost(graph)
    assert cost.params == sum(p.numel() for p in model.parameters()) == result.after.params == 105_866
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 1, 28, 28))
    assert cost.macs == counter.get_total_flops() // 2 == result.after.macs
    assert result.after.macs < result.before.macs / 2 and result.after.size_bytes < result.before.size_bytes / 2

    # the weights load strictly into the model the generated code builds: it trains and exports like any other
    namespace: dict = {}
    exec(compile(generate_pytorch(graph).source, "<pruned>", "exec"), namespace)
    from safetensors.torch import load_file
    namespace["build_model"]().load_state_dict(load_file(str(final_weights(folder))), strict=True)
    assert cli_main(["summary", str(artifacts["graph.nfg"].path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"] == cost.params and summary["macs"] == cost.macs


def test_channel_pruning_to_target_macs_without_fine_tuning(trained):
    target = estimate_cost(zoo.build("mnist-cnn")).macs // 3
    result, run, _, folder = _prune(trained, method="prune-channels", target_macs=target, finetune_epochs=0)
    assert result.after.macs <= target < result.before.macs
    assert run.params["optimize/target_macs"] == target and (folder / "checkpoints").is_dir()


def test_a_run_without_checkpoints_is_refused(trained):
    with Store(trained["store"]) as store, pytest.raises(UserError,
                                                         match=rf"run {trained['untrained']} .*has no checkpoint"):
        optimize_prune(store, trained["untrained"], OptimizeOptions(method="prune-magnitude", target_sparsity=0.5))


@pytest.mark.parametrize(("options", "field"), [
    (OptimizeOptions(method="prune-magnitude"), "sparsity"),
    (OptimizeOptions(method="prune-magnitude", target_sparsity=1.0), "sparsity"),
    (OptimizeOptions(method="prune-channels"), "exactly one target"),
    (OptimizeOptions(method="prune-channels", target_sparsity=0.5, target_macs=100), "exactly one target"),
    (OptimizeOptions(method="prune-channels", target_macs=10**9), "target_macs"),
    (OptimizeOptions(method="prune-channels", target_sparsity=0.5, runtime="tflite"), "runtime"),
    (OptimizeOptions(method="prune-sideways"), "method"),
])
def test_bad_options_name_their_field_and_leave_no_run(trained, options, field):
    with Store(trained["store"]) as store:
        runs_before = len(store.list_runs())
        with pytest.raises(UserError, match=field):
            optimize_prune(store, trained["run"], options)
        assert len(store.list_runs()) == runs_before
