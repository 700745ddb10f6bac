"""Size limits and repeats: a graph from a file is refused by a named limit, and a repeated block costs the
same time whatever its ``repeat``."""

from __future__ import annotations

import time

import pytest

from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.analysis.shapes import ShapeInference, infer_shapes
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.serialize import GraphFileError, dumps, loads
from neuralforge_desktop.core.limits import Limits


def _body(width: int = 16) -> Composer:
    body = Composer("body")
    h = body.input("x", [16])
    h = body.layer("Linear", h, "lin", out_features=width)
    body.output(h, "y")
    return body


def _stack(repeat: int, levels: int = 1) -> Graph:
    inner = _body()
    for level in range(levels):
        c = Composer(f"level{level}")
        x = c.input("x", [16])
        x = c.block("blk", inner, x, repeat=repeat)
        c.output(x, "y")
        inner = c
    return inner.done()


def test_nested_repeats_are_multiplied_not_iterated() -> None:
    graph = _stack(10_000, levels=3)
    started = time.perf_counter()
    shapes = infer_shapes(graph)
    report = estimate_cost(graph, shapes, device="t4")
    assert time.perf_counter() - started < 2
    assert shapes.ok
    assert report.params == 10_000**3 * (16 * 16 + 16)


def test_a_body_that_keeps_changing_the_shape_cannot_be_repeated() -> None:
    body = Composer("doubler")
    x = body.input("x", [16])
    h = body.layer("Concat", [x, x], "cat", dim=1)
    body.output(h, "y")
    c = Composer("grow")
    x = c.input("x", [16])
    c.output(c.block("blk", body, x, repeat=3), "y")
    shapes = infer_shapes(c.done())
    assert [d.message for d in shapes.errors] == [
        "Block 'blk' (param 'repeat'): expected a body that keeps the tensor shape from its second copy on, to be "
        "repeated 3 times, received N×16 → N×32 → N×64"]


def test_a_repeat_over_the_limit_is_refused_at_load_and_the_limit_can_be_raised() -> None:
    text = dumps(_stack(20_000))
    with pytest.raises(GraphFileError, match=r"nodes\[1\]\.params\.repeat: repeat is 20,000, over the limit of "
                                             r"10,000 \(limit: repeat\)"):
        loads(text, source="big.nfg")
    graph = loads(text, source="big.nfg", limits=Limits(repeat=20_000))
    assert graph.nodes["blk"].repeat == 20_000


@pytest.mark.parametrize(("limits", "message"), [
    (Limits(nodes=4), "nodes[1].body.nodes[1].body.nodes[0]: the node count is 5, over the limit of 4 (limit: nodes)"),
    (Limits(depth=1), "nodes[1].body.nodes[1].body: block nesting is 2, over the limit of 1 (limit: depth)"),
    (Limits(file_bytes=100), ", over the limit of 100 (limit: file_bytes)"),
])
def test_each_load_limit_is_named_in_its_error(limits: Limits, message: str) -> None:
    with pytest.raises(GraphFileError) as info:
        loads(dumps(_stack(2, levels=2)), source="g.nfg", limits=limits)
    assert message in str(info.value)


def test_tensor_and_layer_limits_are_errors_of_validation_and_can_be_raised() -> None:
    graph = _stack(1)
    small = Limits(tensor_elements=15, layer_params=100)
    messages = [d.message for d in ShapeInference(graph, limits=small).run().errors]
    assert "Input 'x': expected at most 15 elements per tensor (limit: tensor_elements), received output 'y' of " \
           "16 elements" in messages
    assert infer_shapes(graph).ok
