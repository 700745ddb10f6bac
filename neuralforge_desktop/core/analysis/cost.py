"""Cost model: parameters, MACs, FLOPs, activation and training memory, and a latency estimate, per node.

Conventions, stated in full in :data:`CONVENTIONS` (also ``CostReport.to_json()["conventions"]``):
**FLOPs = 2 × MACs + flops_extra** (elementwise work); a tied parameter is counted once, at its source;
memory is split into fp32 weights, gradients, optimizer state (Adam 2×, SGD with momentum 1×, SGD 0× the
trainable params), the activations a training step keeps for backward and the peak of live activations at
inference (both from what each layer declares, see :mod:`.memory`); training memory = weights + gradients +
optimizer state + saved activations; latency is an inference forward pass predicted by :mod:`.latency` (this
CPU: from its calibration, kernel by kernel; GPUs: spec-sheet rooflines), with losses and target inputs free.
What a layer runs (its kernels, a convolution, a lookup, a view) and how big a tied parameter is come from its
catalog entry, never from its type name. A block's row
sums its body; body rows follow with ``depth + 1``, paths ``block/inner``, already multiplied by ``repeat``.
Nothing unknown is a silent zero: ops without a cost rule, of unknown type, with shape errors or unbound
dimension symbols are listed in ``uncounted`` as ``"path (Type)"``.

Incremental use: per-node costs are cached by the identity of the node's shape result (shape inference
replaces only the results it recomputes), then by content (type, params, input and output specs, bindings),
so re-estimating after an edit recomputes only the edited nodes.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.analysis.devices import DeviceProfile, get_device
from neuralforge_desktop.core.analysis.latency import LatencyModel, latency_model, node_kernels, touched_bytes
from neuralforge_desktop.core.analysis.memory import MEMORY_CONVENTIONS, MemoryReport, estimate_memory
from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference, deep_revision
from neuralforge_desktop.core.catalog.kernels import Kernel
from neuralforge_desktop.core.catalog.layer_memo import layer_token
from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.catalog.spec import LayerDef, Params
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph, Node
from neuralforge_desktop.core.ir.types import BATCH, TensorSpec, format_shape, resolve_dim
from neuralforge_desktop.core.limits import about

OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd_momentum": 1, "momentum": 1, "sgd": 0, "none": 0}
WEIGHT_BYTES = 4  # fp32 master weights, gradients and optimizer state

CONVENTIONS: dict[str, str] = {
    "macs": "multiply-accumulates of one forward pass at the batch size; 1 MAC = 1 multiply + 1 add",
    "flops": "FLOPs = 2 × MACs + flops_extra (the layer's elementwise work: bias adds, activations, norms)",
    "params": "learnable parameters; tied (shared) parameters are counted once, at their source",
    "buffers": "non-learned state such as running statistics; never trainable; stored with the weights",
    **MEMORY_CONVENTIONS,  # weights, gradients, optimizer state, activations saved / at the inference peak
    "latency_ms": "one inference forward pass in eager PyTorch, nodes run one after another (no fusion, no "
    "overlap). This computer's CPU, calibrated: each node's step and module call plus each kernel it declares "
    "(convolution, matrix product, attention, recurrent layer = input projection + T sequential steps, norm, "
    "elementwise, pooling, lookup, copy, view), each predicted from real torch ops of its kind timed on this "
    "machine; blocks add their module calls, the model one call. GPUs (spec sheets, none measured here) and an "
    "uncalibrated CPU: a roofline per node, max(2·MACs/(matmul peak·eff) + flops_extra/(vector peak·eff), "
    "(input+output+weight bytes)/(bandwidth·eff)) + launch overhead, views and dropout free, lookups reading only "
    "the gathered rows. Input, Output, losses and target inputs cost nothing",
    "blocks": "a block row is the sum of its body; body rows follow with depth+1, paths block/inner, "
    "multiplied by repeat (each copy has its own weights)",
    "uncounted": "ops without a cost rule, of unknown type, with shape errors or unbound dimension symbols; "
    "their unknown parts are left out of the totals, never counted as zero silently",
}


@dataclass(slots=True)
class CostRow:
    """Costs of one node (a block's row sums its body). Numbers include the block ``repeat`` multiplier."""

    path: str
    type: str
    depth: int = 0
    repeat: int = 1
    output_shape: str = ""
    params: int = 0
    trainable_params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0
    latency_ms: float = 0.0
    counted: bool = True
    note: str = ""
    saved_bytes: int = 0  # kept for backward by this node (a block: by its body) and by no earlier node
    latency_warm_ms: float = 0.0  # with warm caches; estimate_cost blends it into latency_ms (not reported)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__ if name != "latency_warm_ms"}
        data["non_trainable_params"] = self.params - self.trainable_params
        return data

    def _add(self, other: CostRow) -> None:
        self.params += other.params
        self.trainable_params += other.trainable_params
        self.buffers += other.buffers
        self.macs += other.macs
        self.flops += other.flops
        self.activation_bytes += other.activation_bytes
        self.latency_ms += other.latency_ms
        self.latency_warm_ms += other.latency_warm_ms


@dataclass
class CostReport:
    """Totals and per-node rows of one estimate. ``rows`` lists every node, block bodies included."""

    batch_size: int
    device: str
    precision: str
    optimizer: str
    bindings: dict[str, int]
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    latency_ms: float
    uncounted: list[str]
    rows: list[CostRow]
    profile: DeviceProfile
    memory: MemoryReport = field(default_factory=MemoryReport)
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def saved_activation_bytes(self) -> int:
        """Activations a training step keeps for the backward pass, at the batch size (see memory.py)."""
        return self.memory.saved_bytes

    @property
    def peak_inference_activation_bytes(self) -> int:
        """The most activation memory an inference pass holds at once (see memory.py)."""
        return self.memory.peak_inference_bytes

    @property
    def training_memory_bytes(self) -> int:
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes + self.saved_activation_bytes

    def row(self, path: str) -> CostRow | None:
        return next((r for r in self.rows if r.path == path), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size, "device": self.device, "precision": self.precision,
            "optimizer": self.optimizer, "bindings": dict(self.bindings), "params": self.params,
            "trainable_params": self.trainable_params, "non_trainable_params": self.non_trainable_params,
            "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
            "activation_bytes": self.activation_bytes, "weight_bytes": self.weight_bytes,
            "gradient_bytes": self.gradient_bytes, "optimizer_bytes": self.optimizer_bytes,
            "saved_activation_bytes": self.saved_activation_bytes,
            "saved_activation_inexact_bytes": self.memory.inexact_saved_bytes,
            "peak_inference_activation_bytes": self.peak_inference_activation_bytes,
            "training_memory_bytes": self.training_memory_bytes, "latency_ms": self.latency_ms,
            "uncounted": list(self.uncounted), "conventions": dict(self.conventions),
            "device_profile": self.profile.to_json(), "nodes": [r.to_json() for r in self.rows],
        }


# -- per-node raw costs (cached) ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Raw:
    """Costs of one node that depend only on its type, params, specs and bindings (not on the device)."""

    params: int | None
    buffers: int | None
    macs: int | None
    flops_extra: int | None
    activation_bytes: int | None
    io_float: int  # float elements read and written (inputs + outputs)
    io_other_bytes: int  # bytes of non-float tensors read and written
    output_shape: str
    note: str
    kernels: tuple[Kernel, ...] | None = None  # what it runs at inference (None: declares none)


_CONTENT_CACHE: dict[tuple[Any, ...], tuple[LayerDef, _Raw]] = {}
_CONTENT_CACHE_LIMIT = 50_000
_NodeEntry = tuple[NodeShapes, LayerDef | None, tuple[tuple[str, int], ...], _Raw]


class _Caches:
    """Per-:class:`ShapeInference` caches, keyed by the node's inference path (``blk[2]/lin``)."""

    __slots__ = ("nodes", "memory")

    def __init__(self) -> None:
        self.nodes: dict[str, _NodeEntry] = {}
        self.memory: tuple[tuple[Any, ...], MemoryReport] | None = None  # (what it depends on, the report)


_IDENTITY_CACHES: weakref.WeakKeyDictionary[ShapeInference, _Caches] = weakref.WeakKeyDictionary()


def _resolve(specs: Mapping[str, TensorSpec], bindings: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    return {port: tuple(resolve_dim(d, bindings) for d in spec.shape) for port, spec in specs.items()}


def _shape_text(specs: Mapping[str, TensorSpec], bindings: Mapping[str, int]) -> str:
    texts = []
    for spec in specs.values():
        try:
            texts.append(format_shape([resolve_dim(d, bindings) for d in spec.shape]))
        except (KeyError, ValueError):
            texts.append(format_shape(spec.shape))
    return ", ".join(texts)


def _compute_raw(layer: LayerDef | None, node: Node, result: NodeShapes | None,
                 bindings: Mapping[str, int], max_elements: int) -> _Raw:
    if layer is None:
        return _Raw(None, None, None, None, None, 0, 0, "", f"unknown layer type {node.type!r}")
    if result is None:
        return _Raw(None, None, None, None, None, 0, 0, "", "no shape result (shape inference is out of date)")
    shown = result.outputs if result.outputs or node.type != OUTPUT else result.inputs
    text = _shape_text(shown, bindings)
    if not result.ok or result.params is None:
        return _Raw(None, None, None, None, None, 0, 0, text, "shape error: not counted")
    params: Params = result.params
    notes: list[str] = []
    n_params = _count(layer.param_count, params, result.inputs, notes, "parameter count")
    n_buffers = _count(layer.buffer_count, params, result.inputs, notes, "buffer count")
    try:
        x = _resolve(result.inputs, bindings)
        y = _resolve(result.outputs, bindings)
    except (KeyError, ValueError) as exc:
        notes.append(f"cannot size tensors: {exc.args[0] if exc.args else exc}")
        return _Raw(n_params, n_buffers, None, None, None, 0, 0, text, "; ".join(notes))
    largest = max((math.prod(shape) for shape in (*x.values(), *y.values())), default=0)
    if largest > max_elements:  # symbols bound to huge values: no estimate is meaningful (or fits a float)
        notes.append(f"a tensor of {about(largest)} elements is over the limit of {max_elements:,} "
                     "(limit: tensor_elements)")
        return _Raw(n_params, n_buffers, None, None, None, 0, 0, text, "; ".join(notes))
    macs = _cost(layer.macs, params, x, y, notes, "MACs")
    extra = _cost(layer.flops_extra, params, x, y, notes, "elementwise FLOPs")
    io_float = io_other = 0
    act = 0
    for group, shapes in ((result.inputs, x), (result.outputs, y)):
        for port, spec in group.items():
            count = math.prod(shapes[port])
            if spec.dtype.is_float:
                io_float += count
            else:
                io_other += count * spec.dtype.itemsize
    for port, spec in result.outputs.items():
        act += math.prod(y[port]) * spec.dtype.itemsize
    kernels = node_kernels(layer, params, x, y, notes)
    return _Raw(n_params, n_buffers, macs, extra, act, io_float, io_other, text, "; ".join(notes), kernels)


def _count(rule: Any, params: Params, inputs: Mapping[str, TensorSpec], notes: list[str], what: str) -> int | None:
    try:
        return int(rule(params, inputs))
    except Exception as exc:  # a faulty rule (or a plugin's) is reported, never fatal
        notes.append(f"{what} failed: {exc}")
        return None


def _cost(rule: Any, params: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]],
          notes: list[str], what: str) -> int | None:
    if rule is None:
        notes.append(f"no {what} rule")
        return None
    try:
        return int(rule(params, x, y))
    except Exception as exc:  # reported, never fatal
        notes.append(f"{what} failed: {exc}")
        return None


