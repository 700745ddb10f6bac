"""Layer-wise learning rates: a node's ``lr_mult`` is saved only when it is not 1 (older files and their hashes
stay the same), validated with the node named, set by one undoable edit, recorded as run params, and turned
into optimizer parameter groups that really move each node's weights by its share."""

from __future__ import annotations

import json
import math

import pytest
import torch

from neuralforge_desktop.core.edit.edits import SetLrMult
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import GraphError
from neuralforge_desktop.core.ir.serialize import GraphFileError, dumps, graph_to_dict, loads
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.param_groups import LrMultError, lr_mults, parameter_groups
from neuralforge_desktop.core.training.parts import _optimizer, _scheduler, build_parts
from tests.training_graphs import digits_mlp


def _blocky():
    """Input → Linear fc_in → Block stage (repeat 2: Linear fc) → Linear head → Output."""
    c = Composer("blocky")
    x = c.input("x", [8])
    x = c.layer("Linear", x, "fc_in", out_features=16)
    body = Composer("stage-body")
    y = body.input("x", [16])
    body.output(body.layer("Linear", y, "fc", out_features=16), "out")
    x = c.block("stage", body, x, repeat=2)
    c.output(c.layer("Linear", x, "head", out_features=3), "y")
    return c.done()


# -- the file ---------------------------------------------------------------------------------------------
def test_default_multiplier_is_not_written_so_old_files_and_hashes_stay_the_same() -> None:
    graph = digits_mlp(dropout=0.0)
    text = dumps(graph)
    assert "lr_mult" not in text
    again = loads(text)
    assert all(node.lr_mult == 1.0 for node in again)
    assert dumps(again) == text  # a file from before lr_mult existed is written back byte for byte
    copy = graph.copy()
    copy.node("fc1").lr_mult = 1.0
    assert json.dumps(graph_to_dict(copy), sort_keys=True) == json.dumps(graph_to_dict(graph), sort_keys=True)


def test_multipliers_round_trip_in_blocks_and_survive_a_copy() -> None:
    graph = _blocky()
    graph.node("fc_in").lr_mult = 0.1
    graph.node("stage").body.node("fc").lr_mult = 2.5
    graph.node("head").lr_mult = 3.0
    again = loads(dumps(graph))
    assert again.node("fc_in").lr_mult == 0.1 and again.node("head").lr_mult == 3.0
    assert again.node("stage").body.node("fc").lr_mult == 2.5
    nodes = {n["id"]: n for n in graph_to_dict(graph)["graph"]["nodes"]}
    assert nodes["head"]["lr_mult"] == 3 and list(nodes["head"])[-1] == "lr_mult"  # after trainable
    assert graph.copy().node("stage").body.node("fc").lr_mult == 2.5


@pytest.mark.parametrize("bad", [-1, "2", True, None, 1e400])
def test_an_invalid_multiplier_in_a_file_is_refused_naming_the_node(bad) -> None:
    data = graph_to_dict(digits_mlp())
    node = next(n for n in data["graph"]["nodes"] if n["id"] == "fc2")
    node["lr_mult"] = bad
    with pytest.raises(GraphFileError) as info:
        loads(json.dumps(data))
    assert "'fc2'" in str(info.value) and "lr_mult" in str(info.value)


def test_an_invalid_multiplier_is_not_saved_and_not_trained() -> None:
    graph = digits_mlp()
    graph.node("fc1").lr_mult = math.nan
    with pytest.raises(GraphFileError, match="'fc1'"):
        dumps(graph)
    with pytest.raises(LrMultError, match="'fc1'"):
        lr_mults(graph)


# -- the edit -----------------------------------------------------------------------------------------------
def test_the_edit_sets_undoes_and_refuses_bad_values_naming_the_node() -> None:
    graph = digits_mlp()
    revision = graph.revision
    undo = SetLrMult("fc1", 0.5).apply(graph)
    assert graph.node("fc1").lr_mult == 0.5 and graph.revision == revision + 1
    redo = undo.apply(graph)
    assert graph.node("fc1").lr_mult == 1.0 and redo == SetLrMult("fc1", 0.5, label=undo.label)
    with pytest.raises(GraphError, match="'fc1'.*≥ 0"):
        SetLrMult("fc1", -0.5).apply(graph)
    assert graph.node("fc1").lr_mult == 1.0


# -- training -----------------------------------------------------------------------------------------------
def _one_sgd_step(mults: dict[str, float]) -> dict[str, torch.Tensor]:
    """How far each weight moves in one plain SGD step (no momentum, no decay) of the digits MLP."""
    graph = digits_mlp(dropout=0.0)
    for node_id, mult in mults.items():
        graph.node(node_id).lr_mult = mult
    cfg = TrainConfig(dataset="digits", limit=64, batch_size=32, epochs=1, optimizer="sgd", lr=0.1, momentum=0.0,
                      weight_decay=0.0, seed=3, device="cpu").validate()
    parts = build_parts(graph, cfg)
    before = {k: v.detach().clone() for k, v in parts.model.named_parameters()}
    loss = parts.setup.loss_fn(parts.forward(*(x[:32] for x in parts.x_train)), parts.y_train[:32])
    parts.optimizer.zero_grad()
    loss.backward()
    parts.optimizer.step()
    return {k: v.detach() - before[k] for k, v in parts.model.named_parameters()}


