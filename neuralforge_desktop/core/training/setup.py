"""From a graph and a dataset to what the loop needs: the model, the loss, which model output the loss reads,
and the data as tensors on the device (batched later by index, never through a per-sample DataLoader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.node_params import is_data_input, node_params
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import BATCH, resolve_dim


class SetupError(UserError, ValueError):
    """The graph and the dataset do not fit together; the message names the node and both sides."""


@dataclass
class Setup:
    model: Any
    loss_fn: Any
    output_index: int  # which model output the loss reads
    loss_name: str
    task: str


def pick_device(name: str) -> Any:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SetupError("device: CUDA was asked for but torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def bind_dataset(graph: Graph, bundle: Any) -> Graph:
    """Check the graph's data input against the dataset and bind symbolic sizes (e.g. T) to the data's."""
    shapes = ShapeInference(graph).run()
    if shapes.errors:
        raise SetupError("the graph has errors:\n" + "\n".join(f"  {d.message}" for d in shapes.errors))
    data_inputs = [n for n in graph.input_nodes if is_data_input(n)]
    if len(data_inputs) != 1:
        raise SetupError(f"training needs exactly one data Input; this graph has {len(data_inputs)} "
                         f"({', '.join(n.id for n in data_inputs) or 'none'})")
    node = data_inputs[0]
    params = node_params(node)
    declared = list(params.shape)
    actual = list(bundle.input_shape)
    if len(declared) != len(actual):
        raise SetupError(f"Input '{node.id}' has shape {tuple(declared)} but dataset {bundle.name} gives "
                         f"{tuple(actual)} per example")
    for want, got in zip(declared, actual, strict=True):
        if isinstance(want, str) and want != BATCH:
            graph.symbols[want] = int(got)
        elif want != got:
            raise SetupError(f"Input '{node.id}' has shape {tuple(declared)} but dataset {bundle.name} gives "
                             f"{tuple(actual)} per example")
    want_dtype = params.dtype
    if (want_dtype in ("int64", "int32")) != (bundle.input_dtype == "int64"):
        raise SetupError(f"Input '{node.id}' is {want_dtype} but dataset {bundle.name} gives {bundle.input_dtype}")
    return graph


def build_setup(graph: Graph, bundle: Any) -> Setup:
    from torch import nn

    from neuralforge_desktop.core.build.torch_builder import build_model

    shapes = ShapeInference(graph).run()
    model = build_model(graph, shapes)
    cat = catalog()
    losses = [n for n in graph if (layer := cat.find(n.type)) is not None and layer.is_loss]
    if not losses:  # the task's default loss: torch's own module, not a catalog layer type
        if bundle.task == "classification":
            return Setup(model, nn.CrossEntropyLoss(), 0, "CrossEntropyLoss (default for classification)",
                         bundle.task)
        return Setup(model, nn.MSELoss(), 0, "MSELoss (default for regression)", bundle.task)
    if len(losses) > 1:
        raise SetupError(f"training uses one loss; this graph has {len(losses)} ({', '.join(n.id for n in losses)})")
    loss_node = losses[0]
    feed = graph.edge_into(loss_node.id, "input")
    if feed is None:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' input 'input' is not connected")
    output_index = None
    for i, out_id in enumerate(model.output_names):  # the model's outputs, in the order forward returns them
        edge = graph.edge_into(out_id, "x")
        if edge is not None and (edge.src, edge.src_port) == (feed.src, feed.src_port):
            output_index = i
    if output_index is None:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' reads '{feed.src}', which is not a model Output; "
                         f"connect '{feed.src}' to an Output node too")
    layer = cat.get(loss_node.type)
    result = shapes.results[loss_node.id]
    call = layer.torch
    assert call is not None and call.module is not None and result.params is not None
    factory = getattr(nn, call.module.removeprefix("nn."))
    loss_fn = factory(**(call.init(result.params, result.inputs) if call.init else {}))
    return Setup(model, loss_fn, output_index, f"{loss_node.type} '{loss_node.id}'", bundle.task)


def check_fit(graph: Graph, bundle: Any, setup: Setup) -> None:
    """The loss and the model output it reads must suit the dataset's targets (see the two checks below)."""
    cat = catalog()
    for node in graph:
        layer = cat.find(node.type)
        if layer is not None and layer.is_loss:
            check_loss_fits(node, layer, bundle)
    output_names = getattr(setup.model, "output_names", [])
    if output_names:
        check_output_fits(graph, ShapeInference(graph).run(), output_names[setup.output_index], bundle)


def check_loss_fits(loss_node: Any, layer: Any, bundle: Any) -> None:
    """A loss whose target port takes floats (MSE, L1, BCE …) needs regression targets; one that takes any
    (cross-entropy, NLL) reads class labels."""
    ports = {p.name: p for p in layer.input_ports({})}
    wants_floats = "target" in ports and ports["target"].dtype == "float"
    if bundle.task == "classification" and wants_floats:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' needs float targets, but dataset {bundle.name} gives "
                         f"class labels ({bundle.num_classes} classes); use CrossEntropyLoss for a classification")
    if bundle.task == "regression" and not wants_floats:
        raise SetupError(f"{loss_node.type} '{loss_node.id}' reads class labels, but dataset {bundle.name} gives "
                         f"regression targets of shape {tuple(bundle.train.y.shape[1:])} per example; use MSELoss")


def check_output_fits(graph: Graph, shapes: ShapeInference, output_id: str, bundle: Any) -> None:
    """The model output the loss reads must be able to match the dataset's targets: K ≥ classes scores per
    example for class labels, the targets' own shape for regression. Checked before the first step, so that
    a mismatch is a message naming both sides, not a torch error (or a silent broadcast) in the loop."""
    spec = shapes.graph_outputs().get(output_id)
    if spec is None:
        return
    try:
        per_example = tuple(resolve_dim(d, graph.symbols) for d in spec.shape[1:])
    except (KeyError, ValueError):
        return  # an unbound size: the shape check of the graph reports it
    shown = "×".join(map(str, per_example)) or "a scalar"
    like_input = (" — the shape of its input, as an autoencoder's output has; it cannot be trained on labels"
                  if per_example == tuple(bundle.input_shape) else "")
    if bundle.task == "classification":
        classes = int(bundle.num_classes or 0)
        if len(per_example) != 1:
            raise SetupError(f"Output '{output_id}' gives {shown} per example{like_input}, but dataset "
                             f"{bundle.name} gives one class label per example ({classes} classes), so the model "
                             f"must output {classes} class scores per example")
        if per_example[0] < classes:
            raise SetupError(f"dataset {bundle.name} has {classes} classes (labels 0‥{classes - 1}), but Output "
                             f"'{output_id}' gives {per_example[0]} scores per example{like_input}; give the last "
                             f"layer {classes} outputs")
        return
    target = tuple(int(d) for d in bundle.train.y.shape[1:])
    if per_example != target:
        want = "×".join(map(str, target)) or "a scalar"
        raise SetupError(f"Output '{output_id}' gives {shown} per example{like_input}, but dataset {bundle.name}'s "
                         f"targets are {want} per example")


def to_tensors(split: Any, device: Any, task: str) -> tuple[Any, Any]:
    import torch

    x = torch.from_numpy(split.x).to(device)
    y = torch.from_numpy(split.y).to(device)
    if task == "classification":
        y = y.to(torch.int64)
    return x, y
