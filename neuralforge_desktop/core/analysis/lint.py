"""Lint: warnings for graphs that are legal but probably not what the designer meant.

Every warning is a :class:`Diagnostic` with ``Severity.warning``, the node's path (``block/inner`` inside
blocks; ``""`` for the whole graph), a message that says what is wrong, why, and what to do, and a stable
``code``:

* ``huge-linear-after-flatten`` — a Linear with ≥ 50,000 input features or ≥ 25M weights right after Flatten.
* ``softmax-before-cross-entropy`` / ``log-softmax-before-cross-entropy`` — CrossEntropyLoss applies
  log-softmax itself. ``softmax-before-nll`` — NLLLoss expects log-probabilities.
* ``sigmoid-before-bce-with-logits`` — BCEWithLogitsLoss applies the sigmoid itself.
* ``conv-bias-before-batchnorm`` — a convolution's bias is cancelled by the BatchNorm that follows.
* ``dropout-before-output`` — dropout after the last layer only adds noise to the outputs.
* ``dead-end`` — a node whose outputs go nowhere (not an Output or a loss).
* ``no-output`` — a graph (or block body) without an Output node.
* ``unused-input`` — an Input node connected to nothing.

Identity and dropout nodes between the two layers of a pattern are looked through.
"""

from __future__ import annotations

from collections.abc import Iterator

from neuralforge_desktop.core.analysis.shapes import NodeShapes, ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, Params
from neuralforge_desktop.core.diagnostics import Diagnostic, Severity
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph, Node

HUGE_FAN_IN = 50_000
HUGE_WEIGHTS = 25_000_000
DROPOUTS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"})
PASS_THROUGH = DROPOUTS | {"Identity"}
CONVS = frozenset({"Conv1d", "Conv2d", "Conv3d"})
BATCH_NORMS = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"})
_TARGET_PORT = "target"


def lint(graph: Graph, shapes: ShapeInference | None = None, cat: Catalog | None = None) -> list[Diagnostic]:
    """Warnings for ``graph`` (blocks' bodies included). ``shapes`` supplies validated params and sizes."""
    found: list[Diagnostic] = []
    _Linter(cat or (shapes.catalog if shapes is not None else catalog()), found).graph(graph, shapes, "", True)
    return found


