"""First steps: a guided build of the MNIST convolutional classifier, as data the app's tutorial panel walks through.

The classifier is one chain, Input → Conv2d → ReLU → MaxPool2d → Flatten → Linear → Output, and each step adds
the next link. A step is ticked when the graph has that link, wired to the link before it, with the shape it
should carry: checks read the graph and its inferred shapes, never the widgets, so the same build done with the
mouse, the keyboard or a template passes the same way. When a step is not done, :func:`diagnose` says in one
sentence what the graph has instead (a wrong input size, a Linear fed the 4-D feature map without a Flatten, 128
scores instead of ten …). The last step (training) is ticked by the app when a run starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT, Graph, Node

Check = Callable[[Graph, ShapeInference], bool]
MNIST_IMAGE = (1, 28, 28)
CLASSES = 10
# The chain the tutorial builds, one link per step (the Output closes the Linear's step).
CHAIN = (INPUT, "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", OUTPUT)


@dataclass(frozen=True)
class Target:
    """The part of the window a step is done in, for the panel to point at: a palette entry (``name`` is the
    layer type), an inspector field (``name`` is the parameter) or the Train panel's Start button."""

    kind: str  # "palette" | "inspector" | "train"
    name: str = ""


@dataclass(frozen=True)
class Step:
    title: str
    how: str  # what to do, and where to find it
    check: Check | None  # None: the app says when it is done (a training run started)
    targets: tuple[Target, ...] = field(default_factory=tuple)
    shape: str = ""  # the shape the new link carries once the step is done (shown as "→ N×…")


def _shape(shapes: ShapeInference, node: Node) -> tuple[int | str, ...] | None:
    spec = shapes.spec(node.id)
    return None if spec is None else tuple(spec.shape[1:])


def _text(shape: tuple[int | str, ...] | None) -> str:
    return "an error" if shape is None else "N×" + "×".join(str(d) for d in shape)


def _image_inputs(graph: Graph, shapes: ShapeInference) -> list[Node]:
    """Data inputs that carry one MNIST image per sample (N×1×28×28)."""
    return [node for node in graph.nodes_of_type(INPUT)
            if node.params.get("role") != "target" and _shape(shapes, node) == MNIST_IMAGE]


def _expected(index: int, before: Node, shapes: ShapeInference, node: Node) -> bool:
    """Whether ``node`` (the link after ``before``) carries the shape link ``index`` of the chain should."""
    if CHAIN[index] == OUTPUT:
        return True  # the Output returns whatever the Linear gives
    shape, previous = _shape(shapes, node), _shape(shapes, before)
    if shape is None or previous is None:
        return False
    if CHAIN[index] == "Conv2d":
        return len(shape) == 3
    if CHAIN[index] == "ReLU":
        return shape == previous
    if CHAIN[index] == "MaxPool2d":
        return len(shape) == 3 and shape[0] == previous[0]
    if CHAIN[index] == "Flatten":
        return len(shape) == 1
    return shape == (CLASSES,)  # the Linear: ten scores


def trace(graph: Graph, shapes: ShapeInference) -> list[Node]:
    """The longest run of the chain the graph has, from an MNIST input, each link fed by the one before and
    carrying the shape it should."""
    best: list[Node] = []

    def walk(path: list[Node]) -> None:
        nonlocal best
        if len(path) > len(best):
            best = list(path)
        index = len(path)
        if index == len(CHAIN):
            return
        for consumer in graph.consumers(path[-1].id):
            node = graph.nodes[consumer]
            fresh = all(node.id != p.id for p in path)
            if node.type == CHAIN[index] and fresh and _expected(index, path[-1], shapes, node):
                walk([*path, node])

    for image in _image_inputs(graph, shapes):
        walk([image])
    return best


def _links(upto: int) -> Check:
    """The check of a step: the chain reaches link ``upto`` (0-based) and, for the last one, nothing is broken."""
    def check(graph: Graph, shapes: ShapeInference) -> bool:
        reached = len(trace(graph, shapes)) > upto
        return reached and (upto < len(CHAIN) - 1 or shapes.ok)
    return check


