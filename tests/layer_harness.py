"""Runs one catalog example the way the product does: a graph around the layer, shape inference, the
builder, and the generated source, plus direct torch construction for losses (which the model excludes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params
from neuralforge_desktop.core.codegen.plan import render
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import resolve_dim


@dataclass
class Case:
    layer: LayerDef
    example: Example
    graph: Graph
    shapes: ShapeInference
    params: Params
    inputs: dict[str, torch.Tensor]


def example_graph(layer: LayerDef, example: Example) -> Graph:
    graph = Graph(f"{layer.type.lower()}-case")
    node = graph.add_node(layer.type, "layer", dict(example.params))
    for port, (shape, dtype) in example.inputs.items():
        batch = len(shape) >= 1
        graph.add_node("Input", f"in_{port}", {"shape": list(shape[1:]) if batch else [], "dtype": dtype,
                                               "batch": batch})
        graph.connect(f"in_{port}", "y", node.id, port)
    params, _ = layer.validate_params(example.params)
    for port in layer.output_ports(params):
        graph.add_node("Output", f"out_{port.name}")
        graph.connect(node.id, port.name, f"out_{port.name}", "x")
    return graph


def example_tensors(example: Example, device: str = "cpu", seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for port, (shape, dtype) in example.inputs.items():
        td = getattr(torch, dtype)
        if td.is_floating_point:
            t = torch.randn(*shape, generator=gen).to(td)
        elif td == torch.bool:
            t = torch.rand(*shape, generator=gen) > 0.5
        else:
            t = torch.randint(0, example.int_high, shape, generator=gen, dtype=td)
        tensors[port] = t.to(device)
    return tensors


def make_case(layer: LayerDef, example: Example) -> Case:
    graph = example_graph(layer, example)
    shapes = ShapeInference(graph).run()
    params, errors = layer.validate_params(example.params)
    assert not errors, [str(e) for e in errors]
    return Case(layer, example, graph, shapes, params, example_tensors(example))


def direct_module(layer: LayerDef, params: Params, specs: dict[str, Any]) -> tuple[Any, Any]:
    """(module or None, step function) built straight from the TorchCall, for layers outside the model."""
    from torch import nn
    from torch.nn import functional as F

    call = layer.torch
    assert call is not None
    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F}
    for helper in call.helpers:
        exec(helper, ns)
    module = None
    if call.module is not None:
        module = eval(call.module, ns)(**(call.init(params, specs) if call.init else {}))
    ins = [p.name for p in layer.input_ports(params)]
    outs = [p.name for p in layer.output_ports(params)]
    names: dict[str, Any] = {"self": "m", **{p: f"v_{p}" for p in ins + outs}}
    for group, ports in ((layer.inputs, ins), (layer.outputs, outs)):
        for port in group:
            if port.variadic:
                names[port.name] = [names[p] for p in ports if p.startswith(port.name)]
    src = render(call.forward_template(params), names, params)
    body = "\n".join("    " + line for line in src.split("\n"))
    code = f"def _f(m, {', '.join('v_' + p for p in ins)}):\n{body}\n    return ({', '.join('v_' + p for p in outs)},)"
    local: dict[str, Any] = {}
    exec(code, ns, local)
    return module, local["_f"]


def concrete_shape(spec: Any, batch: int) -> tuple[int, ...]:
    return tuple(resolve_dim(d, {"N": batch}) for d in spec.shape)
