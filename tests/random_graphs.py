"""Random valid graphs over the whole catalog, checked against torch: the conformance suite's generator.

A graph grows from one or two inputs (vectors, sequences, images, 1-D signals, volumes, token ids) by
proposing layers: a layer type from the catalog, inputs from the tensors made so far (the newest most often,
so chains form, but any, so the graph branches and merges), and params drawn from each parameter's schema
with sizes that fit the chosen inputs most of the time and not always. Every proposal is judged twice: by the
core's shape inference, and by torch running the layer's own ``TorchCall`` on real tensors. The two must
agree; a proposal both accept joins the graph (its torch outputs become tensors later layers may read), one
both refuse is dropped. Some graphs end in a loss on a target input, some wrap layers in a repeated block.

:func:`torch_agreement.check_graph` then compares the finished graph with torch (model, shapes, counts, MACs,
memory). Some refusals are the core's on purpose (:data:`DELIBERATE_REFUSALS`, each with its reason).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, ParamSpec
from neuralforge_desktop.core.codegen.plan import render
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.types import DType, TensorSpec, resolve_dim

BATCH = 2  # the batch the graphs run at (N stays symbolic in the graph)
STEPS = 12  # the value of the sequence length T in graphs that name it
# Every proposal runs in torch at two bindings: a size that only happens to fit at one of them is no fit.
BINDINGS = ({"N": BATCH, "T": STEPS}, {"N": 3, "T": 6})
STRUCTURAL = {"Input", "Output", "Block"}
# Refusals the core makes on purpose where torch would run the layer: each names what the core says and why.
DELIBERATE_REFUSALS = {
    "expected a fixed": "a weight or a normalised shape sized by a symbolic dimension (the batch N): weights "
                        "are sized when the model is built, and the batch size changes",
    "expected size 1 at dim": "a Squeeze of a dimension whose size is not 1: torch returns the tensor unchanged, "
                              "so the node would do nothing; the core says so instead",
    "expected a non-empty slice": "a Slice that keeps nothing: the core refuses empty tensors",
    "expected a positive output size": "a transposed convolution whose output is empty: the core refuses empty "
                                       "tensors",
    "divisible by num_outputs": "a Split into pieces that are not equal: torch.chunk would make unequal ones (or "
                                "fewer than asked)",
    "at most max_len": "a sequence longer than the positional table: torch would broadcast the rows it has",
    "other than the batch N to": "a Select or Slice along the batch: which samples it keeps (if any) changes with "
                                 "the batch size",
    "follows the batch size N": "a window (convolution, pooling) over a size that follows the batch: the batch "
                                "may be 1, too small for the window",
    "an integer or boolean mask": "a float attention mask: torch reads a float padding mask as values added to "
                                  "the scores, not as 1 = token, 0 = padding, so the core asks for ints or bools",
    "within rank 0": "a dimension of a scalar: the core gives a scalar no dimensions (torch lets dim 0 and -1 "
                     "name it)",
}


def layer_types() -> list[LayerDef]:
    return [layer for layer in catalog() if layer.type not in STRUCTURAL and not layer.is_loss]


def loss_types() -> list[LayerDef]:
    return [layer for layer in catalog() if layer.is_loss]


@dataclass
class Tensor:
    """A tensor of the growing graph: where it comes from, its spec, and its values in torch (one per binding
    of :data:`BINDINGS`)."""

    node: str
    port: str
    spec: TensorSpec
    values: list[torch.Tensor]
    high: int = 1  # integer tensors: the largest value the model's example inputs can make here


@dataclass
class Built:
    """A generated graph, with what was checked while it grew."""

    seed: int
    graph: Graph
    symbolic: bool
    proposals: int = 0
    accepted: int = 0
    problems: list[str] = field(default_factory=list)
    deliberate: list[str] = field(default_factory=list)  # refusals of DELIBERATE_REFUSALS, where torch runs
    types: set[str] = field(default_factory=set)
    loss: str | None = None  # id of the loss node, when the graph ends in one


# -- running one layer in torch the way the product does ---------------------------------------------
def torch_call(layer: LayerDef, params: Mapping[str, Any], specs: Mapping[str, TensorSpec],
               tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Build the layer's module from its ``TorchCall`` and run its forward statement on ``tensors`` (port →
    tensor); returns port → output. Raises whatever torch raises."""
    call = layer.torch
    assert call is not None
    namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math}
    for helper in call.helpers:
        exec(helper, namespace)
    names: dict[str, Any] = {}
    local: dict[str, Any] = {}
    ports = layer.input_ports(params)
    for port in ports:
        if port.name in tensors:
            names[port.name] = f"in_{port.name}"
            local[f"in_{port.name}"] = tensors[port.name]
    for port in ports:
        if port.name not in names:
            names[port.name] = names.get(port.fallback, "None") if port.fallback else "None"
    outs = layer.output_ports(params)
    for port in outs:
        names[port.name] = f"out_{port.name}"
    for group, expanded in ((layer.inputs, ports), (layer.outputs, outs)):
        for port in group:
            if port.variadic:
                names[port.name] = [names[p.name] for p in expanded
                                    if p.name.startswith(port.name) and p.name[len(port.name):].isdigit()]
    if call.module is not None:
        local["module"] = eval(call.module, namespace)(**(call.init(params, specs) if call.init else {}))
        names["self"] = "module"
    unwired = {port.name for port in ports if port.name not in tensors}  # optional inputs left unfed
    statement = render(call.forward_template(params), names, params, unwired)
    exec(statement, namespace, local)
    return {port.name: local[f"out_{port.name}"] for port in outs}