STEPS: tuple[Step, ...] = (
    Step("Add the input",
         "Drag Input from the Layers panel (Input / Output ▸ Input) onto the canvas, or click the canvas, press "
         "Tab, type “input” and press Enter. It stands for one MNIST image: 1×28×28, one grey channel of 28 by "
         "28 pixels.",
         _links(0), (Target("palette", INPUT),), "N×1×28×28"),
    Step("Slide filters over the image",
         "Add a Conv2D (Layers panel ▸ Convolution ▸ Conv2D; or select the Input, press Tab, type “conv” and "
         "Enter: it comes after the Input, wired). Else drag a wire from the Input's right port to the Conv2D's "
         "left port. Its 32 filters of 3×3 turn the image into 32 feature maps of 28×28.",
         _links(1), (Target("palette", "Conv2d"),), "N×32×28×28"),
    Step("Keep what the filters found",
         "Add a ReLU after the Conv2D, wired the same way (Layers panel ▸ Activation ▸ ReLU, or Tab ▸ “relu”). "
         "It sets every negative value to zero and keeps the rest: the shape does not change.",
         _links(2), (Target("palette", "ReLU"),), "N×32×28×28"),
    Step("Shrink the feature maps",
         "Add a MaxPool2D after the ReLU (Layers panel ▸ Pooling ▸ MaxPool2D, or Tab ▸ “maxpool”). It keeps the "
         "largest value of each 2×2 window, so each 28×28 map becomes 14×14.",
         _links(3), (Target("palette", "MaxPool2d"),), "N×32×14×14"),
    Step("Flatten the maps",
         "Add a Flatten after the MaxPool2D (Layers panel ▸ Reshape ▸ Flatten, or Tab ▸ “flatten”). A Linear "
         "layer wants one row of numbers per image: 32×14×14 becomes 6272.",
         _links(4), (Target("palette", "Flatten"),), "N×6272"),
    Step("Ten scores, one per digit",
         "Add a Linear after the Flatten (Layers panel ▸ Dense ▸ Linear), select it and set out_features to 10 "
         "in the Inspector (it starts at 128); then add an Output after it. The wire into the Output reads N×10.",
         _links(6), (Target("palette", "Linear"), Target("inspector", "out_features"), Target("palette", OUTPUT)),
         "N×10"),
    Step("Train it",
         "Open the Train tab below the canvas (View ▸ Panels ▸ Train), choose the dataset mnist-10k and press "
         "Start. The curves show the loss falling and the accuracy rising as the network learns.",
         None, (Target("train", "start"),)),
)
WATCH = ("Training has started. Watch the curves in the Train panel: the loss falls and the accuracy rises as "
         "the network learns; the Runs panel keeps the run. Close this card when you are ready.")


def steps_done(graph: Graph, shapes: ShapeInference, trained: bool = False) -> int:
    """How many steps, from the first, the graph (and a started run) completes."""
    done = 0
    for step in STEPS:
        finished = trained if step.check is None else step.check(graph, shapes)
        if not finished:
            break
        done += 1
    return done


def focus(graph: Graph, shapes: ShapeInference, step: int) -> Target | None:
    """The part of the window the user needs next for step ``step``: for the scores step, the Linear in the
    palette until one follows the Flatten, then its out_features in the Inspector, then the Output."""
    if step >= len(STEPS):
        return None
    targets = STEPS[step].targets
    if len(targets) == 1:
        return targets[0]
    path = trace(graph, shapes)
    if len(path) >= len(CHAIN) - 1:
        return targets[2]  # ten scores: the Output is next
    if len(path) == len(CHAIN) - 2 and _wired_from(graph, path[-1], "Linear"):
        return targets[1]
    return targets[0]


def _wired_from(graph: Graph, node: Node, type_name: str) -> list[Node]:
    return [graph.nodes[c] for c in graph.consumers(node.id) if graph.nodes[c].type == type_name]


def diagnose(graph: Graph, shapes: ShapeInference, step: int) -> str:
    """What keeps step ``step`` (0-based) from being ticked, in one sentence; empty when nothing is placed yet
    that the step is about (the step's own text says what to do) or when it is done."""
    if step >= len(STEPS) or STEPS[step].check is None or steps_done(graph, shapes) > step:
        return ""
    if step == 0:
        inputs = [n for n in graph.nodes_of_type(INPUT) if n.params.get("role") != "target"]
        if inputs:
            shape = _shape(shapes, inputs[0])
            return (f"The Input '{inputs[0].id}' gives {_text(shape)} per batch, not N×1×28×28: select it and set "
                    "shape to 1, 28, 28 in the Inspector.")
        return ""
    path = trace(graph, shapes)
    last = path[-1]
    wanted = CHAIN[len(path)]
    if step == len(STEPS) - 2 and len(path) == len(CHAIN):
        return "The graph still has an error: see the Problems panel (red wires and nodes show where)."
    fed = _wired_from(graph, last, wanted)
    if fed:
        got = _shape(shapes, fed[0])
        if wanted == "Linear" and got is not None and got != (CLASSES,):
            return (f"The Linear '{fed[0].id}' gives {_text(got)}, not ten scores: select it and set out_features "
                    "to 10 in the Inspector.")
        return f"The {wanted} '{fed[0].id}' gives {_text(got)} here; it should carry {STEPS[step].shape}."
    skipped = [graph.nodes[c] for c in graph.consumers(last.id) if graph.nodes[c].type != wanted]
    if wanted == "Flatten" and any(n.type == "Linear" for n in skipped):
        return (f"The Linear is fed the 4-D feature maps ({_text(_shape(shapes, last))}) straight from the "
                f"{last.type}: put a Flatten between them so each image becomes one row of numbers.")
    if skipped:
        return (f"The {last.type} '{last.id}' feeds a {skipped[0].type}, but the next layer here is a {wanted}: "
                f"add a {wanted} after the {last.type}.")
    placed = graph.nodes_of_type(wanted)
    if placed:
        return (f"The {wanted} '{placed[0].id}' is not wired to the {last.type} '{last.id}': drag from the "
                f"{last.type}'s right port to the {wanted}'s left port.")
    return ""
