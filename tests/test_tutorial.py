"""The first-steps tutorial's checks: each step is ticked by what the graph has, in order, and only when it
really has it (right shapes, right wiring, no errors)."""

from __future__ import annotations

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.tutorial import STEPS, steps_done


def done(graph: Graph, trained: bool = False) -> int:
    return steps_done(graph, ShapeInference(graph).run(), trained)


def build(upto: int, *, shape=(1, 28, 28), classes: int = 10, wired: bool = True) -> Graph:
    """The tutorial's classifier, built up to step ``upto`` (1-based), as a user would build it."""
    c = Composer("tutorial")
    x = c.input("image", list(shape))
    if upto >= 2:
        x = c.layer("Flatten", x if wired else None, "flatten")
    if upto >= 3:
        x = c.layer("Linear", x, "hidden")
        x = c.layer("ReLU", x, "relu")
    if upto >= 4:
        x = c.layer("Linear", x, "scores", out_features=classes)
        c.output(x, "logits")
    return c.done()


def test_the_steps_tick_one_after_another_as_the_classifier_grows():
    assert done(Graph("blank")) == 0
    for upto in (1, 2, 3, 4):
        assert done(build(upto)) == upto
    assert done(build(4), trained=True) == len(STEPS) == 5
    assert done(build(3), trained=True) == 3  # a run of an unfinished graph does not skip the steps before


def test_a_step_is_not_ticked_when_the_graph_only_looks_like_it():
    assert done(build(4, shape=(3, 32, 32))) == 0  # not an MNIST image
    assert done(build(4, classes=128)) == 3  # no ten scores
    unwired = build(2, wired=False)
    assert done(unwired) == 1  # a Flatten that no wire feeds
    graph = build(4)
    graph.remove_node("logits")
    assert done(graph) == 3  # scores that no Output returns


def test_every_step_says_what_to_do():
    for step in STEPS:
        assert step.title and len(step.how) > 60
    assert [step.check is None for step in STEPS] == [False, False, False, False, True]  # training: the app