def _raw_for(cache: dict[str, _NodeEntry], path: str, layer: LayerDef | None, node: Node,
             result: NodeShapes | None, bkey: tuple[tuple[str, int], ...], bindings: Mapping[str, int],
             max_elements: int) -> _Raw:
    entry = cache.get(path)
    if entry is not None and result is not None and entry[0] is result and entry[1] is layer and entry[2] == bkey:
        return entry[3]
    raw: _Raw | None = None
    ckey: tuple[Any, ...] | None = None
    if layer is not None and result is not None and result.params is not None and result.ok:
        try:
            ckey = (node.type, layer_token(layer), result.params, tuple(result.inputs.items()),
                    tuple(result.outputs.items()), bkey)
            hit = _CONTENT_CACHE.get(ckey)
            if hit is not None and hit[0] is layer:
                raw = hit[1]
        except TypeError:  # an unhashable param value: just compute
            ckey = None
    if raw is None:
        raw = _compute_raw(layer, node, result, bindings, max_elements)
        if ckey is not None and layer is not None:
            if len(_CONTENT_CACHE) >= _CONTENT_CACHE_LIMIT:
                _CONTENT_CACHE.clear()
            _CONTENT_CACHE[ckey] = (layer, raw)
    if result is not None:
        cache[path] = (result, layer, bkey, raw)
    return raw


