"""Advice about one node: the lint warnings and best-practice hints that look at a node and its neighbours.

Each rule reads the roles the catalog entries declare (:class:`Trait`, ``LayerDef.param_sizes``,
``LayerDef.loss_checks``), never type names, so a plugin layer is advised like a built-in. Rules give
:class:`Diagnostic` objects: ``Severity.warning`` for what :func:`~.lint.lint` reports on the whole graph,
``Severity.hint`` for suggestions the inspector shows next to them. :func:`node_advice` runs every rule on one
node whatever state the rest of the graph is in, so a student sees "this Dropout does nothing" while another
part of the graph is broken; lint runs the same rules, so the two never disagree.

Warnings (codes are stable):

* ``unused-input`` — an Input node connected to nothing.
* ``dead-end`` — a node whose outputs go nowhere (not an Output or a loss).
* ``huge-linear-after-flatten`` — a ``DENSE`` layer with ≥ 50,000 input features or ≥ 25M weights right
  after one that ``FLATTENS``.
* ``conv-bias-before-batchnorm`` — a ``CONVOLUTION``'s bias is cancelled by the ``CANCELS_BIAS`` norm that
  follows.
* ``dropout-before-output`` — dropout after the last layer only adds noise to the outputs.
* the codes of the losses' :class:`LossCheck` entries (``softmax-before-cross-entropy`` …).

Hints: ``dropout-zero``, ``dropout-high``, ``rnn-dropout-one-layer``, ``repeated-activation``,
``stride-over-kernel``. ``PASS_THROUGH`` nodes (Identity, dropout) between the two layers of a pattern are
looked through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import NodeShapes
from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, Params, Trait
from neuralforge_desktop.core.diagnostics import Diagnostic, Severity
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph, Node

HUGE_FAN_IN = 50_000
HUGE_WEIGHTS = 25_000_000
_TARGET_PORT = "target"


def human_count(value: int) -> str:
    """``102760448`` → ``102.8M``."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return str(value)


@dataclass(frozen=True)
class NodeContext:
    """One node as the rules see it: its graph level, catalog entry, validated params and shapes."""

    graph: Graph
    node: Node
    layer: LayerDef
    path: str
    params: Params | None
    result: NodeShapes | None
    catalog: Catalog

    def is_(self, node: Node, trait: str) -> bool:
        """Whether ``node``'s catalog entry declares ``trait``."""
        layer = self.catalog.find(node.type)
        return layer is not None and trait in layer.traits

    def consumers(self) -> list[Node]:
        return [self.graph.nodes[n] for n in self.graph.consumers(self.node.id)]

    def producer(self, port: str = "x") -> Node | None:
        """The node feeding ``port``, looking through pass-through nodes (Identity, dropout)."""
        edge = self.graph.edge_into(self.node.id, port)
        seen: set[str] = set()
        while edge is not None and edge.src not in seen:
            seen.add(edge.src)
            src = self.graph.nodes[edge.src]
            if not self.is_(src, Trait.PASS_THROUGH):
                return src
            edge = self.graph.edge_into(src.id, "x")
        return None

    def through(self) -> Iterator[Node]:
        """Consumers of this node, looking through pass-through nodes."""
        stack = [self.node.id]
        seen: set[str] = set()
        while stack:
            for nid in self.graph.consumers(stack.pop()):
                if nid in seen:
                    continue
                seen.add(nid)
                node = self.graph.nodes[nid]
                if self.is_(node, Trait.PASS_THROUGH):
                    stack.append(nid)
                else:
                    yield node

    def loss_inputs(self) -> Iterator[tuple[Node, LayerDef, str]]:
        """(loss node, its entry, its input port) for every loss this node feeds, through pass-through nodes."""
        stack = [self.node.id]
        seen: set[str] = set()
        while stack:
            for edge in self.graph.outgoing(stack.pop()):
                dst = self.graph.nodes[edge.dst]
                if self.is_(dst, Trait.PASS_THROUGH):
                    if dst.id not in seen:
                        seen.add(dst.id)
                        stack.append(dst.id)
                    continue
                layer = self.catalog.find(dst.type)
                if layer is not None and layer.is_loss:
                    yield dst, layer, edge.dst_port

    def warn(self, message: str, code: str, field: str | None = None) -> Diagnostic:
        return Diagnostic(Severity.warning, self.path, message, field=field, code=code)

    def hint(self, message: str, code: str, field: str | None = None) -> Diagnostic:
        return Diagnostic(Severity.hint, self.path, message, field=field, code=code)


