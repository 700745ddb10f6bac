"""Apply a Coach :class:`~.findings.Fix`: a graph edit built from the invertible edits of ``core/edit`` (so the
app pushes it as one undo step) or a change of training settings.

Graph actions and their arguments:

* ``remove_node {"node": ID}``: a node with one input (a Softmax before a cross-entropy loss): everything it
  fed is fed by its producer instead, then it goes;
* ``insert_after {"node": ID, "type": T, "params": {...}}``: a new ``T`` on every edge leaving the node's
  output (BatchNorm after a convolution; its feature count comes from the inferred input, as the catalog does
  for every normalisation layer);
* ``replace_type {"node": ID, "type": T}``: the same node, connections and the params both types share, as a
  ``T`` (ReLU for a Sigmoid that saturates);
* ``replace_loss {"node": ID | None, "type": T}``: the loss node as a ``T``; with no loss node in the graph
  the default loss follows the dataset's task, so there is nothing to edit and the type is only checked.

Config action: ``set_config`` with ``TrainConfig`` field → new value.

A node id may be a path into blocks (``stem/relu6``): the edit then runs inside that block's body
(:class:`InBlock`). The fixed graph must still infer shapes; a fix that cannot apply raises :class:`FixError`
naming the node, the type or the setting at fault.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference, node_ports
from neuralforge_desktop.core.catalog.node_params import node_params
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, PortSpec
from neuralforge_desktop.core.edit.edits import AddNode, Connect, Disconnect, Edit, Macro, RemoveNode
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import BLOCK, Edge, Graph, GraphError, Node, Tie
from neuralforge_desktop.core.training.coach.findings import Fix
from neuralforge_desktop.core.training.config import ConfigError, TrainConfig

GRAPH_ACTIONS = ("remove_node", "insert_after", "replace_type", "replace_loss")
CONFIG_ACTIONS = ("set_config",)


class FixError(UserError, ValueError):
    """A fix that cannot apply to this graph or these settings; the message names the node, type or field."""


@dataclass(frozen=True)
class FixResult:
    """What a fix gives: the fixed graph (a copy), the fixed settings (validated), what changed in words, the
    graph edit as one undoable step (None for a settings fix or a loss fix with nothing to edit) and the
    settings it changed (field → new value)."""

    graph: Graph
    config: TrainConfig
    description: str
    edit: Edit | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class InBlock(Edit):
    """Run ``edit`` inside the body of the block at ``block`` (a ``/``-separated path of block ids). Its
    inverse is the inner inverse, inside the same block; the top graph's revision moves so a document sees
    the change, and the block is what shape inference recomputes."""

    block: str
    edit: Edit
    label: str = "Edit inside a block"

    def apply(self, graph: Graph) -> Edit:
        inverse = self.edit.apply(_body(graph, self.block))
        graph.revision += 1
        return InBlock(self.block, inverse, label=self.label)

    def affected(self, graph: Graph) -> set[str]:
        return {self.block.split("/", 1)[0]}

    @property
    def structural(self) -> bool:
        return self.edit.structural


# -- public ----------------------------------------------------------------------------------------------
def fix_edits(fix: Fix, graph: Graph) -> list[Edit]:
    """The edits a graph fix makes, in order (empty for a settings fix or a loss fix with no loss node).
    Raises :class:`FixError` when it cannot apply."""
    if fix.kind == "config":
        if fix.action not in CONFIG_ACTIONS:
            raise FixError(f"fix {fix.action!r}: not a settings fix (known: {', '.join(CONFIG_ACTIONS)})")
        return []
    if fix.kind != "graph":
        raise FixError(f"fix kind {fix.kind!r}: graph or config")
    builders = {"remove_node": _remove_node, "insert_after": _insert_after, "replace_type": _replace_type,
                "replace_loss": _replace_loss}
    build = builders.get(fix.action)
    if build is None:
        raise FixError(f"fix {fix.action!r}: not a graph fix (known: {', '.join(GRAPH_ACTIONS)})")
    return build(graph, fix.args)


def fix_edit(fix: Fix, graph: Graph) -> Edit | None:
    """:func:`fix_edits` as one undo step labelled with the fix's label; None when there is nothing to edit."""
    edits = fix_edits(fix, graph)
    return Macro(tuple(edits), label=fix.label or fix.action) if edits else None


