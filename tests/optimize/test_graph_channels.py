"""Channel pruning written back into graphs with blocks and depthwise convolutions (no training: fast)."""

from __future__ import annotations

import pytest
import torch
import torch_pruning as tp

from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.optimize.finetune import load_model
from neuralforge_desktop.core.optimize.graph_channels import PrunedGraphError, pruned_graph
from neuralforge_desktop.core.optimize.prune import prune_channels
from neuralforge_desktop.core.zoo.entry import body


def _graph(repeat: int, widen: int = 32):
    c = Composer("blocky")
    x = c.input("image", [3, 12, 12])
    x = c.layer("Conv2d", x, "stem", out_channels=16, kernel_size=3, padding=1)
    inner, h = body("stage", [16, 12, 12])
    h = inner.layer("Conv2d", h, "dw", out_channels=16, kernel_size=3, padding=1, groups=16)  # depthwise
    h = inner.layer("BatchNorm2d", h, "bn")
    h = inner.layer("Conv2d", h, "pw", out_channels=widen, kernel_size=1, padding=0)
    h = inner.layer("ReLU", h, "act")
    inner.output(h, "y")
    x = c.block("stage", inner.done(), x, repeat=repeat)
    x = c.layer("AdaptiveAvgPool2d", x, "gap", output_size=1)
    x = c.layer("Flatten", x, "flat")
    c.output(c.layer("Linear", x, "head", out_features=5), "logits")
    return c.done()


def _model(graph):
    torch.manual_seed(0)
    return build_model(graph)


EXAMPLE = (torch.randn(1, 3, 12, 12),)


def test_widths_inside_a_block_and_a_depthwise_groups_are_written_back():
    graph = _graph(repeat=1)
    model = _model(graph)
    prune_channels(graph, model, EXAMPLE, ratio=0.5)
    result = pruned_graph(graph, model)
    stage = result.graph.node("stage").body
    assert node_params(result.graph.node("stem"))["out_channels"] == 8
    assert node_params(stage.node("dw"))["out_channels"] == 8 == node_params(stage.node("dw"))["groups"]
    assert node_params(stage.node("pw"))["out_channels"] == 16
    assert node_params(result.graph.node("head"))["out_features"] == 5
    assert {(c.path, c.param) for c in result.changes} >= {("stage/dw", "groups"), ("stage/pw", "out_channels")}
    assert result.params == estimate_cost(result.graph).params == sum(p.numel() for p in model.parameters())
    assert graph.node("stage").body.node("pw").params["out_channels"] == 32  # the original graph is untouched
    assert torch.allclose(load_model(result.graph, dict(model.state_dict()))(*EXAMPLE), model.eval()(*EXAMPLE))


def test_a_repeated_block_pruned_evenly_keeps_one_body():
    graph = _graph(repeat=2, widen=16)
    model = _model(graph)
    prune_channels(graph, model, EXAMPLE, ratio=0.5)
    result = pruned_graph(graph, model)
    assert node_params(result.graph.node("stage").body.node("pw"))["out_channels"] == 8
    assert result.params == sum(p.numel() for p in model.parameters())


def test_a_repeated_block_pruned_apart_is_refused_naming_the_node():
    graph = _graph(repeat=2, widen=16)
    model = _model(graph)
    dependencies = tp.DependencyGraph().build_dependency(model, EXAMPLE)
    # only the first copy's pointwise conv (and what depends on it): the copies no longer share one shape
    dependencies.get_pruning_group(model.stage[0].pw, tp.prune_conv_out_channels, idxs=[0, 1]).prune()
    with pytest.raises(PrunedGraphError, match=r"Conv2d 'stage/dw'.*repeated block.*\[14, 16\]"):
        pruned_graph(graph, model)
