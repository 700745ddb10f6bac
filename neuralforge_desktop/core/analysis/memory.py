"""Activation memory, two figures: what a training step keeps for the backward pass, and the most activation
memory inference holds at once.

**Saved for backward** (training, at the batch size): every tensor PyTorch's autograd keeps until the backward
pass, as each layer declares it in its catalog entry (``LayerDef.saves``, see
:mod:`neuralforge_desktop.core.catalog.memory_spec`): ReLU its output, a convolution its input, attention its
probabilities, dropout its mask, LayerNorm its input and statistics, a view nothing. A tensor kept by two
layers (a ReLU's output that the next convolution keeps as its input) is counted once; a view keeps its whole
base tensor. Parameters are not activations (they are in the weights). Layers on tensors that carry no
gradient and hold no trained parameters record nothing, as in torch: a ReLU on the raw input keeps nothing.

**Peak inference activations**: the graph runs in topological order; a layer's outputs are allocated when it
runs and freed after their last reader (graph outputs live to the end); views and layers that pass their input
through at inference (dropout, identity) allocate nothing; a layer's declared temporaries (``scratch``) count
while it runs. The peak is the largest sum of live tensors over the steps. Graph inputs count throughout
(the caller holds them), and a block's input until the block (each copy's, until that copy) returns. The
product's model frees a value after its last reader the same way.

Blocks are walked copy by copy: three copies at most (fewer inside other blocks at inference), every later
copy repeating the last walked copy's figures; in training each distinct copy is worked out once and replayed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference
from neuralforge_desktop.core.catalog.memory_spec import (
    CONTIGUOUS,
    NEW,
    Autograd,
    Layout,
    Placement,
    Saved,
    itemsize,
    no_scratch,
)
from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.catalog.spec import LayerDef, Params, Trait
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph, Node
from neuralforge_desktop.core.ir.types import DType, TensorSpec, resolve_dim

# Copies of a repeated block walked one by one; later copies repeat the last walked copy's figures. Three reach
# the steady state (the first copy may read a tensor kept elsewhere, the second one a copy's output). In
# training a copy's effect is remembered by what it depends on, so nested blocks cost no more than one walk of
# each distinct copy; the inference walk, which must see every step, walks fewer copies inside other blocks.
_TRAINING_COPIES = 3
_INFERENCE_COPIES = (3, 2)

# The memory figures of a cost report, as its conventions state them (cost.CONVENTIONS includes these).
MEMORY_CONVENTIONS: dict[str, str] = {
    "weight_bytes": "the weights and buffers as fp32 master copies: (params + buffers) × 4 bytes",
    "gradient_bytes": "one fp32 gradient per trainable parameter",
    "optimizer_bytes": "optimizer state per trainable parameter: Adam/AdamW 2 fp32 moments, SGD with momentum 1, "
    "plain SGD 0",
    "saved_activation_bytes": "activations one training step keeps for the backward pass, at the batch size, "
    "loss included: what each layer's catalog entry declares autograd keeps (ReLU its output, a convolution or "
    "linear layer its input, attention with dropout its probabilities, their mask and the dropped "
    "probabilities (without dropout only q, k, v, its output and a log-sum-exp), dropout its mask, LayerNorm "
    "its input and statistics, a view nothing), each tensor counted once however many layers keep it, a view "
    "counting its whole base tensor; a layer that reads no tensor carrying a gradient and trains no parameter "
    "keeps nothing (a ReLU on the raw input); as PyTorch's CPU kernels keep them (fused GPU kernels such as "
    "flash attention, cuDNN RNNs and 1-byte dropout masks keep less); a size the kernel library picks (an LSTM "
    "workspace) is estimated, and that part is saved_activation_inexact_bytes",
    "peak_inference_activation_bytes": "the most activation memory alive at once in one inference pass at the "
    "batch size: each layer's outputs are allocated when it runs and freed after their last reader (graph "
    "outputs are kept), views and layers that pass their input through at inference (dropout, identity) add "
    "nothing, a layer's temporaries count while it runs, the graph inputs count throughout (the caller holds "
    "them)",
    "activation_bytes": "every node's output tensors added up at the batch size, as if nothing were freed or "
    "shared (Output nodes and block-body inputs alias counted tensors and add nothing): a size of all the "
    "intermediate results, not a memory figure (see saved_activation_bytes, peak_inference_activation_bytes)",
    "training_memory_bytes": "weight_bytes + gradient_bytes + optimizer_bytes + saved_activation_bytes; excludes "
    "framework/CUDA context, kernel workspaces, allocator fragmentation, the gradients alive during the "
    "backward pass and mixed-precision copies",
}


@dataclass
class MemoryReport:
    """The two activation figures of one graph at one batch size (bytes), with what could not be counted."""

    saved_bytes: int = 0
    inexact_saved_bytes: int = 0  # part of saved_bytes whose size the kernel library chooses (RNN workspaces)
    peak_inference_bytes: int = 0
    node_saved: dict[str, int] = field(default_factory=dict)  # path → bytes that node keeps first, × copies
    notes: dict[str, str] = field(default_factory=dict)  # path → why its memory is assumed or unknown
    uncounted: list[str] = field(default_factory=list)  # "path (Type)" of nodes left out


@dataclass(slots=True, eq=False)
class _Storage:
    """One block of memory; views share it. ``kept``: saved for backward (training walk). ``born``/``last``:
    the step that made it and the last step that reads it (inference walk); ``pinned``: a graph output."""

    nbytes: int
    kept: bool = False
    born: int = -1
    last: int = -1
    pinned: bool = False


@dataclass(slots=True, frozen=True)
class _Value:
    storage: _Storage
    shape: tuple[int, ...]
    dtype: DType
    layout: Layout
    grad: bool


@dataclass(slots=True)
class _CopyEffect:
    """What walking one copy of a block body did, to replay it: bytes kept (in all and per node), the inputs it
    keeps, and its outputs, each an input's memory (index ≥ 0) or memory it made (``-1 - index`` into
    ``made``: size and kept flag)."""

    saved: int
    inexact: int
    node_saved: dict[str, int]
    kept_inputs: list[int]
    made: dict[int, tuple[int, bool]]
    outputs: dict[str, tuple[int, tuple[int, ...], DType, Layout, bool]] = field(default_factory=dict)


class _Walk:
    def __init__(self, train: bool, bindings: Mapping[str, int], max_elements: int, report: MemoryReport,
                 sizes: dict[TensorSpec, tuple[int, ...]]) -> None:
        self.train = train
        self.bindings = bindings
        self.sizes = sizes  # spec → its shape under the bindings (shared by both walks)
        self.max_elements = max_elements
        self.report = report
        self.step = 0
        self.copies: dict[tuple[object, ...], tuple[ShapeInference, _CopyEffect]] = {}  # see _training_copy
        self.scratch: dict[int, int] = {}
        self.storages: list[_Storage] = []

    # -- sizes -----------------------------------------------------------------------------------------
    def _shape(self, spec: TensorSpec) -> tuple[int, ...]:
        shape = self.sizes.get(spec)
        if shape is None:
            shape = tuple(resolve_dim(d, self.bindings) for d in spec.shape)
            if math.prod(shape) > self.max_elements:
                raise ValueError(f"a tensor of {math.prod(shape):,} elements is over the limit")
            self.sizes[spec] = shape
        return shape

    def _new(self, shape: tuple[int, ...], dtype: DType, layout: Layout, grad: bool) -> _Value:
        storage = _Storage(math.prod(shape) * dtype.itemsize, born=self.step)
        self.storages.append(storage)
        return _Value(storage, shape, dtype, layout, grad)

    def _skip(self, path: str, node: Node, why: str) -> None:
        self.report.notes[path] = why
        self.report.uncounted.append(f"{path} ({node.type})")

    # -- graphs ----------------------------------------------------------------------------------------
    def graph(self, graph: Graph, inference: ShapeInference, prefix: str, frozen: bool,
              given: Mapping[str, _Value] | None, blocks: tuple[str, ...]) -> dict[str, _Value]:
        """Walk ``graph``; ``given`` maps a body's data-input ids to the block's input values. Returns the
        values reaching its Output nodes, by node id."""
        values: dict[tuple[str, str], _Value] = {}
        outputs: dict[str, _Value] = {}
        for nid in graph.topo_order():
            node = graph.nodes[nid]
            path = prefix + nid
            result = inference.results.get(nid)
            inputs = {port: values[(edge.src, edge.src_port)] for port, edge in graph._in.get(nid, {}).items()
                      if (edge.src, edge.src_port) in values}
            if node.type == INPUT:
                value = self._input(node, result, given)
                if value is not None:
                    values[(nid, "y")] = value
            elif node.type == OUTPUT:
                if "x" in inputs:
                    outputs[nid] = inputs["x"]
                    self._read(inputs["x"])
            elif node.type == BLOCK and node.body is not None:
                produced = self._block(node, result, path, frozen or not node.trainable, inputs, blocks)
                values.update(((nid, port), v) for port, v in produced.items())
            else:
                layer = inference.catalog.find(node.type)
                if layer is None or result is None or not result.ok or result.params is None:
                    continue  # the cost report lists it already
                if layer.is_loss and not self.train:
                    continue  # inference computes no loss
                produced = self._layer(layer, node, result, path, frozen or not node.trainable, inputs,
                                       blocks + (path,))
                values.update(((nid, port), v) for port, v in produced.items())
        return outputs

    def _input(self, node: Node, result: NodeShapes | None, given: Mapping[str, _Value] | None) -> _Value | None:
        data = is_data_input(node)
        if given is not None and data:
            return given.get(node.id)
        if not data and not self.train:
            return None  # labels: not part of inference
        if result is None or "y" not in result.outputs:
            return None
        spec = result.outputs["y"]
        try:
            shape = self._shape(spec)
        except (KeyError, ValueError):
            return None
        value = self._new(shape, spec.dtype, CONTIGUOUS, False)
        value.storage.born = -1  # handed in before the first step
        return value

    def _read(self, value: _Value) -> None:
        value.storage.last = max(value.storage.last, self.step)

    # -- blocks ----------------------------------------------------------------------------------------
    def _block(self, node: Node, result: NodeShapes | None, path: str, frozen: bool, inputs: dict[str, _Value],
               blocks: tuple[str, ...]) -> dict[str, _Value]:
        body = node.body
        assert body is not None
        if result is None or not result.ok or result.body is None:
            return {}
        ins = [n.id for n in body.input_nodes if is_data_input(n)]
        outs = [n.id for n in body.output_nodes]
        repeat = node.repeat
        current = dict(inputs)
        produced: dict[str, _Value] = {}
        if self.train:
            walked = min(repeat, _TRAINING_COPIES)
        else:
            walked = min(repeat, _INFERENCE_COPIES[len(blocks)] if len(blocks) < len(_INFERENCE_COPIES) else 1)
        for copy in range(walked):
            inference = result.first_body if copy == 0 and result.first_body is not None else result.body
            before = (self.report.saved_bytes, self.report.inexact_saved_bytes, dict(self.report.node_saved))
            if self.train:
                produced = self._training_copy(body, inference, path, frozen, current, blocks)
            else:
                produced = self.graph(body, inference, f"{path}/", frozen, current, blocks + (path,))
            for value in current.values():  # the caller holds a copy's input until the copy returns
                value.storage.last = max(value.storage.last, self.step - 1)
            if copy == walked - 1 and repeat > walked:
                self._extrapolate(repeat - walked, before)
            current = {i: produced[o] for i, o in zip(ins, outs, strict=False) if o in produced}
        for value in inputs.values():  # and the block's own input until its last copy returns
            value.storage.last = max(value.storage.last, self.step - 1)
        return produced

    def _training_copy(self, body: Graph, inference: ShapeInference, path: str, frozen: bool,
                       current: dict[str, _Value], blocks: tuple[str, ...]) -> dict[str, _Value]:
        """One copy of a block body in the training walk. Its effect (bytes kept, which inputs it keeps, what it
        returns) depends only on the body and on its inputs' sizes, layouts, gradients and kept flags: it is
        worked out once per such signature, on stand-ins for the inputs, and replayed after."""
        storages = list({id(v.storage): v.storage for v in current.values()}.values())
        where = {id(st): i for i, st in enumerate(storages)}
        key = (path, id(inference), frozen, tuple(sorted(
            (port, where[id(v.storage)], v.shape, v.dtype, v.layout, v.grad) for port, v in current.items())),
            tuple((st.nbytes, st.kept) for st in storages))
        report = self.report
        hit = self.copies.get(key)
        if hit is None or hit[0] is not inference:
            stand_ins = [_Storage(st.nbytes, kept=st.kept) for st in storages]
            given = {port: _Value(stand_ins[where[id(v.storage)]], v.shape, v.dtype, v.layout, v.grad)
                     for port, v in current.items()}
            before = (report.saved_bytes, report.inexact_saved_bytes, dict(report.node_saved))
            produced = self.graph(body, inference, f"{path}/", frozen, given, blocks + (path,))
            effect = _CopyEffect(
                report.saved_bytes - before[0], report.inexact_saved_bytes - before[1],
                {k: v - before[2].get(k, 0) for k, v in report.node_saved.items() if v != before[2].get(k, 0)},
                [i for i, st in enumerate(stand_ins) if st.kept and not storages[i].kept], {})
            made: dict[int, int] = {}
            for port, value in produced.items():
                known = next((i for i, st in enumerate(stand_ins) if st is value.storage), None)
                if known is None:
                    known = -1 - made.setdefault(id(value.storage), len(made))
                    effect.made[-1 - known] = (value.storage.nbytes, value.storage.kept)
                effect.outputs[port] = (known, value.shape, value.dtype, value.layout, value.grad)
            self.copies[key] = (inference, effect)
        else:
            effect = hit[1]
            report.saved_bytes += effect.saved
            report.inexact_saved_bytes += effect.inexact
            for k, v in effect.node_saved.items():
                report.node_saved[k] = report.node_saved.get(k, 0) + v
        for i in effect.kept_inputs:
            storages[i].kept = True
        fresh = [_Storage(nbytes, kept=kept) for nbytes, kept in (effect.made[i] for i in range(len(effect.made)))]
        return {port: _Value(storages[index] if index >= 0 else fresh[-1 - index], shape, dtype, layout, grad)
                for port, (index, shape, dtype, layout, grad) in effect.outputs.items()}

    def _extrapolate(self, times: int, before: tuple[int, int, dict[str, int]]) -> None:
        """Add ``times`` more copies of what the last simulated copy added."""
        report = self.report
        report.saved_bytes += times * (report.saved_bytes - before[0])
        report.inexact_saved_bytes += times * (report.inexact_saved_bytes - before[1])
        for key, value in list(report.node_saved.items()):
            report.node_saved[key] = value + times * (value - before[2].get(key, 0))

    # -- layers ----------------------------------------------------------------------------------------
    def _layer(self, layer: LayerDef, node: Node, result: NodeShapes, path: str, frozen: bool,
               inputs: dict[str, _Value], owners: tuple[str, ...]) -> dict[str, _Value]:
        params = result.params
        assert params is not None  # checked by the caller
        ports = layer.input_ports(params)
        missing = [p.name for p in ports if p.name in result.inputs and p.name not in inputs]
        if missing:
            self._skip(path, node, f"no memory figure: input {missing[0]!r} has none")
            return {}
        try:
            x = {port: value.shape for port, value in inputs.items()}
            y = {port: self._shape(spec) for port, spec in result.outputs.items()}
        except (KeyError, ValueError) as exc:
            self._skip(path, node, f"cannot size tensors: {exc.args[0] if exc.args else exc}")
            return {}
        first = inputs.get(ports[0].name) if ports else None
        try:
            placement = self._placement(layer, params, x, first)
        except Exception as exc:  # a faulty (plugin) rule: reported, never fatal
            self._skip(path, node, f"layout rule failed: {exc}")
            return {}
        if self.train:
            grad_in = frozenset(p for p, v in inputs.items() if v.grad and v.dtype.is_float)
            trains = not frozen and _has_params(layer, params, result)
            recorded = bool(grad_in or trains)
        else:
            grad_in, trains, recorded = frozenset(), False, False
        outputs: dict[str, _Value] = {}
        for port, spec in result.outputs.items():
            grad = recorded and spec.dtype.is_float
            if placement.view and first is not None:
                outputs[port] = _Value(first.storage, y[port], spec.dtype, placement.layout_of(port),
                                       grad or (first.grad and spec.dtype.is_float))
            else:
                outputs[port] = self._new(y[port], spec.dtype, placement.layout_of(port), grad)
        for value in inputs.values():
            self._read(value)
        if self.train:
            if recorded:
                self._keep(layer, node, path, params, x, y, inputs, outputs, grad_in, trains, owners)
        elif layer.scratch is not no_scratch:
            context = Autograd(frozenset(), False, {p: v.layout for p, v in inputs.items()},
                               {p: id(v) for p, v in inputs.items()})
            try:
                temporaries = list(layer.scratch(params, x, y, context))
            except Exception as exc:  # a faulty (plugin) rule: reported, never fatal
                self.report.notes[path] = f"scratch rule failed: {exc}"
                temporaries = []
            size = sum(t.elements * (itemsize(t.dtype) if t.dtype else _element_type(result).itemsize)
                       for t in temporaries)
            if size:
                self.scratch[self.step] = self.scratch.get(self.step, 0) + size
        self.step += 1
        return outputs

    def _placement(self, layer: LayerDef, params: Params, x: Mapping[str, tuple[int, ...]],
                   first: _Value | None) -> Placement:
        if first is None:
            return NEW
        if not self.train and Trait.PASS_THROUGH in layer.traits:
            return Placement(view=True, layout=first.layout)  # the input, unchanged, at inference
        if layer.layout is None:
            return NEW
        return layer.layout(params, x, first.layout)

    def _keep(self, layer: LayerDef, node: Node, path: str, params: Params, x: Mapping[str, tuple[int, ...]],
              y: Mapping[str, tuple[int, ...]], inputs: Mapping[str, _Value], outputs: Mapping[str, _Value],
              grad_in: frozenset[str], trains: bool, owners: tuple[str, ...]) -> None:
        autograd = Autograd(grad_in, trains, {p: v.layout for p, v in inputs.items()},
                            {p: id(v) for p, v in inputs.items()})
        if layer.saves is None:
            saved: list[Saved] = [Saved.input(port) for port in inputs]
            self.report.notes[path] = "keeps its inputs (assumed: its catalog entry declares nothing)"
        else:
            try:
                saved = list(layer.saves(params, x, y, autograd))
            except Exception as exc:  # a faulty (plugin) rule: reported, never fatal
                self._skip(path, node, f"saved-tensor rule failed: {exc}")
                return
        fallbacks = {p.name: p.fallback for p in layer.input_ports(params)}
        named: dict[str, _Storage] = {}
        float_type = None
        for item in saved:
            if item.kind == "input":
                value = inputs.get(item.port)
                seen: set[str] = set()
                while value is None and item.port not in seen and fallbacks.get(item.port):
                    seen.add(item.port)
                    item = Saved.input(str(fallbacks[item.port]))
                    value = inputs.get(item.port)
                if value is None:
                    continue
                storage = value.storage
            elif item.kind == "output":
                if item.port not in outputs:
                    continue
                storage = outputs[item.port].storage
            else:
                if item.name and item.name in named:
                    continue
                if item.dtype:
                    size = itemsize(item.dtype)
                else:
                    float_type = float_type or _float_type_of(inputs, outputs)
                    size = float_type.itemsize
                storage = _Storage(item.elements * size)
                if item.name:
                    named[item.name] = storage
            if storage.kept:
                continue
            storage.kept = True
            self.report.saved_bytes += storage.nbytes
            if not item.exact:
                self.report.inexact_saved_bytes += storage.nbytes
            for owner in owners:
                self.report.node_saved[owner] = self.report.node_saved.get(owner, 0) + storage.nbytes

    # -- the peak ----------------------------------------------------------------------------------------
    def peak(self) -> int:
        steps = self.step
        if steps == 0:  # nothing runs: the inputs the caller holds are all there is
            return sum(storage.nbytes for storage in self.storages if storage.pinned)
        delta = [0] * (steps + 1)
        for storage in self.storages:
            start = max(storage.born, 0)
            end = steps if storage.pinned else storage.last + 1
            if end > start:
                delta[start] += storage.nbytes
                delta[min(end, steps)] -= storage.nbytes
        live = best = 0
        for step in range(steps):
            live += delta[step]
            best = max(best, live + self.scratch.get(step, 0))
        return best


_PARAMS_MEMO: dict[int, tuple[NodeShapes, bool]] = {}  # id(shape result) → (that result, has parameters)


def _has_params(layer: LayerDef, params: Params, result: NodeShapes) -> bool:
    """Whether the layer holds parameters; remembered per shape result (inference replaces only the results
    it recomputes, so an estimate after an edit recounts only the edited nodes)."""
    hit = _PARAMS_MEMO.get(id(result))
    if hit is not None and hit[0] is result:
        return hit[1]
    try:
        found = int(layer.param_count(params, result.inputs)) > 0
    except Exception:  # cannot count: the cost report says so; assume trained, as most layers with a rule
        found = True
    if len(_PARAMS_MEMO) > 50_000:
        _PARAMS_MEMO.clear()
    _PARAMS_MEMO[id(result)] = (result, found)
    return found


def _element_type(result: NodeShapes) -> DType:
    """The layer's float type, or for a layer on integers (an addition of ids) its inputs' type."""
    specs = (*result.inputs.values(), *result.outputs.values())
    for spec in specs:
        if spec.dtype.is_float:
            return spec.dtype
    return specs[0].dtype if specs else DType.float32


def _float_type_of(inputs: Mapping[str, _Value], outputs: Mapping[str, _Value]) -> DType:
    for value in (*inputs.values(), *outputs.values()):
        if value.dtype.is_float:
            return value.dtype
    return DType.float32


def estimate_memory(graph: Graph, shapes: ShapeInference, bindings: Mapping[str, int],
                    max_elements: int) -> MemoryReport:
    """Both activation figures of ``graph`` (see the module docstring); ``bindings`` give every symbol a
    value (``N`` the batch size); a tensor over ``max_elements`` is not sized."""
    report = MemoryReport()
    sizes: dict[TensorSpec, tuple[int, ...]] = {}
    train = _Walk(True, bindings, max_elements, report, sizes)
    train.graph(graph, shapes, "", False, None, ())
    inference = _Walk(False, bindings, max_elements, MemoryReport(), sizes)
    outputs = inference.graph(graph, shapes, "", False, None, ())
    for value in outputs.values():
        value.storage.pinned = True
    for storage in inference.storages:
        if storage.born < 0:
            storage.pinned = True  # the graph inputs: the caller holds them through the pass
    report.peak_inference_bytes = inference.peak()
    report.notes.update(inference.report.notes)
    report.uncounted = list(dict.fromkeys(report.uncounted + inference.report.uncounted))
    return report