def config_changes(fix: Fix, config: TrainConfig) -> TrainConfig:
    """The settings after a ``set_config`` fix (a new, validated TrainConfig); others leave them as they are."""
    if fix.kind != "config":
        return config
    if fix.action not in CONFIG_ACTIONS:
        raise FixError(f"fix {fix.action!r}: not a settings fix (known: {', '.join(CONFIG_ACTIONS)})")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for name in fix.args:
        if name not in known:
            raise FixError(f"set_config: {name!r} is not a training setting")
    if not fix.args:
        raise FixError("set_config: no setting to change")
    try:
        return dataclasses.replace(config, **fix.args).validate()
    except ConfigError as exc:
        raise FixError(f"set_config: {exc}") from None


def apply_fix(fix: Fix, graph: Graph, config: TrainConfig) -> FixResult:
    """Apply ``fix`` to a copy of ``graph`` and of ``config``; the originals are left as they were."""
    fixed = graph.copy()
    edit = fix_edit(fix, fixed)
    if edit is not None:
        edit.apply(fixed)
        _check_shapes(fixed, fix)
    new_config = config_changes(fix, copy.deepcopy(config))
    settings = {k: v for k, v in fix.args.items()} if fix.kind == "config" else {}
    return FixResult(fixed, new_config, describe(fix, graph), edit, settings)


def describe(fix: Fix, graph: Graph) -> str:
    """What the fix does, in words (for the CLI's output and the panel's status line)."""
    args = fix.args
    if fix.kind == "config":
        return "set " + ", ".join(f"{k} = {v!r}" for k, v in args.items())
    node = args.get("node")
    if fix.action == "remove_node":
        return f"removed {node} and wired its input straight to what it fed"
    if fix.action == "insert_after":
        return f"inserted a {args.get('type')} after {node}"
    if fix.action == "replace_type":
        return f"made {node} a {args.get('type')}"
    if node is None and not _loss_nodes(graph):
        return (f"the graph has no loss node: training uses the task's default loss; {args.get('type')} is a "
                "known loss, nothing in the graph changes")
    return f"made the loss node {node or _loss_nodes(graph)[0].id} a {args.get('type')}"


# -- graph actions ---------------------------------------------------------------------------------------
def _remove_node(graph: Graph, args: dict[str, Any]) -> list[Edit]:
    path = _node_arg(args, "remove_node")
    body, local = _locate(graph, path, "remove_node")
    node = body.node(local)
    if node.is_block or node.type in ("Input", "Output"):
        raise FixError(f"remove_node: '{path}' is {_a(node.type)}; only a layer with one input can be removed")
    feeds = list(body.incoming(local).values())
    if len(feeds) != 1:
        raise FixError(f"remove_node: '{path}' has {len(feeds)} connected inputs; only a node with one input "
                       "can be removed and its input wired through")
    source = feeds[0]
    users = body.outgoing(local)
    edits: list[Edit] = [Disconnect(e.dst, e.dst_port, label="Disconnect") for e in users]
    edits.append(RemoveNode(local, label=f"Remove {local}"))
    edits += [Connect(source.src, source.src_port, e.dst, e.dst_port) for e in users]
    return _scoped(path, edits)


