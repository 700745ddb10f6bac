"""The first-steps tutorial's checks: each step is ticked by what the graph has, in order, and only when it
really has it (right shapes, right wiring, no errors); when it is not, the hint says what is wrong."""

from __future__ import annotations

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.tutorial import CHAIN, STEPS, Target, diagnose, focus, steps_done, trace


def done(graph: Graph, trained: bool = False) -> int:
    return steps_done(graph, ShapeInference(graph).run(), trained)


def hint(graph: Graph, step: int) -> str:
    return diagnose(graph, ShapeInference(graph).run(), step)


def build(upto: int, *, shape=(1, 28, 28), classes: int = 10, flatten: bool = True, wired: bool = True) -> Graph:
    """The tutorial's CNN, built up to step ``upto`` (1-based), as a user would build it."""
    c = Composer("tutorial")
    x = c.input("image", list(shape))
    if upto >= 2:
        x = c.layer("Conv2d", x, "conv")
    if upto >= 3:
        x = c.layer("ReLU", x, "relu")
    if upto >= 4:
        x = c.layer("MaxPool2d", x if wired else None, "pool")
    if upto >= 5 and flatten:
        x = c.layer("Flatten", x, "flatten")
    if upto >= 6:
        x = c.layer("Linear", x, "scores", out_features=classes)
        c.output(x, "logits")
    return c.done()


def test_the_steps_tick_one_after_another_as_the_classifier_grows():
    assert done(Graph("blank")) == 0
    for upto in range(1, 7):
        assert done(build(upto)) == upto, upto
        assert hint(build(upto), upto) == ""  # nothing of the next step placed yet: the step's text guides
    assert done(build(6), trained=True) == len(STEPS) == 7
    assert done(build(3), trained=True) == 3  # a run of an unfinished graph does not skip the steps before
    assert [n.type for n in trace(build(6), ShapeInference(build(6)).run())] == list(CHAIN)


def test_a_deeper_cnn_passes_the_steps_it_shares_with_the_tutorial_and_the_hint_names_the_difference():
    graph = zoo.build("mnist-cnn")  # conv, relu, pool, then a second convolution where the tutorial flattens
    assert done(graph) == 4
    assert "pool1" in hint(graph, 4) and "add a Flatten" in hint(graph, 4)


def test_a_step_is_not_ticked_when_the_graph_only_looks_like_it_and_the_hint_says_why():
    wrong_size = build(6, shape=(3, 32, 32))
    assert done(wrong_size) == 0
    assert "N×3×32×32" in hint(wrong_size, 0) and "1, 28, 28" in hint(wrong_size, 0)

    no_flatten = build(6, flatten=False)
    assert done(no_flatten) == 4
    assert "Flatten" in hint(no_flatten, 4) and "N×32×14×14" in hint(no_flatten, 4)

    many_scores = build(6, classes=128)
    assert done(many_scores) == 5
    assert "N×128" in hint(many_scores, 5) and "out_features" in hint(many_scores, 5)

    unwired = build(4, wired=False)
    assert done(unwired) == 3  # a MaxPool2d that no wire feeds
    assert "not wired" in hint(unwired, 3) and "'pool'" in hint(unwired, 3)

    no_output = build(6)
    no_output.remove_node("logits")
    assert done(no_output) == 5  # scores that no Output returns


def test_every_step_says_what_to_do_and_where():
    for step in STEPS:
        assert step.title and len(step.how) > 60 and step.targets
    assert [step.check is None for step in STEPS] == [False] * 6 + [True]  # training: the app says
    assert [t.kind for step in STEPS for t in step.targets].count("inspector") == 1


def test_the_panel_points_at_what_the_user_needs_next():
    def at(graph: Graph, step: int):
        return focus(graph, ShapeInference(graph).run(), step)

    assert at(Graph("blank"), 0) == Target("palette", "Input")
    assert at(build(1), 1) == Target("palette", "Conv2d")
    assert at(build(5), 5) == Target("palette", "Linear")  # no Linear yet
    many_scores = build(6, classes=128)
    assert at(many_scores, 5) == Target("inspector", "out_features")  # a Linear that gives 128 scores
    no_output = build(6)
    no_output.remove_node("logits")
    assert at(no_output, 5) == Target("palette", "Output")
    assert at(build(6), 6) == Target("train", "start") and at(build(6), 7) is None
