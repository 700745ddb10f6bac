"""Lint warnings: each pattern fires with its code and a message naming the node, and clean graphs stay quiet.

Patterns that need layer types other than Linear/Conv2d/Flatten/Identity/Input/Output/Block run twice: on a
fresh catalog with minimal stand-ins (always), and on the real catalog when that type is registered. A stand-in
declares only the roles (traits, loss checks) of the entry it replaces: lint reads roles, not type names.
"""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.analysis.lint import human_count, lint
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, builtin_layers, catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, PortSpec
from neuralforge_desktop.core.diagnostics import Diagnostic, Severity
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec


def _codes(found: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(d.code, d.node) for d in found]


def _lint(graph: Graph, cat: Catalog | None = None) -> list[Diagnostic]:
    found = lint(graph, ShapeInference(graph, cat).run())
    assert all(d.severity is Severity.warning and d.message and d.code for d in found)
    return found


def _stand_in(type_name: str, loss: bool = False) -> LayerDef:
    real = {layer.type: layer for layer in builtin_layers()}[type_name]
    if loss:
        return LayerDef(type=type_name, category="Test", description="stand-in loss", math="",
                        inputs=(PortSpec("input", dtype="any"), PortSpec("target", dtype="any")),
                        outputs=(PortSpec("loss"),), shape=lambda p, x: {"loss": TensorSpec(())}, is_loss=True,
                        loss_checks=real.loss_checks)
    return LayerDef(type=type_name, category="Test", description="stand-in", math="",
                    inputs=(PortSpec("x", dtype="any"),), shape=lambda p, x: {"y": x["x"]}, traits=real.traits)


STAND_INS = {"Softmax": False, "LogSoftmax": False, "Sigmoid": False, "BatchNorm2d": False, "Dropout": False,
             "CrossEntropyLoss": True, "NLLLoss": True, "BCEWithLogitsLoss": True}


def _stand_in_catalog() -> Catalog:
    cat = Catalog()
    for layer in builtin_layers():
        if layer.type not in STAND_INS:
            cat.register(layer)
    for name, loss in STAND_INS.items():
        cat.register(_stand_in(name, loss))
    return cat


def _classifier(activation: str, loss: str) -> Graph:
    """x → Linear → activation → loss(input, target), with the logits also returned."""
    graph = Graph("clf")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Input", "labels", {"shape": [], "dtype": "int64", "role": "target"})
    graph.add_node("Linear", "logits", {"out_features": 3})
    graph.add_node(activation, "act")
    graph.add_node(loss, "loss")
    graph.add_node("Output", "out")
    graph.connect("x", "y", "logits", "x")
    graph.connect("logits", "y", "act", "x")
    graph.connect("act", "y", "loss", "input")
    graph.connect("labels", "y", "loss", "target")
    graph.connect("logits", "y", "out", "x")
    return graph


# -- patterns built from the core types ------------------------------------------------------------------
def test_huge_linear_after_flatten() -> None:
    c = Composer("vgg-head")
    x = c.input("features", [512, 7, 7])
    x = c.layer("Identity", c.layer("Flatten", x, "flat"), "same")
    c.output(c.layer("Linear", x, "fc1", out_features=4096), "out")
    found = _lint(c.done())
    assert _codes(found) == [("huge-linear-after-flatten", "fc1")]
    assert "huge Linear after Flatten: 25,088 → 4,096 has 102.8M weights; consider pooling first" in found[0].message
    assert "'fc1'" in found[0].message


@pytest.mark.parametrize(("channels", "out", "warned"), [
    (64, 10, False), (2048, 10, True), (512, 500, False), (1024, 1000, True),
])
def test_linear_fan_in_thresholds(channels: int, out: int, warned: bool) -> None:
    c = Composer("head")
    x = c.layer("Flatten", c.input("features", [channels, 5, 5]), "flat")
    c.output(c.layer("Linear", x, "fc", out_features=out), "out")
    # ≥ 50,000 features (2048·25 = 51,200) or ≥ 25M weights (25,600 × 1,000); 12,800 × 500 = 6.4M is fine
    assert bool(_lint(c.done())) is warned


def test_a_clean_graph_has_no_warnings() -> None:
    c = Composer("cnn")
    x = c.layer("Conv2d", c.input("image", [1, 28, 28]), "conv", out_channels=8)
    c.output(c.layer("Linear", c.layer("Flatten", x, "flat"), "fc", out_features=10), "logits")
    assert _lint(c.done()) == []


def test_dead_ends_missing_output_and_unused_inputs() -> None:
    c = Composer("messy")
    x = c.input("x", [16])
    c.input("spare", [4])
    c.input("labels", [1], role="target")
    c.layer("Linear", x, "side", out_features=3)
    c.layer("Linear", x, "main", out_features=2)
    found = _lint(c.done())
    assert _codes(found) == [("no-output", ""), ("unused-input", "spare"), ("unused-input", "labels"),
                             ("dead-end", "side"), ("dead-end", "main")]
    assert "graph 'messy' has no Output node" in found[0].message
    assert "connect it to a loss" in found[2].message
    assert "output goes nowhere" in found[3].message


