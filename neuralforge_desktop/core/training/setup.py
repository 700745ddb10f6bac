"""From a graph and a dataset to what the loop needs: the model, the loss, which model output the loss reads,
and the data as tensors on the device (batched later by index, never through a per-sample DataLoader).

A graph may have several data Inputs; ``bind_dataset`` decides which dataset field feeds each (see
``binding.py``) and the model takes them in its ``input_names`` order (:func:`to_tensors`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Trait
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import OUTPUT, Graph
from neuralforge_desktop.core.ir.types import resolve_dim
from neuralforge_desktop.core.training.binding import Binding, match_inputs
from neuralforge_desktop.core.training.datasets.types import IGNORE_INDEX


class SetupError(UserError, ValueError):
    """The graph and the dataset do not fit together; the message names the node and both sides."""


@dataclass
class Setup:
    model: Any
    loss_fn: Any
    output_index: int  # which model output the loss reads
    loss_name: str
    task: str
    # The graph node and port whose result the loss reads, and where in it the class scores lie (dim 1 for
    # a cross-entropy node; the last dim for the default loss of a language model, which reads N×T×vocab).
    scores_from: tuple[str, str] | None = None
    class_dim: int = 1


def pick_device(name: str) -> Any:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SetupError("device: CUDA was asked for but torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def bind_dataset(graph: Graph, bundle: Any) -> Binding:
    """Check the graph's data Inputs against the dataset's fields (every problem, each naming its Input), bind
    symbolic sizes (e.g. T) to the data's, and check token ids against the lookup tables they index.
    Returns which field each Input reads."""
    shapes = ShapeInference(graph).run()
    if shapes.errors:
        raise SetupError("the graph has errors:\n" + "\n".join(f"  {d.message}" for d in shapes.errors))
    binding, problems = match_inputs(graph, bundle.fields(), bundle.name)
    if problems:
        raise SetupError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems))
    graph.symbols.update(binding.symbols)
    _check_token_ranges(graph, bundle, binding)
    return binding


def _check_token_ranges(graph: Graph, bundle: Any, binding: Binding) -> None:
    """Every id an integer field holds must be a row of each lookup table (Embedding) its Input feeds: an id
    past the table is an index error in the middle of a run otherwise."""
    cat = catalog()
    for node_id, field in binding.fields.items():
        arrays = [split.x if field == bundle.input_name else split.extra[field] for split in bundle.splits().values()
                  if len(split)]
        if not arrays or arrays[0].dtype.kind not in "iu":
            continue
        highest = max(int(a.max()) for a in arrays if a.size)
        for edge in graph.outgoing(node_id):
            consumer = graph.node(edge.dst)
            layer = cat.find(consumer.type)
            rows = node_params(consumer).get("num_embeddings") if layer and Trait.LOOKUP in layer.traits else None
            if isinstance(rows, int) and highest >= rows:
                raise SetupError(f"{consumer.type} '{consumer.id}' has {rows:,} rows (num_embeddings), but the ids "
                                 f"of dataset {bundle.name}'s field {field} (Input '{node_id}') reach {highest:,}; "
                                 f"set num_embeddings to at least {highest + 1:,}")


def build_setup(graph: Graph, bundle: Any) -> Setup:
    import math

    import torch
    from torch import nn

    from neuralforge_desktop.core.build.torch_builder import build_model

    cat = catalog()
    losses = [n for n in graph if (layer := cat.find(n.type)) is not None and layer.is_loss]
    if not losses:  # the task's default loss: torch's own module, not a catalog layer type
        model = build_model(graph, ShapeInference(graph).run())
        first = _output_source(graph, model.output_names[0]) if model.output_names else None
        if bundle.task == "classification":
            return Setup(model, nn.CrossEntropyLoss(), 0, "CrossEntropyLoss (default for classification)",
                         bundle.task, first)
        if bundle.task == "language-modeling":
            return Setup(model, next_token_loss, 0, "cross-entropy over the vocabulary at every position "
                         "(default for language modelling)", bundle.task, first, class_dim=-1)
        return Setup(model, nn.MSELoss(), 0, "MSELoss (default for regression)", bundle.task, first)
    if len(losses) > 1:
        raise SetupError(f"training uses one loss; this graph has {len(losses)} ({', '.join(n.id for n in losses)})")
    loss_node = losses[0]
    feed = graph.edge_into(loss_node.id, "input")
    if feed is None:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' input 'input' is not connected")
    source = (feed.src, feed.src_port)
    model_graph, hidden = graph, None
    if all(_output_source(graph, out.id) != source for out in graph.output_nodes):
        # The loss reads a result no Output returns (GPT-2's logits turned to put the vocabulary in dim 1):
        # the trained model returns it too, as a last output of its own. It adds no weights.
        model_graph = graph.copy()
        hidden = model_graph.new_id(f"{feed.src}_for_loss")
        model_graph.add_node(OUTPUT, hidden)
        model_graph.connect(feed.src, feed.src_port, hidden, "x")
    shapes = ShapeInference(model_graph).run()
    model = build_model(model_graph, shapes)
    output_index = _output_index(model_graph, model.output_names, source)
    if output_index is None:  # what the loss reads depends on a target Input or a loss: no model computes it
        raise SetupError(f"{loss_node.type} '{loss_node.id}' reads '{feed.src}', which the model cannot compute "
                         f"from its data Inputs alone; connect the loss to what the model outputs")
    layer = cat.get(loss_node.type)
    result = shapes.results[loss_node.id]
    call = layer.torch
    assert call is not None and call.module is not None and result.params is not None
    factory = getattr(nn, call.module.removeprefix("nn."), None) if call.module.startswith("nn.") else None
    if factory is None and call.helpers:
        # a plugin's or the user's own loss class: its catalog source defines it, run as the builder runs it
        # (consented code: an installed plugin or a custom layer the user added)
        ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": nn.functional, "math": math}
        for helper in call.helpers:
            exec(compile(helper, "<neuralforge helper>", "exec"), ns)  # trusted: catalog source, as said above
        factory = ns.get(call.module)
    if factory is None:
        raise SetupError(f"{loss_node.type} '{loss_node.id}': no loss class {call.module!r}")
    loss_fn = factory(**(call.init(result.params, result.inputs) if call.init else {}))
    return Setup(model, loss_fn, output_index, f"{loss_node.type} '{loss_node.id}'", bundle.task, source)


def weigh_classes(graph: Graph, bundle: Any, setup: Setup, device: Any) -> None:
    """``class_weights``: each class's loss is weighted by N / (classes × its training examples), so a rare
    class counts as much in total as a common one. Scores past the dataset's classes get weight 1 (no label
    ever selects them)."""
    import numpy as np
    import torch
    from torch import nn

    if setup.task != "classification":
        raise SetupError(f"class_weights: only for classification, but dataset {bundle.name} is a {setup.task} "
                         "task")
    if not isinstance(setup.loss_fn, nn.CrossEntropyLoss):
        raise SetupError(f"class_weights: the loss {setup.loss_name} takes no class weights; use CrossEntropyLoss")
    classes = int(bundle.num_classes or 0)
    labels = np.asarray(bundle.train.y).astype(np.int64).ravel()
    counts = np.bincount(labels, minlength=classes)[:classes] if classes else np.zeros(0)
    width = classes
    if setup.scores_from is not None:
        spec = ShapeInference(graph).run().spec(*setup.scores_from)
        if spec is not None and len(spec.shape) == 2 and isinstance(spec.shape[1], int):
            width = max(classes, spec.shape[1])
    weights = np.ones(width, dtype=np.float32)
    weights[:classes] = len(labels) / (max(classes, 1) * np.maximum(counts, 1))
    setup.loss_fn.weight = torch.tensor(weights, device=device)
    setup.loss_name += ", classes weighted by 1 / their share of the training labels"


def _output_source(graph: Graph, output_id: str) -> tuple[str, str] | None:
    edge = graph.edge_into(output_id, "x")
    return None if edge is None else (edge.src, edge.src_port)


def _output_index(graph: Graph, output_names: list[str], source: tuple[str, str]) -> int | None:
    """Which of the model's outputs (in the order forward returns them) returns ``source``'s result."""
    for i, out_id in enumerate(output_names):
        if _output_source(graph, out_id) == source:
            return i
    return None


def next_token_loss(scores: Any, targets: Any) -> Any:
    """Cross-entropy of N×T×vocab scores against N×T next-token ids, skipping IGNORE_INDEX (padding)."""
    from torch.nn import functional

    return functional.cross_entropy(scores.movedim(-1, 1), targets, ignore_index=IGNORE_INDEX)


def check_fit(graph: Graph, bundle: Any, setup: Setup) -> None:
    """The loss and the model output it reads must suit the dataset's targets (see the two checks below)."""
    cat = catalog()
    for node in graph:
        layer = cat.find(node.type)
        if layer is not None and layer.is_loss:
            check_loss_fits(node, layer, bundle)
    if setup.scores_from is not None:
        check_output_fits(graph, ShapeInference(graph).run(), setup, bundle)