Rule = Callable[[NodeContext], Iterator[Diagnostic]]


# -- warnings ----------------------------------------------------------------------------------------------
def unused_input(ctx: NodeContext) -> Iterator[Diagnostic]:
    if ctx.node.type == INPUT and not ctx.graph.consumers(ctx.node.id):
        what = "a layer" if is_data_input(ctx.node) else "a loss"
        yield ctx.warn(f"Input '{ctx.path}' is not connected to anything; connect it to {what} or delete it",
                       "unused-input")


def dead_end(ctx: NodeContext) -> Iterator[Diagnostic]:
    node, layer = ctx.node, ctx.layer
    if node.type in (INPUT, OUTPUT) or layer.is_loss or ctx.graph.consumers(node.id):
        return
    if node.type == BLOCK:
        has_outputs = node.body is not None and bool(node.body.output_nodes)
    else:
        has_outputs = bool(layer.output_ports(ctx.params or {}))
    if has_outputs:
        yield ctx.warn(f"{node.type} '{ctx.path}': its output goes nowhere, so the work is wasted; connect it to a "
                       "layer or an Output, or delete it", "dead-end")


def huge_dense_after_flatten(ctx: NodeContext) -> Iterator[Diagnostic]:
    if not ctx.layer.has(Trait.DENSE) or ctx.params is None or ctx.result is None:
        return
    source = ctx.producer()
    if source is None or not ctx.is_(source, Trait.FLATTENS):
        return
    spec = ctx.result.inputs.get("x")
    fan_in = spec.shape[-1] if spec is not None and spec.shape else None
    weights = ctx.layer.param_size("weight", ctx.params, ctx.result.inputs)
    if not isinstance(fan_in, int) or not fan_in or weights is None:
        return
    if fan_in >= HUGE_FAN_IN or weights >= HUGE_WEIGHTS:
        kind = ctx.node.type
        yield ctx.warn(f"{kind} '{ctx.path}': huge {kind} after {source.type}: {fan_in:,} → {weights // fan_in:,} "
                       f"has {human_count(weights)} weights; consider pooling first (e.g. AdaptiveAvgPool2d to a "
                       f"small size, or global average pooling) so the {kind} sees far fewer features",
                       "huge-linear-after-flatten")


def bias_before_norm(ctx: NodeContext) -> Iterator[Diagnostic]:
    if not ctx.layer.has(Trait.CONVOLUTION) or ctx.params is None or not ctx.params.get("bias"):
        return
    consumers = ctx.consumers()
    if not consumers or not all(ctx.is_(c, Trait.CANCELS_BIAS) for c in consumers):
        return
    norm = consumers[0]
    inputs = ctx.result.inputs if ctx.result is not None else {}
    saved = ctx.layer.param_size("bias", ctx.params, inputs)
    saving = f" to save {saved:,} parameters" if saved else ""
    yield ctx.warn(f"{ctx.node.type} '{ctx.path}' has a bias but feeds {norm.type} '{norm.id}', which subtracts the "
                   f"per-channel mean (cancelling the bias) and adds its own shift; set bias=False{saving}",
                   "conv-bias-before-batchnorm", field="bias")


def dropout_before_output(ctx: NodeContext) -> Iterator[Diagnostic]:
    if ctx.layer.has(Trait.DROPOUT) and any(c.type == OUTPUT for c in ctx.through()):
        yield ctx.warn(f"{ctx.node.type} '{ctx.path}': Dropout after the last layer only adds noise to the outputs "
                       "during training (and does nothing at inference); remove it or move it before the last "
                       "layer", "dropout-before-output")