# -- params -------------------------------------------------------------------------------------------
_SIZES = {"out_features", "out_channels", "hidden_size", "embedding_dim", "dim_feedforward"}


def _draw_param(rng: random.Random, spec: ParamSpec, layer: LayerDef, first: TensorSpec | None) -> Any:
    """A value for one parameter: from its schema, sized to fit ``first`` (the first input) most of the time."""
    rank = max(first.rank, 1) if first is not None else 2
    shape = first.shape if first is not None and first.shape else ("N", 4)
    if spec.optional and rng.random() < 0.25:
        return None
    name, kind = spec.name, spec.kind
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "choice":
        return rng.choice(spec.choices)
    if kind == "float":
        if name in ("p", "dropout"):
            return rng.choice([0.0, 0.0, 0.1, 0.5, 1.0])
        if name == "scale_factor":
            return rng.choice([0.5, 1.0, 1.5, 2.0, 3.0])
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum if spec.maximum is not None else low + 2.0
        return round(rng.uniform(low, min(high, low + 2.0)), 3) if rng.random() < 0.3 else spec.default
    if kind in ("int_or_tuple", "ints", "dims"):
        return _draw_sequence(rng, spec, layer, shape, rank)
    if kind == "int":
        return _draw_int(rng, spec, layer, shape, rank)
    return spec.default


def _draw_int(rng: random.Random, spec: ParamSpec, layer: LayerDef, shape: tuple[Any, ...], rank: int) -> int:
    name = spec.name
    channels = shape[1] if rank > 1 and isinstance(shape[1], int) else 4
    last = shape[-1] if shape and isinstance(shape[-1], int) else 4
    if name in _SIZES:
        return rng.randint(1, 12)
    if name in ("num_heads", "nhead"):
        return rng.choice([d for d in (1, 2, 3, 4) if last % d == 0] if rng.random() < 0.9 else [3, 5])
    if name == "groups":
        return rng.choice([1, 1, 2, channels])
    if name == "num_groups":
        return rng.choice([d for d in range(1, channels + 1) if channels % d == 0] + [3])
    if name in ("dim", "dim0", "dim1", "start_dim", "end_dim"):
        return rng.randint(-rank, rank - 1)
    if name in ("num_inputs", "num_outputs"):
        return rng.choice([2, 2, 3])
    if name == "num_layers":
        return rng.choice([1, 1, 2, 3])
    if name == "num_embeddings":
        return rng.randint(2, 12)
    if name == "max_len":
        return rng.randint(1, 12)
    if name == "num_dims":
        return rng.randint(1, min(3, rank))
    if name == "reduction":
        return rng.randint(1, 8)
    if name in ("start", "index"):
        return rng.randint(-3, 3)
    if name == "end":
        return rng.randint(-3, 6)
    if name == "step":
        return rng.randint(1, 3)
    if name == "padding_idx":
        return rng.randint(-2, 2)
    if name == "ignore_index":
        return rng.choice([-100, 0, 1])
    low = int(spec.minimum) if spec.minimum is not None else 0
    high = int(spec.maximum) if spec.maximum is not None else low + 4
    return rng.randint(low, min(high, low + 4))


