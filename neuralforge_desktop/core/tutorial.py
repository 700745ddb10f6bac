"""First steps: a short guided build of an MNIST digit classifier, as data the app's tutorial panel walks through.

Each step says what to do and how to find it, and carries the check that tells whether the graph now has it:
checks read the graph and its inferred shapes, never the widgets, so the same build done with the mouse, the
keyboard or a template passes the same way. The last step (training) is ticked by the app when a run starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph, Node

Check = Callable[[Graph, ShapeInference], bool]
MNIST_IMAGE = (1, 28, 28)


@dataclass(frozen=True)
class Step:
    title: str
    how: str  # what to do, and where to find it
    check: Check | None  # None: the app says when it is done (a training run started)


def _of_type(graph: Graph, type_name: str) -> list[Node]:
    return [node for node in graph.nodes.values() if node.type == type_name]


def _fed_by(graph: Graph, node: Node, type_name: str) -> bool:
    return any(graph.nodes[p].type == type_name for p in graph.producers(node.id))


def _image_inputs(graph: Graph, shapes: ShapeInference) -> list[Node]:
    """Data inputs that carry one MNIST image per sample (N×1×28×28)."""
    found = []
    for node in _of_type(graph, INPUT):
        spec = shapes.spec(node.id)
        if node.params.get("role") != "target" and spec is not None and tuple(spec.shape[1:]) == MNIST_IMAGE:
            found.append(node)
    return found


def _has_input(graph: Graph, shapes: ShapeInference) -> bool:
    return bool(_image_inputs(graph, shapes))


def _has_flatten(graph: Graph, shapes: ShapeInference) -> bool:
    images = {node.id for node in _image_inputs(graph, shapes)}
    for node in _of_type(graph, "Flatten"):
        spec = shapes.spec(node.id)
        if set(graph.producers(node.id)) & images and spec is not None and tuple(spec.shape[1:]) == (784,):
            return True
    return False


def _hidden_layers(graph: Graph) -> list[Node]:
    """ReLUs fed by a Linear that is fed by a Flatten: the hidden layer."""
    return [relu for relu in _of_type(graph, "ReLU")
            if any(graph.nodes[p].type == "Linear" and _fed_by(graph, graph.nodes[p], "Flatten")
                   for p in graph.producers(relu.id))]


def _has_hidden(graph: Graph, shapes: ShapeInference) -> bool:
    return _has_flatten(graph, shapes) and bool(_hidden_layers(graph))


def _has_scores(graph: Graph, shapes: ShapeInference) -> bool:
    """Ten scores after the hidden layer, returned by an Output, and no errors left anywhere."""
    if not _has_hidden(graph, shapes) or not shapes.ok:
        return False
    hidden = {node.id for node in _hidden_layers(graph)}
    for node in _of_type(graph, "Linear"):
        spec = shapes.spec(node.id)
        scores = bool(set(graph.producers(node.id)) & hidden) and spec is not None and tuple(spec.shape[1:]) == (10,)
        if scores and any(graph.nodes[c].type == OUTPUT for c in graph.consumers(node.id)):
            return True
    return False


STEPS: tuple[Step, ...] = (
    Step("Add the input",
         "Drag Input from the Layers panel onto the canvas (or click the canvas, press Tab, type “input” and "
         "press Enter). It stands for one MNIST image: 1×28×28, one grey channel of 28 by 28 pixels.",
         _has_input),
    Step("Flatten the image",
         "Add a Flatten layer and drag a wire from the Input's port on its right edge to the Flatten's port on its "
         "left edge (or select the Input, press Tab and pick Flatten: it comes after it, wired). The wire out of "
         "the Flatten reads N×784: each image has become a row of 784 numbers.",
         _has_flatten),
    Step("Add a hidden layer",
         "Add a Linear (Dense) layer after the Flatten and a ReLU after the Linear, wired the same way. Linear "
         "multiplies by a learned weight matrix (128 outputs by default); ReLU keeps the positive values.",
         _has_hidden),
    Step("Ten scores, one per digit",
         "Add a second Linear after the ReLU, select it and set out_features to 10 in the Inspector; then add an "
         "Output after it. The wire into the Output reads N×10.",
         _has_scores),
    Step("Train it",
         "Open the Train tab below the canvas (View ▸ Panels ▸ Train), choose the dataset mnist-10k and press "
         "Start. The curves show the loss falling and the accuracy rising as the network learns.",
         None),
)


def steps_done(graph: Graph, shapes: ShapeInference, trained: bool = False) -> int:
    """How many steps, from the first, the graph (and a started run) completes."""
    done = 0
    for step in STEPS:
        finished = trained if step.check is None else step.check(graph, shapes)
        if not finished:
            break
        done += 1
    return done
