"""Graph variants: edits applied to a copy, checked by shape inference and costed before anything trains."""

from __future__ import annotations

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.sweeps.space import parse_space_text
from neuralforge_desktop.core.sweeps.variant import (
    Budget,
    BudgetError,
    build_variant,
    check_budget_reachable,
    cost_of,
    variant_problems,
)
from neuralforge_desktop.core.training.config import TrainConfig

from .helpers import FAST, write_graph, write_space
from training_graphs import digits_mlp


def test_a_variant_is_a_copy_with_the_settings_applied():
    graph = zoo.build("mnist-cnn")
    variant = build_variant(graph, {"conv1.out_channels": 16, "dropout.p": 0.25})
    assert variant.node("conv1").params["out_channels"] == 16 and variant.node("dropout").params["p"] == 0.25
    assert graph.node("conv1").params["out_channels"] == 32  # the sweep's graph is left as it was
    assert variant_problems(variant) == []
    cost = cost_of(variant)
    report = estimate_cost(variant, batch_size=1)
    assert (cost.params, cost.macs) == (report.params, report.macs)
    assert cost.macs < cost_of(graph).macs


def test_a_variant_whose_shapes_do_not_fit_names_the_node():
    problems = variant_problems(build_variant(zoo.build("mnist-cnn"), {"conv1.kernel_size": 31}))
    assert problems and problems[0].startswith("conv1:") and "kernel 31" in problems[0]


def test_a_budget_says_what_a_variant_exceeds():
    budget = Budget(max_params=1000, max_macs=5e6)
    cost = cost_of(zoo.build("mnist-cnn"))
    assert budget.excess(cost) == [f"{cost.params:,} params > 1,000"]
    assert budget.objectives() == ["params", "macs"]


def test_a_budget_no_variant_meets_is_refused_with_the_smallest_variant():
    graph = zoo.build("mnist-cnn")
    space = parse_space_text("conv1.out_channels: [16, 32]\nconv2.out_channels: [32, 64]\n", graph, TrainConfig())
    assert check_budget_reachable(graph, space, Budget(max_macs=5e6)) == 4
    assert check_budget_reachable(graph, space, Budget(max_macs=2e6)) == 1
    with pytest.raises(BudgetError, match=r"smallest checked \(conv1.out_channels=16, conv2.out_channels=32\) "
                       r"has .* MACs > 100,000"):
        check_budget_reachable(graph, space, Budget(max_macs=1e5))


def test_the_sweep_command_refuses_an_unreachable_budget_before_training(tmp_path, capsys):
    graph = write_graph(tmp_path)
    space = write_space(tmp_path, "fc1.out_features: [32, 64]\n")
    store = tmp_path / "store.db"
    status = main(["sweep", str(graph), *FAST, "--space", str(space), "--trials", "2", "--max-params", "100",
                   "--store", str(store)])
    assert status == 1
    assert "no variant of the search space fits the budget" in capsys.readouterr().err
    assert not (tmp_path / "sweeps").exists()
    from neuralforge_desktop.core.store.sqlite_store import Store

    assert Store(store).list_runs() == []


def test_the_sweep_command_names_a_typo_in_the_space(tmp_path, capsys):
    graph = write_graph(tmp_path)
    space = write_space(tmp_path, "lr: [0.01, 0.1]\nfc1.out_featurs: [32, 64]\n")
    status = main(["sweep", str(graph), *FAST, "--space", str(space), "--store", str(tmp_path / "store.db")])
    assert status == 1
    err = capsys.readouterr().err
    assert f"{space}:2: fc1.out_featurs: Linear 'fc1' has no field 'out_featurs'; fields: out_features, bias" in err
    assert not (tmp_path / "sweeps").exists()


def test_digits_mlp_costs_are_small():
    assert cost_of(digits_mlp()).params < 5000