def test_a_node_at_zero_keeps_its_weights_and_one_at_two_steps_exactly_twice_as_far() -> None:
    plain = _one_sgd_step({})
    frozen = _one_sgd_step({"fc1": 0.0})
    doubled = _one_sgd_step({"fc1": 2.0})
    fc1 = [k for k in plain if k.startswith("fc1.")]
    fc2 = [k for k in plain if k.startswith("fc2.")]
    assert fc1 and fc2
    for key in fc1:
        assert plain[key].abs().max() > 0
        assert torch.count_nonzero(frozen[key]) == 0
        assert torch.allclose(doubled[key], 2 * plain[key], rtol=1e-4, atol=1e-7)
    for key in fc2:  # the other layer trains as before
        assert torch.count_nonzero(frozen[key]) > 0
        assert torch.allclose(frozen[key], plain[key]) and torch.allclose(doubled[key], plain[key])


def test_groups_follow_nested_blocks_and_the_run_rate_is_the_first_group() -> None:
    from neuralforge_desktop.core.build.torch_builder import build_model

    graph = _blocky()
    assert parameter_groups(build_model(graph), graph, 0.1) is None  # all at 1: one plain group, as before
    graph.node("stage").lr_mult = 0.5
    graph.node("stage").body.node("fc").lr_mult = 4.0
    graph.node("head").lr_mult = 0.0
    assert lr_mults(graph) == {"stage": 0.5, "stage/fc": 2.0, "head": 0.0}
    model = build_model(graph)
    groups = parameter_groups(model, graph, 0.1)
    assert groups is not None
    assert [g["lr_mult"] for g in groups] == [1.0, 2.0, 0.0]
    assert [g["lr"] for g in groups] == pytest.approx([0.1, 0.2, 0.0])
    ids = [{id(p) for p in g["params"]} for g in groups]
    assert ids[0] == {id(p) for p in model.fc_in.parameters()}
    stage = {id(p) for p in model.stage.parameters()}
    assert len(stage) == 4 and ids[1] == stage  # both copies of the repeated body
    assert ids[2] == {id(p) for p in model.head.parameters()}
    assert sum(len(g) for g in ids) == len(list(model.parameters()))


@pytest.mark.parametrize("schedule", ["cosine", "step", "onecycle"])
def test_schedulers_keep_each_group_at_its_multiple_of_the_run_rate(schedule: str) -> None:
    from neuralforge_desktop.core.build.torch_builder import build_model

    graph = _blocky()
    graph.node("head").lr_mult = 3.0
    cfg = TrainConfig(dataset="digits", optimizer="adam", lr=0.01, schedule=schedule, warmup_steps=2,
                      epochs=2).validate()
    optimizer = _optimizer(build_model(graph), cfg, graph)
    scheduler = _scheduler(optimizer, cfg, steps_per_epoch=5, total_steps=10)
    for _ in range(6):
        optimizer.step()
        scheduler.step()
        base, head = (g["lr"] for g in optimizer.param_groups)
        assert head == pytest.approx(3.0 * base)
    assert base != pytest.approx(0.01)  # the schedule did move the rate


def test_multipliers_are_recorded_as_run_params(tmp_path) -> None:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.runner import prepare_run

    graph = _blocky()
    graph.node("stage").body.node("fc").lr_mult = 0.25
    store = Store(tmp_path / "store.db")
    run_id, _ = prepare_run(graph, TrainConfig(dataset="digits"), store)
    params = store.get_run(run_id).params
    assert params["lr_mult/stage/fc"] == 0.25 and "lr_mult/head" not in params


def test_a_whole_run_keeps_a_node_at_zero_still_as_its_diagnostics_show(tmp_path) -> None:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    graph = digits_mlp(dropout=0.0)
    graph.node("fc1").lr_mult = 0.0
    store = Store(tmp_path / "store.db")
    cfg = TrainConfig(dataset="digits", limit=160, epochs=1, batch_size=16, optimizer="adamw", lr=1e-2, seed=0,
                      threads=1, schedule="cosine", diagnostics="basic")
    run_id, folder = prepare_run(graph, cfg, store, "lr-mult")
    assert Trainer(graph, cfg, run_id, folder, lambda event: None, store).run().status == "finished"
    assert store.get_run(run_id).params["lr_mult/fc1"] == 0.0
    diag = load_run_diagnostics(store, run_id)
    assert diag is not None and diag.layers
    assert {value for _, value in diag.series("update_ratio", "fc1")} == {0.0}
    assert all(value > 0 for _, value in diag.series("update_ratio", "fc2"))


def test_an_untrainable_node_or_block_keeps_its_weights() -> None:
    graph = digits_mlp(dropout=0.0)
    graph.node("fc1").trainable = False
    cfg = TrainConfig(dataset="digits", limit=64, batch_size=32, epochs=1, optimizer="sgd", lr=0.1, momentum=0.0,
                      weight_decay=0.0, seed=3, device="cpu").validate()
    parts = build_parts(graph, cfg)
    assert not any(p.requires_grad for p in parts.model.fc1.parameters())
    trained = {id(p) for group in parts.optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in parts.model.fc2.parameters()}

    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.training.param_groups import freeze_untrainable

    blocky = _blocky()
    blocky.node("stage").trainable = False
    model = build_model(blocky)
    assert freeze_untrainable(model, blocky) == 4  # weight and bias of both copies of the body
    assert all(p.requires_grad for p in model.head.parameters())


def test_a_coach_fix_that_swaps_a_layer_type_keeps_its_multiplier() -> None:
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.training.coach.findings import Fix
    from neuralforge_desktop.core.training.coach.fixes import apply_fix

    graph = zoo.build("mnist-cnn")
    graph.node("pool1").lr_mult = 0.5
    fix = Fix("graph", "replace_type", "Average", {"node": "pool1", "type": "AvgPool2d"})
    fixed = apply_fix(fix, graph, TrainConfig(dataset="digits")).graph
    assert fixed.node("pool1").type == "AvgPool2d" and fixed.node("pool1").lr_mult == 0.5