def _draw_sequence(rng: random.Random, spec: ParamSpec, layer: LayerDef, shape: tuple[Any, ...],
                   rank: int) -> Any:
    name = spec.name
    if spec.kind == "ints" and name == "dims":  # Permute: an order of all dimensions
        order = list(range(rank))
        rng.shuffle(order)
        return order if rng.random() < 0.9 else order[:-1]
    if spec.kind == "ints" and name == "dim":  # Mean: some distinct dimensions
        return rng.sample(range(-rank, rank), k=min(rank, rng.randint(1, 2)))
    if spec.kind == "dims":  # Reshape: the per-sample sizes regrouped
        return _reshape_target(rng, shape)
    length = spec.length or 1
    ranges = {"kernel_size": (1, 4), "stride": (1, 3), "padding": (0, 2), "dilation": (1, 2),
              "output_padding": (0, 2), "output_size": (1, 4)}
    low, high = ranges.get(name, (1, 3))
    if rng.random() < 0.6:
        return rng.randint(low, high)
    return [rng.randint(low, high) for _ in range(length)]


def _reshape_target(rng: random.Random, shape: tuple[Any, ...]) -> list[Any]:
    sizes = [d for d in shape[1:]]
    fixed = [d for d in sizes if isinstance(d, int)]
    symbols = [d for d in sizes if isinstance(d, str) and d.isidentifier()]
    total = math.prod(fixed) if fixed else 1
    factors = [f for f in range(1, total + 1) if total % f == 0]
    first = rng.choice(factors)
    target: list[Any] = [first, -1] if rng.random() < 0.5 else [first, total // first]
    if symbols:
        target = symbols[:1] + target[:1] + [-1] if rng.random() < 0.7 else target
    rng.shuffle(target)
    return target if rng.random() < 0.9 else [5, 7]


# -- growing a graph ------------------------------------------------------------------------------------
_INPUT_KINDS = ("vector", "sequence", "image", "signal", "volume", "tokens")


def _input_shape(rng: random.Random, kind: str, symbolic: bool) -> tuple[list[Any], str]:
    steps: Any = "T" if symbolic else rng.randint(1, 7)
    if kind == "vector":
        return [rng.randint(2, 16)], "float32"
    if kind == "sequence":
        return [steps, rng.choice([4, 6, 8, 12, 16])], "float32"
    if kind == "image":
        return [rng.choice([1, 2, 3, 4, 6, 8]), rng.randint(1, 12), rng.randint(1, 12)], "float32"
    if kind == "signal":
        return [rng.choice([1, 2, 3, 4, 8]), rng.randint(1, 16)], "float32"
    if kind == "volume":
        return [rng.choice([1, 2, 4]), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)], "float32"
    return [steps], "int64"


def _values(spec: TensorSpec, rng: random.Random) -> list[torch.Tensor]:
    return [_value(spec, bindings, rng) for bindings in BINDINGS]


def _value(spec: TensorSpec, bindings: Mapping[str, int], rng: random.Random, high: int = 2) -> torch.Tensor:
    dims = [resolve_dim(d, bindings) for d in spec.shape]
    generator = torch.Generator().manual_seed(rng.randint(0, 2**31))
    if spec.dtype.is_float:
        return torch.randn(*dims, generator=generator)
    return torch.randint(0, high, dims, generator=generator, dtype=getattr(torch, spec.dtype.value))