def check_loss_fits(loss_node: Any, layer: Any, bundle: Any) -> None:
    """A loss whose target port takes floats (MSE, L1, BCE …) needs regression targets; one that takes any
    (cross-entropy, NLL) reads class labels (or a language model's next-token ids)."""
    ports = {p.name: p for p in layer.input_ports({})}
    wants_floats = "target" in ports and ports["target"].dtype == "float"
    if bundle.task == "classification" and wants_floats:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' needs float targets, but dataset {bundle.name} gives "
                         f"class labels ({bundle.num_classes} classes); use CrossEntropyLoss for a classification")
    if bundle.task == "language-modeling" and wants_floats:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' needs float targets, but dataset {bundle.name} gives "
                         f"the next token's id at each position; use CrossEntropyLoss for a language model")
    if bundle.task == "regression" and not wants_floats:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' reads class labels, but dataset {bundle.name} gives "
                         f"regression targets of shape {tuple(bundle.train.y.shape[1:])} per example; use MSELoss")


def _scores_name(graph: Graph, setup: Setup) -> str:
    """How messages call what the loss reads: the Output that returns it, else the node that makes it."""
    assert setup.scores_from is not None
    for out in graph.output_nodes:
        if _output_source(graph, out.id) == setup.scores_from:
            return f"Output '{out.id}'"
    node = graph.node(setup.scores_from[0])
    return f"{node.type} '{node.id}'"


