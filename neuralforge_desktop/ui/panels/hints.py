"""Best-practice hints for one node, shown in the inspector next to its errors and lint warnings.

The core's ``lint`` covers whole-graph patterns but only runs on a graph without errors; these small rules
look at one node and its neighbours, so a student still sees "this Dropout does nothing" while another part
of the graph is broken. A hint whose ``code`` matches a lint warning on the same node is dropped by the
inspector, so the two never say the same thing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.ir.graph import OUTPUT, Graph, Node

CONVS = frozenset({"Conv1d", "Conv2d", "Conv3d"})
BATCH_NORMS = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"})
DROPOUTS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"})
RECURRENT = frozenset({"LSTM", "GRU", "RNN"})
POOLS = frozenset({"MaxPool1d", "MaxPool2d", "AvgPool2d"})
IDEMPOTENT = frozenset({"ReLU", "ReLU6", "Softmax", "Sigmoid", "Tanh"})  # f(f(x)) adds nothing useful


@dataclass(frozen=True)
class Hint:
    code: str
    message: str
    field: str | None = None


Rule = Callable[[Graph, Node, Mapping[str, Any]], list[Hint]]


def _consumers(graph: Graph, node: Node) -> list[Node]:
    return [graph.nodes[n] for n in graph.consumers(node.id)]


def _producer(graph: Graph, node: Node, port: str = "x") -> Node | None:
    edge = graph.edge_into(node.id, port)
    return None if edge is None else graph.nodes.get(edge.src)


def _conv_bias(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    consumers = _consumers(graph, node)
    if node.type not in CONVS or not p.get("bias") or not consumers:
        return []
    if not all(c.type in BATCH_NORMS for c in consumers):
        return []
    saved = p.get("out_channels")
    extra = f" (saves {saved:,} parameters)" if isinstance(saved, int) else ""
    return [Hint("conv-bias-before-batchnorm", f"{node.type} followed by {consumers[0].type}: the bias is "
                 f"redundant, BatchNorm subtracts the mean and adds its own shift; turn bias off{extra}", "bias")]


def _dropout_last(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    consumers = _consumers(graph, node)
    if node.type not in DROPOUTS or not consumers or not all(c.type == OUTPUT for c in consumers):
        return []
    return [Hint("dropout-before-output", "Dropout after the last layer does nothing at inference and only adds "
                 "noise to the outputs in training; move it before the last layer")]


def _dropout_rate(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    rate = p.get("p")
    if node.type not in DROPOUTS or not isinstance(rate, int | float):
        return []
    if rate == 0:
        return [Hint("dropout-zero", "p = 0: this Dropout does nothing; remove it or use 0.1–0.5", "p")]
    if rate >= 0.8:
        return [Hint("dropout-high", f"p = {rate:g} drops most activations in training; the model may barely "
                     "learn (0.1–0.5 is typical)", "p")]
    return []


def _rnn_dropout(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    if node.type not in RECURRENT or not p.get("dropout") or p.get("num_layers", 1) != 1:
        return []
    return [Hint("rnn-dropout-one-layer", f"{node.type} dropout only acts between stacked layers; with num_layers "
                 "= 1 it does nothing (add layers, or put a Dropout after this node)", "dropout")]


def _repeated_activation(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    source = _producer(graph, node)
    if node.type not in IDEMPOTENT or source is None or source.type != node.type:
        return []
    return [Hint("repeated-activation", f"{node.type} right after {source.type} '{source.id}' changes nothing "
                 "useful; remove one of them")]


def _pool_stride(graph: Graph, node: Node, p: Mapping[str, Any]) -> list[Hint]:
    if node.type not in POOLS | CONVS:
        return []
    kernel, stride = _pair(p.get("kernel_size")), _pair(p.get("stride"))
    if kernel is None or stride is None or all(s <= k for s, k in zip(stride, kernel, strict=False)):
        return []
    return [Hint("stride-over-kernel", "stride is larger than the kernel, so some input positions are never "
                 "looked at; use stride ≤ kernel_size", "stride")]


def _pair(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


RULES: tuple[Rule, ...] = (_conv_bias, _dropout_last, _dropout_rate, _rnn_dropout, _repeated_activation,
                           _pool_stride)


def node_hints(graph: Graph, node: Node, params: Mapping[str, Any] | None = None) -> list[Hint]:
    """Hints for ``node`` (``params``: validated params if known, else the raw ones)."""
    values = params if params is not None else node.params
    found: list[Hint] = []
    for rule in RULES:
        found.extend(rule(graph, node, values))
    return found