class _Grower:
    def __init__(self, seed: int, symbolic: bool) -> None:
        self.rng = random.Random(seed)
        self.built = Built(seed, Graph(f"random-{seed}"), symbolic)
        self.graph = self.built.graph
        if symbolic:
            self.graph.symbols["T"] = STEPS
        self.pool: list[Tensor] = []
        self.shapes = ShapeInference(self.graph)
        self.count = 0

    def add_input(self, kind: str, role: str = "data", shape: list[Any] | None = None,
                  dtype: str | None = None) -> Tensor:
        drawn, drawn_dtype = _input_shape(self.rng, kind, self.built.symbolic)
        node_id = f"in{self.count}" if role == "data" else "target"
        self.count += 1
        self.graph.add_node("Input", node_id, {"shape": shape if shape is not None else drawn,
                                               "dtype": dtype or drawn_dtype, "role": role})
        self.shapes.update([node_id])
        spec = self.shapes.spec(node_id)
        assert spec is not None
        tensor = Tensor(node_id, "y", spec, _values(spec, self.rng))
        if role == "data":
            self.pool.append(tensor)
        return tensor

    def _pick(self, port_ranks: tuple[int, ...] | None, dtype: str) -> Tensor | None:
        fits = [t for t in self.pool if (port_ranks is None or t.spec.rank in port_ranks)
                and (dtype == "any" or (dtype == "float") == t.spec.dtype.is_float)]
        if not fits:
            return None
        if self.rng.random() < 0.6:
            return fits[-1]
        return self.rng.choice(fits)

    def _inputs(self, layer: LayerDef, params: dict[str, Any]) -> dict[str, Tensor] | None:
        validated, _ = layer.validate_params(params)
        chosen: dict[str, Tensor] = {}
        for port in layer.input_ports(validated):
            if port.optional and self.rng.random() < 0.5:
                continue
            tensor = self._pick(port.ranks, port.dtype)
            if port.name[:1] == "x" and port.name[1:].isdigit() and chosen and self.rng.random() < 0.7:
                same = [t for t in self.pool if t.spec.shape == chosen["x0"].spec.shape
                        and t.spec.dtype == chosen["x0"].spec.dtype]
                tensor = self.rng.choice(same) if same else tensor
            if port.name == "b" and "a" in chosen and self.rng.random() < 0.7:
                inner = chosen["a"].spec.shape[-1]
                fits = [t for t in self.pool if t.spec.rank >= 2 and t.spec.shape[-2] == inner
                        and t.spec.dtype.is_float]
                tensor = self.rng.choice(fits) if fits else tensor
            if tensor is None:
                if port.optional:
                    continue
                return None
            chosen[port.name] = tensor
        return chosen

    def propose(self, layer: LayerDef) -> None:
        """Draw params and inputs for ``layer``, judge it in the core and in torch, keep it if both accept."""
        first_port = layer.input_ports(layer.validate_params({})[0])
        first = self._pick(first_port[0].ranks, first_port[0].dtype) if first_port else None
        params = {spec.name: _draw_param(self.rng, spec, layer, first.spec if first else None)
                  for spec in layer.params if self.rng.random() < 0.8}
        validated, errors = layer.validate_params(params)
        if errors:
            return
        inputs = self._inputs(layer, params)
        if inputs is None:
            return
        if first is not None and first_port and first_port[0].name in inputs and self.rng.random() < 0.8:
            inputs[first_port[0].name] = first
        if "max_len" in params and "x" in inputs and inputs["x"].spec.rank == 3 and not isinstance(
                inputs["x"].spec.shape[1], int):  # a named length is assumed to fit the table (see its help)
            params["max_len"] = max(params["max_len"] or 1, *(v.shape[1] for v in inputs["x"].values))
            validated, _ = layer.validate_params(params)
        if "num_embeddings" in params:  # ids must index the table (a matter of data, not of shapes)
            ids = inputs.get("x")
            if ids is not None and not ids.spec.dtype.is_float:
                params["num_embeddings"] = max(params["num_embeddings"], ids.high + 1)
                validated, _ = layer.validate_params(params)
        node_id = f"n{self.count}"
        self.count += 1
        self.graph.add_node(layer.type, node_id, params)
        for port, tensor in inputs.items():
            self.graph.connect(tensor.node, tensor.port, node_id, port)
        self.shapes.update([node_id])
        result = self.shapes.results[node_id]
        core_ok = result.ok
        self.built.proposals += 1
        outs: list[dict[str, torch.Tensor]] = []
        torch_ok, torch_error = True, ""
        for i in range(len(BINDINGS)):
            try:
                concrete = {port: TensorSpec(tuple(t.values[i].shape), t.spec.dtype) for port, t in inputs.items()}
                torch.manual_seed(self.rng.randint(0, 2**31))
                outs.append(torch_call(layer, validated, concrete, {p: t.values[i] for p, t in inputs.items()}))
            except Exception as exc:  # torch refuses: the core must have refused too
                torch_ok, torch_error = False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                break
        where = f"seed {self.built.seed}: {layer.type} {dict(params)} on " + ", ".join(
            f"{p}={t.spec}" + ("" if t.spec.dtype == DType.float32 else f" {t.spec.dtype.value}")
            for p, t in inputs.items())
        if core_ok and not torch_ok:
            self.built.problems.append(f"accepted but torch refuses: {where}: {torch_error}")
        elif torch_ok and not core_ok and not self.built.symbolic:
            message = "; ".join(d.message for d in result.diagnostics if d.is_error)
            if any(key in message for key in DELIBERATE_REFUSALS):
                self.built.deliberate.append(f"{where}: {message}")
            else:
                self.built.problems.append(f"refused but torch runs it: {where}: {message}")
        if not (core_ok and torch_ok):
            self.graph.remove_node(node_id)
            self.shapes.update([])
            return
        self.built.accepted += 1
        self.built.types.add(layer.type)
        for port, spec in result.outputs.items():
            for bindings, out in zip(BINDINGS, outs, strict=True):
                expected = tuple(resolve_dim(d, bindings) for d in spec.shape)
                got = tuple(out[port].shape)
                if expected != got or spec.dtype.value != str(out[port].dtype).removeprefix("torch."):
                    self.built.problems.append(f"output {port} shape: core {expected} {spec.dtype.value}, torch "
                                               f"{got} {out[port].dtype}: {where}")
            highs = [t.high for t in inputs.values()]
            high = sum(highs) if layer.type == "Add" else math.prod(highs) if layer.type == "Multiply" else max(
                highs, default=1)  # what integer arithmetic can make of ids in [0, 1]
            self.pool.append(Tensor(node_id, port, spec, [out[port].detach() for out in outs], high))

    def add_block(self) -> None:
        """A repeated block around a shape-keeping body (Linear or Conv, a norm, an activation)."""
        source = self._pick((2, 4), "float")
        if source is None or not all(isinstance(d, int) for d in source.spec.shape[1:]):
            return
        body = Graph("body")
        shape = list(source.spec.shape[1:])
        body.add_node("Input", "x", {"shape": shape})
        if source.spec.rank == 2:
            layers = [("Linear", {"out_features": shape[-1]}), ("LayerNorm", {}), ("ReLU", {})]
        else:
            layers = [("Conv2d", {"out_channels": shape[0], "kernel_size": 3, "padding": 1}),
                      ("BatchNorm2d", {}), ("ReLU", {})]
        if self.rng.random() < 0.5:
            layers.append(("Dropout", {"p": 0.5}))
        previous = "x"
        for i, (type_name, params) in enumerate(layers[: self.rng.randint(1, len(layers))]):
            body.add_node(type_name, f"b{i}", params)
            body.connect(previous, "y", f"b{i}", "x")
            previous = f"b{i}"
        body.add_node("Output", "y")
        body.connect(previous, "y", "y", "x")
        node_id = f"blk{self.count}"
        self.count += 1
        self.graph.add_node("Block", node_id, {"repeat": self.rng.randint(1, 4)}, body=body)
        self.graph.connect(source.node, source.port, node_id, "x")
        self.shapes.update([node_id])
        if not self.shapes.results[node_id].ok:
            self.built.problems.append(f"seed {self.built.seed}: a shape-keeping block was refused: "
                                       + "; ".join(d.message for d in self.shapes.errors))
            self.graph.remove_node(node_id)
            self.shapes.update([])
            return
        spec = self.shapes.spec(node_id, "y")
        assert spec is not None
        self.built.types.add("Block")
        model = build_model(self._subgraph(node_id, source), None)
        self.pool.append(Tensor(node_id, "y", spec, [model(value).detach() for value in source.values]))

    def _subgraph(self, node_id: str, source: Tensor) -> Graph:
        graph = Graph("one-block")
        graph.add_node("Input", "x", {"shape": list(source.spec.shape[1:])})
        node = self.graph.nodes[node_id]
        graph.add_node("Block", node_id, dict(node.params), body=node.body)
        graph.connect("x", "y", node_id, "x")
        graph.add_node("Output", "y")
        graph.connect(node_id, "y", "y", "x")
        return graph

    def add_loss(self) -> None:
        """A loss on the newest float tensor, with a target input shaped for it."""
        prediction = self._pick(None, "float")
        if prediction is None or prediction.node.startswith("in"):
            return
        layer = self.rng.choice(loss_types())
        shape = prediction.spec.shape
        if not shape or shape[0] != "N":
            return  # a target Input has the batch first
        if layer.type in ("CrossEntropyLoss", "NLLLoss"):
            if prediction.spec.rank < 2:
                return
            if layer.type == "CrossEntropyLoss" and self.rng.random() < 0.3:
                target_shape, dtype = list(shape[1:]), "float32"
            else:
                target_shape, dtype = list(shape[2:]), "int64"
        else:
            target_shape, dtype = list(shape[1:]), "float32"
        if any(not isinstance(d, int) and (d == "N" or not d.isidentifier()) for d in target_shape):
            return  # a target Input declares plain sizes after its batch
        target = self.add_input("vector", role="target", shape=target_shape, dtype=dtype)
        params = {spec.name: _draw_param(self.rng, spec, layer, prediction.spec) for spec in layer.params}
        params = {k: v for k, v in params.items() if v is not None}
        if "ignore_index" in params:
            params["ignore_index"] = -100
        node_id = f"loss{self.count}"
        self.count += 1
        self.graph.add_node(layer.type, node_id, params)
        self.graph.connect(prediction.node, prediction.port, node_id, "input")
        self.graph.connect(target.node, "y", node_id, "target")
        self.shapes.update([node_id])
        if not self.shapes.results[node_id].ok:
            self.graph.remove_node(node_id)
            self.graph.remove_node(target.node)
            self.shapes.update([])
            return
        self.built.loss = node_id
        self.built.types.add(layer.type)
        self.graph.add_node("Output", "prediction")  # training reads the loss's input from a model output
        self.graph.connect(prediction.node, prediction.port, "prediction", "x")

    def finish(self) -> None:
        """An Output on every tensor nothing reads (so every layer is part of the model)."""
        read = {(e.src, e.src_port) for e in self.graph.edges}
        for tensor in self.pool:
            if (tensor.node, tensor.port) not in read and not tensor.node.startswith("in"):
                out_id = f"out{self.count}"
                self.count += 1
                self.graph.add_node("Output", out_id)
                self.graph.connect(tensor.node, tensor.port, out_id, "x")


def random_graph(seed: int, steps: int = 8) -> Built:
    """A random valid graph (see the module docstring). Each seed favours one layer type (seed modulo the
    number of types), so any run of as many seeds as there are types proposes every type often."""
    rng = random.Random(seed)
    symbolic = rng.random() < 0.2
    grower = _Grower(seed, symbolic)
    kinds = list(_INPUT_KINDS)
    for _ in range(rng.choice([1, 1, 2])):
        grower.add_input(rng.choice(kinds))
    candidates = layer_types()
    favoured = (candidates + [None])[seed % (len(candidates) + 1)]  # None: a loss
    for _ in range(steps * 4):
        if grower.built.accepted >= steps:
            break
        if rng.random() < 0.05:
            grower.add_block()
        elif favoured is not None and rng.random() < 0.4:
            grower.propose(favoured)
        else:
            grower.propose(rng.choice(candidates))
    if favoured is None or rng.random() < 0.3:
        grower.add_loss()
    grower.finish()
    return grower.built