def check_output_fits(graph: Graph, shapes: ShapeInference, setup: Setup, bundle: Any) -> None:
    """The model output the loss reads must be able to match the dataset's targets: K ≥ classes scores per
    example for class labels, a score per vocabulary token at every position for a language model, the
    targets' own shape for regression. Checked before the first step, so that a mismatch is a message naming
    both sides, not a torch error (or a silent broadcast) in the loop."""
    assert setup.scores_from is not None
    spec = shapes.spec(*setup.scores_from)
    if spec is None:
        return
    try:
        per_example = tuple(resolve_dim(d, graph.symbols) for d in spec.shape[1:])
    except (KeyError, ValueError):
        return  # an unbound size: the shape check of the graph reports it
    name = _scores_name(graph, setup)
    shown = "×".join(map(str, per_example)) or "a scalar"
    like_input = (" — the shape of its input, as an autoencoder's output has; it cannot be trained on labels"
                  if per_example == tuple(bundle.input_shape) else "")
    if bundle.task == "classification":
        classes = int(bundle.num_classes or 0)
        if len(per_example) != 1:
            raise SetupError(f"{name} gives {shown} per example{like_input}, but dataset "
                             f"{bundle.name} gives one class label per example ({classes} classes), so the model "
                             f"must output {classes} class scores per example")
        if per_example[0] < classes:
            raise SetupError(f"dataset {bundle.name} has {classes} classes (labels 0‥{classes - 1}), but "
                             f"{name} gives {per_example[0]} scores per example{like_input}; give the last "
                             f"layer {classes} outputs")
        return
    target = tuple(int(d) for d in bundle.train.y.shape[1:])
    want = "×".join(map(str, target)) or "a scalar"
    if bundle.task == "language-modeling":
        _check_token_scores(name, per_example, setup.class_dim, target, bundle)
        return
    if per_example != target:
        raise SetupError(f"{name} gives {shown} per example{like_input}, but dataset {bundle.name}'s "
                         f"targets are {want} per example")