def _insert_after(graph: Graph, args: dict[str, Any]) -> list[Edit]:
    path = _node_arg(args, "insert_after")
    body, local = _locate(graph, path, "insert_after")
    layer = _layer(args, "insert_after", path)
    if layer.is_loss or layer.type in ("Input", "Output", BLOCK):
        raise FixError(f"insert_after: a {layer.type} cannot be inserted after '{path}'")
    extra = args.get("params") or {}
    if not isinstance(extra, dict):
        raise FixError(f"insert_after: params must be an object of {layer.type} parameters, got {extra!r}")
    params, problems = layer.validate_params({**layer.default_params(), **extra})
    if problems:
        raise FixError(f"insert_after: {layer.type} {problems[0]}")
    anchor = body.node(local)
    out_port = _first_output(body, anchor)
    users = [e for e in body.outgoing(local) if e.src_port == out_port]
    ins, outs = node_ports(Node("new", layer.type, dict(extra)), layer, params)
    if not ins or not outs:
        raise FixError(f"insert_after: a {layer.type} has no input or no output to wire in")
    new_id = body.new_id(layer.type)
    node = Node(new_id, layer.type, dict(extra), position=_between(body, anchor, users))
    edits: list[Edit] = [Disconnect(e.dst, e.dst_port, label="Disconnect") for e in users]
    index = list(body.nodes).index(local) + 1  # right after the node it follows: generated code reads in order
    edits.append(AddNode(node, (Edge(local, out_port, new_id, ins[0].name),), label=f"Add {new_id}", index=index))
    edits += [Connect(new_id, outs[0].name, e.dst, e.dst_port) for e in users]
    return _scoped(path, edits)


def _replace_type(graph: Graph, args: dict[str, Any], action: str = "replace_type") -> list[Edit]:
    path = _node_arg(args, action)
    body, local = _locate(graph, path, action)
    old = body.node(local)
    layer = _layer(args, action, path)
    if old.is_block or layer.type == BLOCK:
        raise FixError(f"{action}: '{path}' is {_a(old.type)}; a block's type cannot be swapped")
    if old.type == layer.type:
        raise FixError(f"{action}: '{path}' is already a {layer.type}")
    old_layer = catalog().find(old.type)
    shared = {k: copy.deepcopy(v) for k, v in old.params.items() if layer.param_spec(k) is not None}
    params = layer.validate_params({**layer.default_params(), **shared})[0]
    old_params = node_params(old)
    old_ins, old_outs = node_ports(old, old_layer, old_params)
    new_ins, new_outs = node_ports(Node(local, layer.type, shared), layer, params)
    in_names, out_names = _port_map(old_ins, new_ins), _port_map(old_outs, new_outs)
    edges = []
    for e in body.incoming(local).values():
        edges.append(Edge(e.src, e.src_port, local, _renamed(in_names, e.dst_port, path, layer.type)))
    for e in body.outgoing(local):
        edges.append(Edge(local, _renamed(out_names, e.src_port, path, layer.type), e.dst, e.dst_port))
    ties = tuple(t for t in body.ties if local in (t.node, t.source)
                 and (t.node != local or t.param in shared) and (t.source != local or t.source_param in shared))
    fresh = Node(local, layer.type, shared, position=old.position, notes=old.notes, label=old.label,
                 trainable=old.trainable, lr_mult=old.lr_mult)
    index = list(body.nodes).index(local)
    edits: list[Edit] = [RemoveNode(local, label=f"Remove {local}"),
                         AddNode(fresh, tuple(edges), tuple(Tie(t.node, t.param, t.source, t.source_param)
                                                            for t in ties), label=f"Add {local}", index=index)]
    return _scoped(path, edits)


def _replace_loss(graph: Graph, args: dict[str, Any]) -> list[Edit]:
    layer = _layer(args, "replace_loss", args.get("node") or "the loss")
    if not layer.is_loss:
        raise FixError(f"replace_loss: {layer.type} is not a loss (losses: {', '.join(_loss_types())})")
    node = args.get("node")
    if node is None:
        losses = _loss_nodes(graph)
        if not losses:
            return []  # the default loss follows the dataset's task: a settings matter, nothing to edit
        node = losses[0].id
    body, local = _locate(graph, str(node), "replace_loss")
    current = catalog().find(body.node(local).type)
    if current is None or not current.is_loss:
        raise FixError(f"replace_loss: '{node}' is {_a(body.node(local).type)}, not a loss node")
    return _replace_type(graph, {**args, "node": node}, action="replace_loss")


