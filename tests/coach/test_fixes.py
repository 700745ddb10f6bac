"""Coach fixes on real graphs: each action gives a graph that still infers shapes, leaves the original as it
was, undoes exactly, and names the node when it cannot apply; ``class_weights`` weighs the loss and trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.training.coach.findings import Finding, Fix
from neuralforge_desktop.core.training.coach.fixes import FixError, apply_fix, fix_edit, fix_edits
from neuralforge_desktop.core.training.config import TrainConfig

from training_graphs import digits_mlp

CONFIG = TrainConfig(dataset="digits", epochs=1)


def softmax_classifier() -> Graph:
    """Linear → Softmax → CrossEntropyLoss: the Softmax squashes what the loss already normalises."""
    c = Composer("softmax-mlp")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=16)
    x = c.layer("Sigmoid", x, "act")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    probs = c.layer("Softmax", logits, "softmax", dim=1)
    c.output(probs, "probs")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": probs, "target": label}, "loss")
    return c.done()


def no_loss_classifier() -> Graph:
    c = Composer("no-loss")
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    c.output(c.layer("Linear", x, "fc", out_features=10), "logits")
    return c.done()


def applied(fix: Fix, graph: Graph) -> Graph:
    """Apply ``fix``; check the original is untouched, the result infers shapes, and the undoable edit makes
    the same graph on a document and its inverse restores the original exactly."""
    before = dumps(graph)
    result = apply_fix(fix, graph, CONFIG)
    assert dumps(graph) == before
    assert ShapeInference(result.graph).run().errors == []
    assert result.description
    document = Document(graph.copy())
    edit = fix_edit(fix, document.graph)
    assert edit is not None and edit.label == fix.label
    inverse = document.apply(edit)
    assert dumps(document.graph) == dumps(result.graph)
    assert document.shapes.errors == []
    document.apply(inverse)
    assert dumps(document.graph) == before
    return result.graph


def test_remove_softmax_wires_its_input_to_the_loss_and_the_output() -> None:
    graph = softmax_classifier()
    fixed = applied(Fix("graph", "remove_node", "Remove the Softmax", {"node": "softmax"}), graph)
    assert "softmax" not in fixed.nodes
    assert fixed.edge_into("loss", "input").src == "fc2"
    assert fixed.edge_into("probs", "x").src == "fc2"


def test_insert_batchnorm_after_each_mnist_conv_gets_its_features_from_the_conv() -> None:
    graph = zoo.build("mnist-cnn")
    fix = Fix("graph", "insert_after", "Add BatchNorm after conv2", {"node": "conv2", "type": "BatchNorm2d"})
    fixed = applied(fix, graph)
    new = [n for n in fixed if n.type == "BatchNorm2d"]
    assert len(new) == 1
    assert fixed.edge_into(new[0].id, "x").src == "conv2"
    assert fixed.edge_into("relu2", "x").src == new[0].id
    assert ShapeInference(fixed).run().spec(new[0].id).shape[1] == 64
    torch = pytest.importorskip("torch")
    from neuralforge_desktop.core.build.torch_builder import build_model

    module = getattr(build_model(fixed), new[0].id)
    assert isinstance(module, torch.nn.BatchNorm2d) and module.num_features == 64  # conv2's out_channels
    assert list(fixed.nodes).index(new[0].id) == list(fixed.nodes).index("conv2") + 1


def test_insert_after_a_node_feeding_two_layers_puts_the_new_layer_on_both_edges() -> None:
    graph = zoo.build("mnist-cnn")  # fc2 feeds the Output and the loss
    fixed = applied(Fix("graph", "insert_after", "Dropout", {"node": "fc2", "type": "Dropout",
                                                             "params": {"p": 0.2}}), graph)
    drop = next(n for n in fixed if n.type == "Dropout" and n.id != "dropout")
    assert drop.params == {"p": 0.2}
    assert fixed.edge_into("logits", "x").src == drop.id and fixed.edge_into("loss", "input").src == drop.id


def test_replace_sigmoid_by_relu_keeps_the_connections() -> None:
    graph = softmax_classifier()
    fixed = applied(Fix("graph", "replace_type", "Use ReLU", {"node": "act", "type": "ReLU"}), graph)
    assert fixed.node("act").type == "ReLU"
    assert fixed.edge_into("act", "x").src == "fc1" and fixed.edge_into("fc2", "x").src == "act"
    assert list(fixed.nodes) == list(graph.nodes)


def test_replace_type_keeps_the_params_both_types_share() -> None:
    graph = zoo.build("mnist-cnn")
    fixed = applied(Fix("graph", "replace_type", "Average", {"node": "pool1", "type": "AvgPool2d"}), graph)
    assert fixed.node("pool1").params == {"kernel_size": 2}
    assert ShapeInference(fixed).run().spec("pool1").shape[2:] == (14, 14)


def test_replace_type_inside_a_block() -> None:
    graph = zoo.build("mobilenet-v2")
    fixed = applied(Fix("graph", "replace_type", "ReLU", {"node": "stem/relu6", "type": "ReLU"}), graph)
    body = fixed.node("stem").body
    assert body is not None and body.node("relu6").type == "ReLU"
    assert body.edge_into("relu6", "x").src == "bn"


def test_insert_after_inside_nested_blocks() -> None:
    graph = zoo.build("resnet18")  # layer1 holds "blocks" (repeated twice), which holds the convolutions
    fixed = applied(Fix("graph", "insert_after", "Dropout", {"node": "layer1/blocks/conv1", "type": "Dropout2d",
                                                             "params": {"p": 0.1}}), graph)
    body = fixed.node("layer1").body.node("blocks").body
    assert body.edge_into("bn1", "x").src == "dropout2d" and body.edge_into("dropout2d", "x").src == "conv1"


def test_insert_batchnorm1d_after_a_linear() -> None:
    fixed = applied(Fix("graph", "insert_after", "BatchNorm", {"node": "fc1", "type": "BatchNorm1d"}),
                    digits_mlp())
    assert fixed.edge_into("relu", "x").src == "batchnorm1d"
    assert ShapeInference(fixed).run().spec("batchnorm1d").shape[1] == 32


def test_replace_loss_swaps_the_loss_node_type() -> None:
    graph = zoo.build("mnist-cnn")
    fixed = applied(Fix("graph", "replace_loss", "NLL", {"node": "loss", "type": "NLLLoss"}), graph)
    assert fixed.node("loss").type == "NLLLoss"
    assert fixed.edge_into("loss", "input").src == "fc2" and fixed.edge_into("loss", "target").src == "label"


def test_replace_loss_without_a_loss_node_only_checks_the_type() -> None:
    graph = no_loss_classifier()
    fix = Fix("graph", "replace_loss", "Cross-entropy", {"node": None, "type": "CrossEntropyLoss"})
    assert fix_edits(fix, graph) == [] and fix_edit(fix, graph) is None
    result = apply_fix(fix, graph, CONFIG)
    assert dumps(result.graph) == dumps(graph) and result.edit is None and "no loss node" in result.description
    with pytest.raises(FixError, match="ReLU is not a loss"):
        apply_fix(Fix("graph", "replace_loss", "x", {"node": None, "type": "ReLU"}), graph, CONFIG)


@pytest.mark.parametrize("args", [{"lr": 0.05}, {"normalize": True}, {"grad_clip": 1.0}, {"warmup_steps": 100},
                                  {"batch_size": 32}, {"class_weights": True}])
def test_config_fixes_change_only_the_settings(args: dict) -> None:
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="digits", normalize=False)
    result = apply_fix(Fix("config", "set_config", "Change", args), graph, config)
    for name, value in args.items():
        assert getattr(result.config, name) == value
    assert config.normalize is False and config.lr == 1e-3 and config.class_weights is False
    assert result.edit is None and result.settings == args and dumps(result.graph) == dumps(graph)


@pytest.mark.parametrize(("fix", "named"), [
    (Fix("graph", "remove_node", "x", {"node": "gone"}), "'gone'"),
    (Fix("graph", "remove_node", "x", {"node": "stem/gone"}), "'stem/gone'"),
    (Fix("graph", "replace_type", "x", {"node": "relu1", "type": "Swish9"}), "'Swish9'"),
    (Fix("graph", "insert_after", "x", {"node": "fc1", "type": "BatchNorm2d"}), "'fc1'"),
    (Fix("graph", "remove_node", "x", {"node": "loss"}), "'loss'"),
    (Fix("graph", "frobnicate", "x", {"node": "fc1"}), "'frobnicate'"),
    (Fix("config", "set_config", "x", {"learning_rate": 0.1}), "'learning_rate'"),
    (Fix("config", "set_config", "x", {"lr": -1.0}), "lr"),
])
def test_a_fix_that_cannot_apply_names_what_is_wrong(fix: Fix, named: str) -> None:
    graph = zoo.build("mnist-cnn")
    before = dumps(graph)
    with pytest.raises(UserError, match=named.replace("(", r"\(")):
        apply_fix(fix, graph, CONFIG)
    assert dumps(graph) == before


def test_a_finding_from_json_carries_a_fix_that_applies() -> None:
    finding = Finding.from_json({
        "kind": "softmax_before_cross_entropy", "severity": "error", "title": "Softmax before cross-entropy",
        "explanation": "CrossEntropyLoss applies log-softmax itself.", "evidence": {"layer": "softmax"},
        "fix": {"kind": "graph", "action": "remove_node", "label": "Remove softmax", "args": {"node": "softmax"}}})
    assert finding.fix is not None
    assert "softmax" not in apply_fix(finding.fix, softmax_classifier(), CONFIG).graph.nodes


# -- class weights ---------------------------------------------------------------------------------------
def imbalanced_csv(tmp_path: Path) -> Path:
    """Four features, three classes of 120, 30 and 10 rows."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [120, 30, 10])
    features = rng.normal(size=(len(labels), 4)) + labels[:, None]
    path = tmp_path / "imbalanced.csv"
    rows = ["a,b,c,d,label"] + [",".join(f"{v:.4f}" for v in row) + f",{y}"
                                for row, y in zip(features, labels, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def table_classifier(loss: bool) -> Graph:
    c = Composer("table")
    x = c.input("features", [4])
    logits = c.layer("Linear", x, "fc", out_features=3)
    c.output(logits, "logits")
    if loss:
        label = c.input("label", [], dtype="int64", role="target")
        c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


@pytest.mark.parametrize("loss_node", [False, True])
def test_class_weights_weigh_the_loss_by_inverse_label_counts_and_train(tmp_path: Path, loss_node: bool) -> None:
    pytest.importorskip("torch")
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.parts import build_parts
    from neuralforge_desktop.core.training.runner import prepare_run

    path = imbalanced_csv(tmp_path)
    graph = table_classifier(loss_node)
    config = TrainConfig(dataset=str(path), epochs=1, batch_size=32, threads=1, val_fraction=0.0,
                         class_weights=True)
    parts = build_parts(graph.copy(), config)
    weight = parts.setup.loss_fn.weight.cpu().numpy()
    counts = np.array([120, 30, 10])
    np.testing.assert_allclose(weight, counts.sum() / (3 * counts), rtol=1e-5)
    assert "weighted" in parts.setup.loss_name
    unweighted = build_parts(graph.copy(), TrainConfig(dataset=str(path), epochs=1, threads=1, val_fraction=0.0))
    assert unweighted.setup.loss_fn.weight is None

    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(graph, config, store, "coach")
    result = Trainer(graph, config, run_id, folder, lambda _event: None, store).run()
    assert store.get_run(run_id).status == "finished", result
    assert store.get_run(run_id).params["class_weights"] is True


def test_class_weights_refuse_a_regression(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from neuralforge_desktop.core.training.parts import build_parts

    path = tmp_path / "reg.csv"
    path.write_text("a,b,y\n" + "\n".join(f"{i},{i * 2},{i * 0.5}" for i in range(20)) + "\n", encoding="utf-8")
    c = Composer("reg")
    c.output(c.layer("Linear", c.input("features", [2]), "fc", out_features=1), "out")
    with pytest.raises(UserError, match="class_weights: only for classification"):
        build_parts(c.done(), TrainConfig(dataset=str(path), epochs=1, threads=1, class_weights=True))