# -- tied parameters -------------------------------------------------------------------------------------
def _apply_ties(graph: Graph, inference: ShapeInference, rows: dict[str, CostRow], prefix: str,
                frozen: bool, uncounted: list[str]) -> None:
    for tie in graph.ties:
        node = graph.nodes.get(tie.node)
        row = rows.get(prefix + tie.node)
        if node is None or row is None or not row.counted:
            continue
        sizes: list[int | None] = []
        for nid, param in ((tie.node, tie.param), (tie.source, tie.source_param)):
            target = graph.nodes.get(nid)
            result = inference.results.get(nid)
            layer = inference.catalog.find(target.type) if target is not None else None
            if layer is None or result is None or result.params is None:
                sizes.append(None)
            else:
                sizes.append(layer.param_size(param, result.params, result.inputs))
        size = sizes[0] if sizes[0] is not None else sizes[1]
        problem = ""
        if size is None:
            problem = f"size of tied param {tie.param!r} unknown"
        elif sizes[0] is not None and sizes[1] is not None and sizes[0] != sizes[1]:
            problem = (f"tied {tie.param!r} has {sizes[0]:,} elements but {tie.source}.{tie.source_param} "
                       f"has {sizes[1]:,}")
        if problem:
            row.note = "; ".join(filter(None, [row.note, problem]))
            row.counted = False
            uncounted.append(f"{row.path} ({row.type})")
            continue
        assert size is not None
        shared = size * row.repeat
        row.params -= shared
        if node.trainable and not frozen:
            row.trainable_params -= shared
        row.note = "; ".join(filter(None, [row.note, f"{tie.param} shared with {tie.source}.{tie.source_param}"]))