# -- helpers ---------------------------------------------------------------------------------------------
def _node_arg(args: dict[str, Any], action: str) -> str:
    node = args.get("node")
    if not isinstance(node, str) or not node:
        raise FixError(f"{action}: needs the node to change (args.node), got {node!r}")
    return node


def _locate(graph: Graph, path: str, action: str) -> tuple[Graph, str]:
    """The graph that holds the node at ``path`` (the top graph, or a block's body) and its local id."""
    *blocks, local = path.split("/")
    body = graph
    walked: list[str] = []
    for block in blocks:
        walked.append(block)
        node = body.nodes.get(block)
        if node is None or node.body is None:
            what = "no such block" if node is None else f"{_a(node.type)}, not a block"
            raise FixError(f"{action}: node '{path}' not found ('{'/'.join(walked)}': {what})")
        body = node.body
    if local not in body.nodes:
        where = f" in block '{'/'.join(blocks)}'" if blocks else ""
        raise FixError(f"{action}: node '{path}' not found{where} (was it removed or renamed?)")
    return body, local


def _body(graph: Graph, block_path: str) -> Graph:
    body = graph
    for block in block_path.split("/"):
        inner = body.node(block).body
        if inner is None:
            raise GraphError(f"'{block}' is not a block")
        body = inner
    return body


def _scoped(path: str, edits: list[Edit]) -> list[Edit]:
    """Edits for a node inside blocks run in that block's body."""
    if "/" not in path:
        return edits
    block = path.rsplit("/", 1)[0]
    return [InBlock(block, edit, label=edit.label) for edit in edits]


def _layer(args: dict[str, Any], action: str, node: str) -> LayerDef:
    type_name = args.get("type")
    layer = catalog().find(type_name) if isinstance(type_name, str) else None
    if layer is None:
        raise FixError(f"{action} on '{node}': unknown layer type {type_name!r} (see `neuralforge layers`)")
    return layer


def _first_output(graph: Graph, node: Node) -> str:
    layer = catalog().find(node.type)
    outs = node_ports(node, layer, node_params(node))[1] if layer is not None else []
    used = [e.src_port for e in graph.outgoing(node.id)]
    if outs:
        return outs[0].name
    if used:
        return used[0]
    raise FixError(f"insert_after: '{node.id}' has no output to insert after")


def _between(graph: Graph, anchor: Node, users: list[Edge]) -> tuple[float, float]:
    """Halfway to the first node it feeds (else a step to the right and down), so the new layer is visible."""
    x, y = anchor.position
    if users:
        tx, ty = graph.node(users[0].dst).position
        return (x + tx) / 2, (y + ty) / 2 + 60.0
    return x + 120.0, y + 60.0


def _port_map(old: list[PortSpec], new: list[PortSpec]) -> dict[str, str]:
    """Old port name → new port name: the same name where the new type has it, else by position."""
    new_names = [p.name for p in new]
    mapping: dict[str, str] = {}
    for i, port in enumerate(old):
        if port.name in new_names:
            mapping[port.name] = port.name
        elif i < len(new_names):
            mapping[port.name] = new_names[i]
    return mapping


def _renamed(mapping: dict[str, str], port: str, path: str, type_name: str) -> str:
    if port not in mapping:
        raise FixError(f"'{path}' is connected at port '{port}', which a {type_name} does not have")
    return mapping[port]


def _check_shapes(graph: Graph, fix: Fix) -> None:
    errors = ShapeInference(graph).run().errors
    if errors:
        where = fix.args.get("node") or "the loss"
        raise FixError(f"{fix.action} on '{where}': the fixed graph does not infer shapes: {errors[0].message}")


def _loss_nodes(graph: Graph) -> list[Node]:
    cat = catalog()
    return [n for n in graph if (layer := cat.find(n.type)) is not None and layer.is_loss]


def _loss_types() -> list[str]:
    return [layer.type for layer in catalog() if layer.is_loss]


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1].lower() in "aeiou" else f"a {type_name}"
