"""Before training: a classifier's output width and its loss are checked against the dataset's classes."""

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.training.datasets import list_datasets
from neuralforge_desktop.core.training.preflight import preflight

from training_graphs import digits_mlp, wide_mlp_without_loss


def mnist():
    return {d.name: d for d in list_datasets()}["mnist-10k"]


def test_width_mismatch_is_named_and_its_fix_removes_it():
    graph = wide_mlp_without_loss()
    findings = preflight(graph, ShapeInference(graph).run(), mnist())
    messages = [f.message for f in findings]
    assert "Linear 'fc2' gives 128 outputs but mnist-10k has 10 classes" in messages
    assert "no loss node: CrossEntropyLoss will be used for classification" in messages
    width = next(f for f in findings if "fc2" in f.message)
    assert width.blocking and width.fix is not None

    inverse = width.fix.apply(graph)
    after = [f.message for f in preflight(graph, ShapeInference(graph).run(), mnist())]
    assert graph.node("fc2").params["out_features"] == 10
    assert not any("fc2" in m for m in after)
    assert after == ["no loss node: CrossEntropyLoss will be used for classification"]

    inverse.apply(graph)  # the fix is an ordinary edit: undo brings the mismatch back
    assert any("fc2" in f.message for f in preflight(graph, ShapeInference(graph).run(), mnist()))


def test_a_matching_classifier_with_its_loss_has_no_findings():
    graph = digits_mlp()
    digits = {d.name: d for d in list_datasets()}.get("digits")
    assert digits is not None and digits.num_classes == 10
    assert preflight(graph, ShapeInference(graph).run(), digits) == []