def test_warnings_inside_blocks_carry_paths() -> None:
    body = Composer("body")
    h = body.input("x", [32])
    body.layer("Identity", h, "unused")
    body.output(body.layer("Linear", h, "lin", out_features=32), "y")
    c = Composer("net")
    x = c.block("blk", body, c.input("x", [32]), repeat=2)
    c.output(x, "out")
    assert _codes(_lint(c.done())) == [("dead-end", "blk/unused")]


def test_lint_without_shapes_validates_params_itself() -> None:
    c = Composer("head")
    x = c.layer("Flatten", c.input("features", [512, 7, 7]), "flat")
    c.layer("Linear", x, "fc", out_features=4096)
    found = lint(c.done())  # no shapes: the size check needs them, the structural checks do not
    assert _codes(found) == [("no-output", ""), ("dead-end", "fc")]


def test_human_count() -> None:
    assert [human_count(n) for n in (999, 12_345, 102_760_448, 7_000_000_000)] == ["999", "12.3K", "102.8M", "7.0B"]


# -- patterns that need other layer types: stand-ins always, the real catalog when present ---------------
@pytest.mark.parametrize(("activation", "loss", "code"), [
    ("Softmax", "CrossEntropyLoss", "softmax-before-cross-entropy"),
    ("LogSoftmax", "CrossEntropyLoss", "log-softmax-before-cross-entropy"),
    ("Softmax", "NLLLoss", "softmax-before-nll"),
    ("Sigmoid", "BCEWithLogitsLoss", "sigmoid-before-bce-with-logits"),
])
def test_activation_before_a_loss_that_applies_it(activation: str, loss: str, code: str) -> None:
    found = _lint(_classifier(activation, loss), _stand_in_catalog())
    assert _codes(found) == [(code, "act")]
    assert f"{loss} 'loss'" in found[0].message and "logits" in found[0].message


def test_log_softmax_into_nll_is_fine() -> None:
    assert _lint(_classifier("LogSoftmax", "NLLLoss"), _stand_in_catalog()) == []


def _conv_bn(bias: bool) -> Graph:
    graph = Graph("conv-bn")
    graph.add_node("Input", "image", {"shape": [3, 16, 16]})
    graph.add_node("Conv2d", "conv", {"out_channels": 8, "bias": bias})
    graph.add_node("BatchNorm2d", "bn")
    graph.add_node("Output", "out")
    graph.connect("image", "y", "conv", "x")
    graph.connect("conv", "y", "bn", "x")
    graph.connect("bn", "y", "out", "x")
    return graph


def test_conv_bias_before_batchnorm() -> None:
    found = _lint(_conv_bn(True), _stand_in_catalog())
    assert _codes(found) == [("conv-bias-before-batchnorm", "conv")]
    assert found[0].field == "bias" and "bias=False" in found[0].message
    assert _lint(_conv_bn(False), _stand_in_catalog()) == []


def test_dropout_before_output() -> None:
    graph = Graph("drop")
    graph.add_node("Input", "x", {"shape": [8]})
    graph.add_node("Linear", "fc", {"out_features": 2})
    graph.add_node("Dropout", "drop")
    graph.add_node("Output", "out")
    graph.connect("x", "y", "fc", "x")
    graph.connect("fc", "y", "drop", "x")
    graph.connect("drop", "y", "out", "x")
    found = _lint(graph, _stand_in_catalog())
    assert _codes(found) == [("dropout-before-output", "drop")]
    assert "Dropout after the last layer only adds noise to the outputs during training" in found[0].message


def _require(*types: str) -> None:
    missing = [t for t in types if t not in catalog()]
    if missing:
        pytest.skip(f"not in the catalog yet: {', '.join(missing)}")


def test_real_catalog_softmax_before_cross_entropy() -> None:
    _require("Softmax", "CrossEntropyLoss")
    c = Composer("clf")
    logits = c.layer("Linear", c.input("x", [8]), "logits", out_features=3)
    labels = c.input("labels", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": c.layer("Softmax", logits, "act"), "target": labels}, "loss")
    c.output(logits, "out")
    assert ("softmax-before-cross-entropy", "act") in _codes(lint(c.graph, ShapeInference(c.graph).run()))


def test_real_catalog_conv_bias_before_batchnorm() -> None:
    _require("BatchNorm2d")
    c = Composer("conv-bn")
    x = c.layer("Conv2d", c.input("image", [3, 16, 16]), "conv", out_channels=8)
    c.output(c.layer("BatchNorm2d", x, "bn"), "out")
    graph = c.done()
    assert _codes(lint(graph, ShapeInference(graph).run())) == [("conv-bias-before-batchnorm", "conv")]


def test_real_catalog_dropout_before_output() -> None:
    _require("Dropout")
    c = Composer("drop")
    c.output(c.layer("Dropout", c.layer("Linear", c.input("x", [8]), "fc", out_features=2), "drop"), "out")
    graph = c.done()
    assert _codes(lint(graph, ShapeInference(graph).run())) == [("dropout-before-output", "drop")]
