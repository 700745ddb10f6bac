"""The one harness every catalog test runs a layer through, the way the product does.

A case is a layer, its inputs and its params: the harness builds a small graph around the layer (one Input
per given port, named after the port; the layer node is ``node``; one Output per output port), runs the
product's shape inference, the product's model builder and the product's code generator
(``generate_pytorch``), and executes the generated source. Losses, which the model leaves out, are built by
the product's training setup. Nothing here renders code or templates itself: a test that passes here
passes because the product does the right thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch

from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Example, LayerDef, Params
from neuralforge_desktop.core.codegen.pytorch import GeneratedCode, generate_pytorch
from neuralforge_desktop.core.diagnostics import Diagnostic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import TensorSpec, resolve_dim

NODE = "node"
# port → shape (batch included, float32) or port → (shape, dtype); a bare shape means the single port "x".
Inputs = Sequence[Any] | Mapping[str, Any]
_SHAPE_COMMENT = re.compile(r"  # \S+$")
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
SYMBOL_SIZE = 5  # the size generated example inputs give a named dimension such as T


def layer_of(layer: LayerDef | str) -> LayerDef:
    return catalog().get(layer) if isinstance(layer, str) else layer


def port_inputs(inputs: Inputs) -> dict[str, tuple[tuple[Any, ...], str]]:
    """Normalise the short forms to port → (shape, dtype)."""
    if not isinstance(inputs, Mapping):
        return {"x": (tuple(inputs), "float32")}
    out: dict[str, tuple[tuple[Any, ...], str]] = {}
    for port, value in inputs.items():
        if len(value) == 2 and isinstance(value[0], tuple | list) and isinstance(value[1], str):
            out[port] = (tuple(value[0]), value[1])
        else:
            out[port] = (tuple(value), "float32")
    return out


def layer_graph(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None,
                batch: bool = True) -> Graph:
    """Inputs → the layer (node ``node``) → Outputs. With ``batch`` dimension 0 of each shape becomes N."""
    layer = layer_of(layer)
    graph = Graph(f"{layer.type.lower()}-case")
    graph.add_node(layer.type, NODE, dict(params or {}))
    for port, (shape, dtype) in port_inputs(inputs).items():
        role = "target" if layer.is_loss and port == "target" else "data"
        graph.add_node("Input", port, {"shape": list(shape[1:] if batch else shape), "dtype": dtype,
                                       "batch": batch, "role": role})
        graph.connect(port, "y", NODE, port)
        for dim in shape[1:] if batch else shape:
            if isinstance(dim, str) and _SYMBOL.fullmatch(dim) and dim != "N":
                graph.symbols.setdefault(dim, SYMBOL_SIZE)
    validated, _ = layer.validate_params(dict(params or {}))
    for port in layer.output_ports(validated):
        graph.add_node("Output", f"out_{port.name}")
        graph.connect(NODE, port.name, f"out_{port.name}", "x")
    return graph


def infer(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None,
          batch: bool = True) -> NodeShapes:
    """The product's shape inference of the layer node; the case must be valid."""
    shapes = ShapeInference(layer_graph(layer, inputs, params, batch)).run()
    assert shapes.ok, [d.message for d in shapes.errors]
    return shapes.results[NODE]


def error_of(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None,
             batch: bool = True) -> Diagnostic:
    """The one error the product reports for an invalid case."""
    shapes = ShapeInference(layer_graph(layer, inputs, params, batch)).run()
    assert not shapes.ok, "the case was expected to be refused"
    (diag,) = shapes.errors
    return diag


def generated(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None,
              batch: bool = True) -> GeneratedCode:
    return generate_pytorch(layer_graph(layer, inputs, params, batch))


def _node_texts(code: GeneratedCode) -> list[str]:
    lines = code.source.split("\n")
    return ["\n".join(line.strip() for line in lines[start - 1:end]) for start, end in code.node_lines[NODE]]


def constructor(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None) -> str:
    """The generated constructor of the layer, e.g. ``nn.MaxPool2d(2)``."""
    texts = _node_texts(generated(layer, inputs, params))
    assert texts[0].startswith(f"self.{NODE} = "), texts
    return texts[0].removeprefix(f"self.{NODE} = ")


def statement(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None,
              batch: bool = True) -> str:
    """The generated forward statement of the layer (without its shape comment)."""
    texts = _node_texts(generated(layer, inputs, params, batch))
    return _SHAPE_COMMENT.sub("", texts[-1])


def generated_model(code: GeneratedCode) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code.source, "<generated>", "exec"), namespace)
    return namespace["build_model"]().eval()