def human_count(value: int) -> str:
    """``102760448`` → ``102.8M``."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return str(value)


class _Linter:
    def __init__(self, cat: Catalog, found: list[Diagnostic]) -> None:
        self.catalog = cat
        self.found = found

    def warn(self, path: str, message: str, code: str, *, port: str | None = None, field: str | None = None) -> None:
        self.found.append(Diagnostic(Severity.warning, path, message, port=port, field=field, code=code))

    # -- one graph level ---------------------------------------------------------------------------------
    def graph(self, graph: Graph, shapes: ShapeInference | None, prefix: str, top: bool) -> None:
        if not graph.output_nodes and len(graph):  # an empty canvas is a start, not a problem
            if top:
                self.warn("", f"graph '{graph.name}' has no Output node, so the model returns nothing; add an "
                          "Output after the layer whose result you want (a loss alone only serves training)",
                          "no-output")
            else:
                block = prefix.rstrip("/")
                self.warn(block, f"Block '{block}' has no Output node in its body, so the block produces "
                          "nothing; add an Output inside it", "no-output")
        for nid in graph.topo_order():
            node = graph.nodes[nid]
            path = prefix + nid
            result = shapes.results.get(nid) if shapes is not None else None
            self.node(graph, node, path, result)
            if node.type == BLOCK and node.body is not None:
                body_shapes = result.body if result is not None else None
                self.graph(node.body, body_shapes, path + "/", False)

    def node(self, graph: Graph, node: Node, path: str, result: NodeShapes | None) -> None:
        layer = self.catalog.find(node.type)
        consumers = [graph.nodes[n] for n in graph.consumers(node.id)]
        if node.type == INPUT:
            if not consumers:
                role = node.params.get("role", "data")
                what = "a loss" if role == "target" else "a layer"
                self.warn(path, f"Input '{path}' is not connected to anything; connect it to {what} or delete it",
                          "unused-input")
            return
        if node.type == OUTPUT or layer is None:
            return
        params = self.params(node, layer, result)
        if not consumers and not layer.is_loss and self.has_outputs(node, layer, params):
            self.warn(path, f"{node.type} '{path}': its output goes nowhere, so the work is wasted; connect it "
                      "to a layer or an Output, or delete it", "dead-end")
        if node.type == "Linear":
            self.huge_linear(graph, node, path, params, result)
        elif node.type in CONVS and params is not None and params.get("bias"):
            self.conv_bias(node, path, params, consumers, graph)
        elif node.type in DROPOUTS and any(c.type == OUTPUT for c in self.through(graph, node.id)):
            self.warn(path, f"{node.type} '{path}': Dropout after the last layer only adds noise to the outputs "
                      "during training (and does nothing at inference); remove it or move it before the last "
                      "layer", "dropout-before-output")
        elif node.type in ("Softmax", "LogSoftmax", "Sigmoid"):
            self.before_loss(graph, node, path)

    # -- patterns ----------------------------------------------------------------------------------------
    def huge_linear(self, graph: Graph, node: Node, path: str, params: Params | None,
                    result: NodeShapes | None) -> None:
        source = self.producer(graph, node.id, "x")
        if source is None or source.type != "Flatten" or params is None:
            return
        spec = result.inputs.get("x") if result is not None else None
        fan_in = spec.shape[-1] if spec is not None and spec.shape else None
        out = params.get("out_features")
        if not isinstance(fan_in, int) or not isinstance(out, int):
            return
        weights = fan_in * out
        if fan_in >= HUGE_FAN_IN or weights >= HUGE_WEIGHTS:
            self.warn(path, f"Linear '{path}': huge Linear after Flatten: {fan_in:,} → {out:,} has "
                      f"{human_count(weights)} weights; consider pooling first (e.g. AdaptiveAvgPool2d to a small "
                      "size, or global average pooling) so the Linear sees far fewer features",
                      "huge-linear-after-flatten")

    def conv_bias(self, node: Node, path: str, params: Params, consumers: list[Node], graph: Graph) -> None:
        if not consumers or not all(c.type in BATCH_NORMS for c in consumers):
            return
        norm = consumers[0]
        self.warn(path, f"{node.type} '{path}' has a bias but feeds {norm.type} '{norm.id}', which subtracts the "
                  "per-channel mean (cancelling the bias) and adds its own shift; set bias=False to save "
                  f"{params.get('out_channels', 0):,} parameters", "conv-bias-before-batchnorm", field="bias")

    def before_loss(self, graph: Graph, node: Node, path: str) -> None:
        for loss, port in self.loss_inputs(graph, node.id):
            if port == _TARGET_PORT:
                continue
            where = f"{loss.type} '{loss.id}'"
            if loss.type == "CrossEntropyLoss" and node.type == "Softmax":
                self.warn(path, f"Softmax '{path}' feeds {where}, which applies log-softmax itself, so the "
                          "probabilities get squashed twice and learning slows; connect the raw logits to the loss "
                          "(keep Softmax only on the inference output)", "softmax-before-cross-entropy")
            elif loss.type == "CrossEntropyLoss" and node.type == "LogSoftmax":
                self.warn(path, f"LogSoftmax '{path}' feeds {where}, which applies log-softmax itself; connect "
                          "the raw logits to CrossEntropyLoss, or use NLLLoss after LogSoftmax",
                          "log-softmax-before-cross-entropy")
            elif loss.type == "NLLLoss" and node.type == "Softmax":
                self.warn(path, f"Softmax '{path}' feeds {where}, which expects log-probabilities; use LogSoftmax "
                          "instead of Softmax (or CrossEntropyLoss on the raw logits)", "softmax-before-nll")
            elif loss.type == "BCEWithLogitsLoss" and node.type == "Sigmoid":
                self.warn(path, f"Sigmoid '{path}' feeds {where}, which applies the sigmoid itself; connect the "
                          "raw logits to the loss (or use BCELoss after Sigmoid, which is less stable)",
                          "sigmoid-before-bce-with-logits")

    # -- helpers -----------------------------------------------------------------------------------------
    def params(self, node: Node, layer: LayerDef, result: NodeShapes | None) -> Params | None:
        if result is not None and result.params is not None:
            return result.params
        if node.type == BLOCK:
            return None
        return layer.validate_params(node.params)[0]

    def has_outputs(self, node: Node, layer: LayerDef, params: Params | None) -> bool:
        if node.type == BLOCK:
            return node.body is not None and bool(node.body.output_nodes)
        return bool(layer.output_ports(params or {}))

    def producer(self, graph: Graph, node_id: str, port: str) -> Node | None:
        """The node feeding ``node_id.port``, looking through Identity and dropout."""
        edge = graph.edge_into(node_id, port)
        seen: set[str] = set()
        while edge is not None and edge.src not in seen:
            seen.add(edge.src)
            src = graph.nodes[edge.src]
            if src.type not in PASS_THROUGH:
                return src
            edge = graph.edge_into(src.id, "x")
        return None

    def through(self, graph: Graph, node_id: str) -> Iterator[Node]:
        """Consumers of ``node_id``, looking through Identity and dropout."""
        stack = [node_id]
        seen: set[str] = set()
        while stack:
            for nid in graph.consumers(stack.pop()):
                if nid in seen:
                    continue
                seen.add(nid)
                node = graph.nodes[nid]
                if node.type in PASS_THROUGH:
                    stack.append(nid)
                else:
                    yield node

    def loss_inputs(self, graph: Graph, node_id: str) -> Iterator[tuple[Node, str]]:
        """(loss node, its input port) for every loss fed by ``node_id``, through Identity and dropout."""
        stack = [node_id]
        seen: set[str] = set()
        while stack:
            for edge in graph.outgoing(stack.pop()):
                dst = graph.nodes[edge.dst]
                if dst.type in PASS_THROUGH:
                    if dst.id not in seen:
                        seen.add(dst.id)
                        stack.append(dst.id)
                    continue
                layer = self.catalog.find(dst.type)
                if layer is not None and layer.is_loss:
                    yield dst, edge.dst_port