# -- walking the graph -----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Ctx:
    bindings: dict[str, int]
    bkey: tuple[tuple[str, int], ...]
    cache: _Caches
    uncounted: list[str]
    latency: LatencyModel
    footprint: float = 0.0  # bytes of weights and activations one pass touches (how warm the caches stay)
    visited: int = 0  # node cache entries used by this estimate
    max_elements: int = 0  # the largest tensor costed: the shapes' limit at this batch size


def _cost_graph(graph: Graph, inference: ShapeInference, prefix: str, depth: int, mult: int, frozen: bool,
                ctx: _Ctx, out: list[CostRow]) -> CostRow:
    """Append rows of ``graph``'s nodes (and of nested bodies) to ``out``; return their sum."""
    total = CostRow(prefix.rstrip("/"), BLOCK, max(depth - 1, 0), mult)
    level: dict[str, CostRow] = {}
    cat = inference.catalog
    results = inference.results
    for nid in graph.topo_order():
        node = graph.nodes[nid]
        path = prefix + nid
        result = results.get(nid)
        if node.type == BLOCK and node.body is not None:
            row = _cost_block(node, result, path, depth, mult, frozen or not node.trainable, ctx, out)
        else:
            layer = cat.find(node.type)
            ctx.visited += 1
            raw = _raw_for(ctx.cache.nodes, inference.prefix + nid, layer, node, result, ctx.bkey, ctx.bindings,
                           ctx.max_elements)
            row = _row(node, layer, raw, path, depth, mult, frozen or not node.trainable, ctx, prefix != "")
            out.append(row)
        level[path] = row
        total._add(row)
    if graph.ties:
        before = {p: (r.params, r.trainable_params) for p, r in level.items()}
        _apply_ties(graph, inference, level, prefix, frozen, ctx.uncounted)
        for p, r in level.items():
            total.params += r.params - before[p][0]
            total.trainable_params += r.trainable_params - before[p][1]
    return total