def activation_before_loss(ctx: NodeContext) -> Iterator[Diagnostic]:
    traits = ctx.layer.traits
    if not traits:
        return
    for loss, loss_layer, port in ctx.loss_inputs():
        if port == _TARGET_PORT:
            continue
        for check in loss_layer.loss_checks:
            if check.activation in traits:
                yield ctx.warn(f"{ctx.node.type} '{ctx.path}' feeds {loss.type} '{loss.id}', {check.advice}",
                               check.code)


# -- hints -------------------------------------------------------------------------------------------------
def dropout_rate(ctx: NodeContext) -> Iterator[Diagnostic]:
    rate = _value(ctx, "p")
    if not ctx.layer.has(Trait.DROPOUT) or not isinstance(rate, int | float):
        return
    if rate == 0:
        yield ctx.hint("p = 0: this Dropout does nothing; remove it or use 0.1–0.5", "dropout-zero", "p")
    elif rate >= 0.8:
        yield ctx.hint(f"p = {rate:g} drops most activations in training; the model may barely learn (0.1–0.5 is "
                       "typical)", "dropout-high", "p")


def stacked_dropout(ctx: NodeContext) -> Iterator[Diagnostic]:
    if ctx.layer.has(Trait.STACKED) and _value(ctx, "dropout") and _value(ctx, "num_layers", 1) == 1:
        yield ctx.hint(f"{ctx.node.type} dropout only acts between stacked layers; with num_layers = 1 it does "
                       "nothing (add layers, or put a Dropout after this node)", "rnn-dropout-one-layer", "dropout")


def repeated_activation(ctx: NodeContext) -> Iterator[Diagnostic]:
    edge = ctx.graph.edge_into(ctx.node.id, "x")
    source = None if edge is None else ctx.graph.nodes.get(edge.src)
    if ctx.layer.has(Trait.IDEMPOTENT) and source is not None and source.type == ctx.node.type:
        yield ctx.hint(f"{ctx.node.type} right after {source.type} '{source.id}' changes nothing useful; remove one "
                       "of them", "repeated-activation")


def stride_over_kernel(ctx: NodeContext) -> Iterator[Diagnostic]:
    if not ctx.layer.has(Trait.WINDOWED):
        return
    kernel, stride = _ints(_value(ctx, "kernel_size")), _ints(_value(ctx, "stride"))
    if kernel is None or stride is None or all(s <= k for s, k in zip(stride, kernel, strict=False)):
        return
    yield ctx.hint("stride is larger than the kernel, so some input positions are never looked at; use stride ≤ "
                   "kernel_size", "stride-over-kernel", "stride")


def _value(ctx: NodeContext, name: str, default: Any = None) -> Any:
    params: Mapping[str, Any] = ctx.params if ctx.params is not None else ctx.node.params
    return params.get(name, default)


def _ints(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


RULES: tuple[Rule, ...] = (unused_input, dead_end, huge_dense_after_flatten, bias_before_norm, dropout_before_output,
                           activation_before_loss, dropout_rate, stacked_dropout, repeated_activation,
                           stride_over_kernel)


def node_params(node: Node, layer: LayerDef, result: NodeShapes | None) -> Params | None:
    """The params the rules see: shape inference's validated ones, else validated here (``None`` for a block)."""
    if result is not None and result.params is not None:
        return result.params
    if node.type == BLOCK:
        return None
    return layer.validate_params(node.params)[0]


def node_advice(graph: Graph, node: Node, cat: Catalog, result: NodeShapes | None = None,
                path: str | None = None) -> list[Diagnostic]:
    """Warnings and hints for ``node`` (``result``: its shape result when known; ``path``: its path inside
    blocks, the node id by default). Runs whatever the rest of the graph looks like."""
    layer = cat.find(node.type)
    if layer is None or node.type == OUTPUT:
        return []
    ctx = NodeContext(graph, node, layer, node.id if path is None else path, node_params(node, layer, result),
                      result, cat)
    return [d for rule in RULES for d in rule(ctx)]