def _check_token_scores(name: str, per_example: tuple[int, ...], class_dim: int, target: tuple[int, ...],
                        bundle: Any) -> None:
    """A language model's scores: the vocabulary in ``class_dim`` (at least the tokenizer's size), the
    targets' positions in the other dimensions."""
    vocab = int(bundle.vocab_size or 0)
    shown = "×".join(map(str, per_example))
    if len(per_example) != len(target) + 1:
        raise SetupError(f"{name} gives {shown} per example, but dataset {bundle.name} has a next token at each of "
                         f"{'×'.join(map(str, target))} positions, so the model must give {vocab} scores (one per "
                         f"token of its vocabulary) at each position")
    at = class_dim - 1 if class_dim > 0 else len(per_example) + class_dim
    scores, positions = per_example[at], per_example[:at] + per_example[at + 1:]
    if positions != target:
        raise SetupError(f"{name} gives {shown} per example: scores at {'×'.join(map(str, positions))} positions, "
                         f"but dataset {bundle.name}'s sequences have {'×'.join(map(str, target))}")
    if scores < vocab:
        raise SetupError(f"dataset {bundle.name}'s tokenizer has {vocab:,} tokens, but {name} gives {scores:,} "
                         f"scores per position; give the last layer {vocab:,} outputs (or train the tokenizer with "
                         f"the option vocab_size={scores})")


def to_tensors(split: Any, device: Any, task: str, fields: list[str] | None = None,
               main: str | None = None) -> tuple[tuple[Any, ...], Any]:
    """The split's inputs (the named ``fields``, in the order the model takes them; by default its main one
    alone, ``split.x``, which is called ``main``) and its targets, as tensors on ``device``."""
    import torch

    arrays = [split.x if f == main else split.extra[f] for f in fields] if fields else [split.x]
    xs = tuple(torch.from_numpy(a).to(device) for a in arrays)
    y = torch.from_numpy(split.y).to(device)
    if task in ("classification", "language-modeling"):
        y = y.to(torch.int64)
    return xs, y


def load_initial_weights(model: Any, path: Path) -> None:
    """Start from ``path`` (safetensors, keyed as the generated code and ``neuralforge import`` key them),
    loaded strictly: a missing, extra or misshapen tensor is named, never silently left at its init."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise SetupError(f"initial weights {path.name}: not a readable safetensors file ({exc})") from None
    load_initial_weights_from(model, state, f"initial weights {path.name}")


def load_initial_weights_from(model: Any, state: dict[str, Any], what: str) -> None:
    """Load ``state`` strictly, naming the first tensor that is missing, extra or misshapen (``what`` says whose
    weights they are in the message)."""
    own = model.state_dict()
    for key, value in own.items():
        if key not in state:
            raise SetupError(f"{what} have no {key!r} (the model needs {tuple(value.shape)})")
        if tuple(state[key].shape) != tuple(value.shape):
            raise SetupError(f"{what}: {key!r} is {tuple(state[key].shape)}, the model's is {tuple(value.shape)}")
    extra = sorted(set(state) - set(own))
    if extra:
        raise SetupError(f"{what} hold {extra[0]!r}, which the model does not have")
    model.load_state_dict(state, strict=True)