def _row(node: Node, layer: LayerDef | None, raw: _Raw, path: str, depth: int, mult: int, frozen: bool,
         ctx: _Ctx, in_body: bool) -> CostRow:
    params = raw.params or 0
    buffers = raw.buffers or 0
    macs = raw.macs or 0
    extra = raw.flops_extra or 0
    act = raw.activation_bytes or 0
    if in_body and is_data_input(node):
        act = 0  # a body's data input aliases the block's input tensor
    latency = warm = 0.0
    if layer is not None and not layer.is_loss and not (node.type == INPUT and not is_data_input(node)):
        cold_s, warm_s = ctx.latency.node_seconds(layer, raw, node.type not in (INPUT, OUTPUT))
        latency, warm = cold_s * 1e3, warm_s * 1e3
        ctx.footprint += touched_bytes(layer, raw) * mult
    counted = None not in (raw.params, raw.buffers, raw.macs, raw.flops_extra, raw.activation_bytes)
    if not counted:
        ctx.uncounted.append(f"{path} ({node.type})")
    return CostRow(path, node.type, depth, mult, raw.output_shape, params * mult, 0 if frozen else params * mult,
                   buffers * mult, macs * mult, (2 * macs + extra) * mult, act * mult, latency * mult, counted,
                   raw.note, latency_warm_ms=warm * mult)


def _cost_block(node: Node, result: NodeShapes | None, path: str, depth: int, mult: int, frozen: bool,
                ctx: _Ctx, out: list[CostRow]) -> CostRow:
    repeat = node.repeat
    row = CostRow(path, BLOCK, depth, mult, "", note=f"repeat {repeat}" if repeat > 1 else "")
    out.append(row)
    body = node.body
    assert body is not None
    if result is None or not result.ok or result.body is None:
        row.counted = False
        row.note = "shape error: body not counted"
        ctx.uncounted.append(f"{path} ({BLOCK})")
        return row
    row.output_shape = _shape_text(result.outputs, ctx.bindings)
    row.latency_ms = row.latency_warm_ms = ctx.latency.block_seconds(repeat) * 1e3 * mult  # the body adds its own
    # At most two distinct copies (see ShapeInference._infer_block): the first, when it sees other shapes,
    # and the one every other copy repeats. Costs multiply; nothing iterates over ``repeat``.
    if result.first_body is None:
        copies = [(result.body, mult * repeat)]
    else:
        copies = [(result.first_body, mult), (result.body, mult * (repeat - 1))]
    start = len(out)
    for inference, child_mult in copies:
        child = _cost_graph(body, inference, f"{path}/", depth + 1, child_mult, frozen, ctx, out)
        row._add(child)
    if len(copies) > 1:  # copies of different shapes: one row per body node, summed over the copies
        merged: dict[str, CostRow] = {}
        for r in out[start:]:
            if r.path in merged:
                merged[r.path]._add(r)
                merged[r.path].output_shape = r.output_shape
            else:
                r.repeat *= repeat
                merged[r.path] = r
        out[start:] = list(merged.values())
    row.counted = all(r.counted for r in out[start:])
    return row


