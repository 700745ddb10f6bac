"""ML 101 examples: each is a small valid graph around the layer it explains, with that layer's catalog text
and a reason why it matters; each survives a save and reload and generates PyTorch code."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.analysis.lint import lint
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import get_layer
from neuralforge_desktop.core.ir.serialize import graph_from_dict, graph_to_dict
from neuralforge_desktop.core.ml101 import EXAMPLES, example


@pytest.mark.parametrize("item", EXAMPLES, ids=lambda e: e.key)
def test_each_example_is_a_valid_graph_whose_shapes_infer(item):
    graph = item.graph()
    graph.check_invariants()
    shapes = ShapeInference(graph).run()
    assert shapes.ok, [str(d) for d in shapes.errors]
    assert not [d for d in lint(graph, shapes) if d.is_error]
    about = graph.nodes_of_type(item.layer)
    assert len(about) == 1 and shapes.spec(about[0].id) is not None  # the layer it explains, with its shape
    assert graph.output_nodes and graph.meta["ml101"] == item.key
    again = graph_from_dict(graph_to_dict(graph))
    assert graph_to_dict(again) == graph_to_dict(graph)


@pytest.mark.parametrize("item", EXAMPLES, ids=lambda e: e.key)
def test_each_example_has_its_text(item):
    layer = get_layer(item.layer)
    assert item.plain == layer.description and len(item.plain) > 20
    assert item.math == layer.math and "$" in item.math
    assert len(item.why) > 80 and item.title
    assert example(item.key) is item


def test_the_gallery_covers_the_five_ideas():
    assert [e.layer for e in EXAMPLES] == ["Conv2d", "MaxPool2d", "Dropout", "LSTM", "MultiheadAttention"]
    with pytest.raises(KeyError):
        example("nope")