def outputs_of(model: Any, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model(*tensors)
    return list(out) if isinstance(out, tuple) else [out]


def run_generated(layer: LayerDef | str, tensors: Mapping[str, torch.Tensor],
                  params: Mapping[str, Any] | None = None, shapes: Inputs | None = None) -> list[torch.Tensor]:
    """Outputs of the generated model fed ``tensors`` (port → tensor); ``shapes`` may declare symbolic dims."""
    declared = shapes if shapes is not None else {
        port: (tuple(t.shape), str(t.dtype).removeprefix("torch.")) for port, t in tensors.items()}
    model = generated_model(generated(layer, declared, params))
    return outputs_of(model, list(tensors.values()))


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


def concrete_shape(spec: TensorSpec, batch: int | Mapping[str, int]) -> tuple[int, ...]:
    bindings = {"N": batch} if isinstance(batch, int) else dict(batch)
    return tuple(resolve_dim(d, bindings) for d in spec.shape)


def direct_module(layer: LayerDef, params: Params, specs: Mapping[str, TensorSpec]) -> Any:
    """The torch module built with every argument the entry names, none omitted (the reference)."""
    call = layer.torch
    assert call is not None and call.module is not None
    namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    for helper in call.helpers:
        exec(helper, namespace)
    return eval(call.module, namespace)(**(call.init(params, specs) if call.init else {}))


def loss_setup(layer: LayerDef | str, inputs: Inputs, params: Mapping[str, Any] | None = None) -> Any:
    """The loss module exactly as the product's training setup builds it from a graph."""
    from neuralforge_desktop.core.training.setup import build_setup

    graph = layer_graph(layer, inputs, params)
    graph.add_node("Output", "prediction")
    graph.connect("input", "y", "prediction", "x")
    return build_setup(graph, SimpleNamespace(task="classification")).loss_fn


@dataclass
class LayerRun:
    """What :func:`run_layer_test` found, for tests that go on to check more (costs, values)."""

    layer: LayerDef
    example: Example
    graph: Graph
    result: NodeShapes
    params: Params
    tensors: dict[str, torch.Tensor]
    batch: int
    outputs: list[torch.Tensor]
    model: Any  # the built model, or the loss module for losses
    source: str  # generated source ("" for losses, which the model leaves out)

    def in_shapes(self) -> dict[str, tuple[int, ...]]:
        return {port: concrete_shape(spec, self.batch) for port, spec in self.result.inputs.items()}

    def out_shapes(self) -> dict[str, tuple[int, ...]]:
        return {port: concrete_shape(spec, self.batch) for port, spec in self.result.outputs.items()}


def _batch_of(tensors: Mapping[str, torch.Tensor]) -> int:
    first = next(iter(tensors.values()))
    return first.shape[0] if first.dim() else 1


def run_layer_test(layer: LayerDef, example: Example) -> LayerRun:
    """Keras' ``run_layer_test`` for one catalog example, through the product end to end:

    shape inference accepts it; the builder's model and the generated source's model have the same
    state and give the same outputs, in train and eval mode, with the inferred shapes and dtypes, also on
    the meta device; each generated constructor builds the same module as calling torch with every argument
    (so an omitted default really is torch's default); parameter and buffer counts equal torch's; the cost
    rules give non-negative integers.
    """
    graph = layer_graph(layer, example.inputs, example.params)
    shapes = ShapeInference(graph).run()
    assert shapes.ok, [d.message for d in shapes.errors]
    result = shapes.results[NODE]
    assert result.params is not None
    tensors = example_tensors(example)
    batch = _batch_of(tensors)
    expected = [concrete_shape(spec, batch) for spec in result.outputs.values()]
    if layer.is_loss:
        model = loss_setup(layer, example.inputs, example.params)
        assert repr(model) == repr(direct_module(layer, result.params, result.inputs))
        outputs = outputs_of(model, [tensors["input"], tensors["target"]])
        source = ""
    else:
        model = build_model(graph, shapes).eval()
        code = generate_pytorch(graph, shapes)
        source = code.source
        from_source = generated_model(code)
        assert list(model.state_dict()) == list(from_source.state_dict())
        from_source.load_state_dict(model.state_dict())
        if layer.torch is not None and layer.torch.module is not None:
            reference = direct_module(layer, result.params, result.inputs)
            assert repr(getattr(from_source, NODE)) == repr(reference), source
        for mode in ("train", "eval"):
            for m in (model, from_source):
                getattr(m, mode)()
            torch.manual_seed(0)
            outputs = outputs_of(model, list(tensors.values()))
            torch.manual_seed(0)
            again = outputs_of(from_source, list(tensors.values()))
            assert [tuple(t.shape) for t in outputs] == expected, (mode, source)
            for a, b in zip(outputs, again, strict=True):
                torch.testing.assert_close(a, b)
        with torch.device("meta"):
            meta_model = build_model(graph, shapes).eval()
        meta_out = outputs_of(meta_model, [t.to("meta") for t in tensors.values()])
        assert [tuple(t.shape) for t in meta_out] == expected, "meta-device shapes differ"
        model.eval()
        outputs = outputs_of(model, list(tensors.values()))
    assert [tuple(t.shape) for t in outputs] == expected
    assert [str(t.dtype).removeprefix("torch.") for t in outputs] == \
        [spec.dtype.value for spec in result.outputs.values()]
    assert layer.param_count(result.params, result.inputs) == sum(p.numel() for p in model.parameters())
    assert layer.buffer_count(result.params, result.inputs) == sum(b.numel() for b in model.buffers())
    run = LayerRun(layer, example, graph, result, result.params, tensors, batch, outputs, model, source)
    for rule in (layer.macs, layer.flops_extra):
        if rule is not None:
            cost = rule(result.params, run.in_shapes(), run.out_shapes())
            assert isinstance(cost, int) and cost >= 0, (rule, cost)
    return run