# -- entry point -----------------------------------------------------------------------------------------
def estimate_cost(graph: Graph, shapes: ShapeInference | None = None, batch_size: int = 1,
                  device: str | DeviceProfile = "cpu", bindings: Mapping[str, int] | None = None, *,
                  precision: str = "fp32", optimizer: str = "adam",
                  cpu_profile_path: str | Path | None = None,
                  calibration_path: str | Path | None = None) -> CostReport:
    """Estimate the costs of ``graph`` at ``batch_size`` on ``device`` (see the module docstring).

    ``shapes`` is a current :class:`ShapeInference` of ``graph`` (run here when omitted). Dimension symbols
    are bound to ``{"N": batch_size}``, then ``graph.symbols``, then ``bindings``. ``optimizer`` is one of
    ``adam``, ``adamw``, ``sgd_momentum``, ``sgd`` (training memory only); ``precision`` one of ``fp32``,
    ``tf32``, ``fp16``, ``bf16`` (latency only).
    """
    if shapes is None:
        shapes = ShapeInference(graph).run()
    elif shapes.graph is not graph:
        raise ValueError("shapes belong to a different graph")
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZER_STATES)}")
    profile = get_device(device, cpu_profile_path=cpu_profile_path, calibration_path=calibration_path)
    bound: dict[str, int] = {BATCH: int(batch_size), **graph.symbols, **(bindings or {})}
    cache = _IDENTITY_CACHES.get(shapes)
    if cache is None:
        cache = _IDENTITY_CACHES[shapes] = _Caches()
    ctx = _Ctx(bound, tuple(sorted(bound.items())), cache, [], latency_model(profile, precision))
    ctx.max_elements = shapes.limits.tensor_elements * max(1, bound[BATCH])
    rows: list[CostRow] = []
    total = _cost_graph(graph, shapes, "", 0, 1, False, ctx, rows)
    warmth = ctx.latency.warmth(ctx.footprint)
    for row in (*rows, total):  # cold and warm caches, blended by how much of the network the caches hold
        row.latency_ms = (1 - warmth) * row.latency_ms + warmth * row.latency_warm_ms
    if len(cache.nodes) > 2 * ctx.visited + 100:  # entries of deleted nodes: start over (the content cache stays)
        cache.nodes.clear()
    memory = _memory(graph, shapes, ctx, rows)
    trainable = total.trainable_params
    return CostReport(
        batch_size=bound[BATCH], device=profile.name, precision=precision, optimizer=optimizer,
        bindings=bound, params=total.params, trainable_params=trainable, buffers=total.buffers,
        macs=total.macs, flops=total.flops, activation_bytes=total.activation_bytes,
        weight_bytes=(total.params + total.buffers) * WEIGHT_BYTES, gradient_bytes=trainable * WEIGHT_BYTES,
        optimizer_bytes=OPTIMIZER_STATES[optimizer] * trainable * WEIGHT_BYTES,
        latency_ms=total.latency_ms + ctx.latency.model_call_seconds() * 1e3,
        uncounted=list(dict.fromkeys(ctx.uncounted + memory.uncounted)), rows=rows, profile=profile, memory=memory,
    )


# -- memory (activations saved for backward, peak at inference: see memory.py) ----------------------------
def _memory(graph: Graph, shapes: ShapeInference, ctx: _Ctx, rows: list[CostRow]) -> MemoryReport:
    """Both activation figures, each node's share of the saved bytes put on its row. The report is reused
    while the shape results, trainable flags and bindings are the same (another device, another precision)."""
    key = (ctx.bkey, *_memory_inputs(graph, shapes))
    cached = ctx.cache.memory
    if cached is not None and len(cached[0]) == len(key) and all(
            a is b or (type(a) is not NodeShapes and a == b) for a, b in zip(cached[0], key, strict=True)):
        memory = cached[1]
    else:
        memory = estimate_memory(graph, shapes, ctx.bindings, ctx.max_elements)
        ctx.cache.memory = (key, memory)
    for row in rows:
        row.saved_bytes = memory.node_saved.get(row.path, 0)
        note = memory.notes.get(row.path)
        if note and note not in row.note:
            row.note = "; ".join(filter(None, [row.note, note]))
    return memory


def _memory_inputs(graph: Graph, shapes: ShapeInference) -> tuple[Any, ...]:
    """What the memory figures read besides the bindings: every shape result (compared by identity: inference
    replaces a result whenever it recomputes it) and trainable flag, and the revisions of nested bodies."""
    parts: list[Any] = [graph.structure_revision]
    for nid, node in graph.nodes.items():
        parts += [nid, shapes.results.get(nid), node.trainable]
        if node.body is not None:
            parts.append(deep_revision(node.body))
    return tuple(parts)
