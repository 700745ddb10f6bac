"""Components: named, reusable blocks with a small table of exposed parameters.

A :class:`Component` is a block body (a :class:`Graph` whose ``Input``/``Output`` nodes are the block's
ports) plus :class:`ExposedParam` entries. An exposed parameter (``width``) sets one or more inner node
params (``conv1.out_channels``, ``down/conv.out_channels``: a ``/``-separated path into nested blocks, then
the param). Instantiating with ``width=64`` copies the body and writes 64 into each target.

Built-in components also carry a ``builder``: some of their structure depends on what they are connected to
(a residual block needs a 1×1 projection only when its width differs from the incoming channel count; a
squeeze-and-excitation gate must give back as many channels as it received). Shape inference adapts every
``in_channels``/``d_model`` by itself, but not a choice of structure, so such components are built for the
input shape at insertion time. Targets that name a node the builder left out (no projection needed) are
skipped for built-ins; a user component's targets must all exist, checked when it is saved or loaded.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.catalog.node_params import is_data_input
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.edit.edits import AddNode
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, Edge, Graph, Node
from neuralforge_desktop.core.ir.naming import unique_id

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
Shape = list[int | str]  # one input's shape without the batch dimension
Builder = Callable[[Mapping[str, Any], Sequence[Shape]], Graph]


class ComponentError(UserError):
    """A component that cannot be made, saved, loaded or instantiated; the message says which and why."""


@dataclass(frozen=True)
class ExposedParam:
    """One knob of a component. ``targets`` are ``path.param`` strings; empty only for a built-in's
    structural knob, which its builder reads instead (``expand`` of an inverted residual)."""

    name: str
    default: Any
    targets: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Component:
    name: str
    title: str
    description: str
    body: Graph
    params: tuple[ExposedParam, ...] = ()
    builder: Builder | None = None
    example_inputs: tuple[Shape, ...] = field(default_factory=tuple)
    builtin: bool = False
    # Defaults that follow the input (a residual block keeps the incoming width unless told otherwise).
    adapt: Callable[[Sequence[Shape]], dict[str, Any]] | None = None

    def param(self, name: str) -> ExposedParam:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise ComponentError(f"component {self.name!r} has no parameter {name!r} (it has: {known})")

    def defaults(self) -> dict[str, Any]:
        return {p.name: copy.deepcopy(p.default) for p in self.params}

    def input_names(self) -> list[str]:
        return [n.id for n in self.body.input_nodes if is_data_input(n)]


def split_target(target: str) -> tuple[list[str], str]:
    """``"down/conv.out_channels"`` → (["down", "conv"], "out_channels")."""
    path, dot, param = target.rpartition(".")
    if not dot or not path or not param:
        raise ComponentError(f"target {target!r}: expected NODE.PARAM (a nested node as BLOCK/NODE.PARAM)")
    return path.split("/"), param


def find_target(body: Graph, target: str) -> tuple[Node | None, str]:
    """The node a target names (None when absent) and the param name."""
    path, param = split_target(target)
    graph: Graph | None = body
    node: Node | None = None
    for part in path:
        if graph is None or part not in graph.nodes:
            return None, param
        node = graph.nodes[part]
        graph = node.body
    return node, param


def check_targets(body: Graph, params: Sequence[ExposedParam], where: str) -> None:
    """Every target names an existing node and a param its layer has (``repeat`` on a block)."""
    seen: set[str] = set()
    for p in params:
        if not isinstance(p.name, str) or not PARAM_NAME.fullmatch(p.name):
            raise ComponentError(f"{where}: parameter name {str(p.name)[:40]!r} must be a word of letters, digits "
                                 "and '_' (such as width or num_heads)")
        if p.name in seen:
            raise ComponentError(f"{where}: parameter {p.name!r} is listed twice")
        seen.add(p.name)
        if not p.targets:
            raise ComponentError(f"{where}: parameter {p.name!r} sets nothing (give it NODE.PARAM targets)")
        for target in p.targets:
            node, param = find_target(body, target)
            if node is None:
                raise ComponentError(f"{where}: parameter {p.name!r} targets {target!r}, but there is no such "
                                     "node in the block")
            _check_param_name(node, param, f"{where}: parameter {p.name!r} target {target!r}")


def _check_param_name(node: Node, param: str, where: str) -> None:
    if node.type == BLOCK:
        if param != "repeat":
            raise ComponentError(f"{where}: a block has only the param 'repeat'")
        return
    layer = catalog().find(node.type)
    if layer is None:
        raise ComponentError(f"{where}: unknown layer type {node.type!r}")
    names = {spec.name for spec in layer.params}
    if param not in names:
        raise ComponentError(f"{where}: {node.type} has no param {param!r} (it has: {', '.join(sorted(names))})")


def _check_value(node: Node, param: str, value: Any, where: str) -> None:
    """The value must be valid for the param it lands in: the catalog's own validation decides."""
    if node.type == BLOCK:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ComponentError(f"{where}: repeat must be a whole number ≥ 1, got {value!r}")
        return
    layer = catalog().find(node.type)
    if layer is None:
        return
    _, errors = layer.validate_params({**node.params, param: value})
    for err in errors:
        if err.field == param:
            raise ComponentError(f"{where}: {err.message}")


def resolve_values(component: Component, values: Mapping[str, Any] | None = None,
                   input_shapes: Sequence[Sequence[int | str]] | None = None) -> dict[str, Any]:
    """Every exposed parameter's value: the given one, else the input-following default, else the default."""
    chosen = component.defaults()
    shapes: list[Shape] = [list(s) for s in (input_shapes or ())]
    if component.adapt is not None and shapes:
        chosen.update(component.adapt(shapes))
    for name, value in (values or {}).items():
        component.param(name)  # unknown names are refused, not ignored: a typo must not pass silently
        chosen[name] = value
    return chosen


def instantiate(component: Component, values: Mapping[str, Any] | None = None,
                input_shapes: Sequence[Sequence[int | str]] | None = None) -> Graph:
    """A fresh block body with ``values`` (others at their defaults) written into the targets.

    ``input_shapes`` are the shapes (without batch) arriving at the block's inputs, in order; a built-in
    builds its structure for them, a user component records them on its ``Input`` nodes. Missing shapes
    fall back to the component's example inputs.
    """
    chosen = resolve_values(component, values, input_shapes)
    shapes: list[Shape] = [list(s) for s in (input_shapes or ())]
    examples = [list(s) for s in component.example_inputs]
    shapes += examples[len(shapes):]
    if component.builder is not None:
        body = component.builder(chosen, shapes)
    else:
        body = component.body.copy()
        inputs = [n for n in body.input_nodes if is_data_input(n)]
        for input_node, shape in zip(inputs, shapes, strict=False):
            input_node.params["shape"] = list(shape)
    body.name = component.name
    for p in component.params:
        for target in p.targets:
            node, param = find_target(body, target)
            if node is None:
                if component.builtin:
                    continue  # the builder left this part out for these inputs (see the module docstring)
                raise ComponentError(f"component {component.name!r}: target {target!r} is missing")
            where = f"{component.name}: {p.name}={chosen[p.name]!r} → {target}"
            _check_value(node, param, chosen[p.name], where)
            node.params[param] = copy.deepcopy(chosen[p.name])
    return body


def block_node(graph: Graph, component: Component, body: Graph, position: tuple[float, float],
               values: Mapping[str, Any] | None = None) -> Node:
    """A Block node holding ``body`` under a fresh id named after the component; its notes say where it
    came from and with which values (``values`` as :func:`resolve_values` gives them), so a shared graph
    still tells the reader."""
    node_id = unique_id(component.name, graph.nodes)
    chosen = {**component.defaults(), **(values or {})}
    settings = ", ".join(f"{k}={v}" for k, v in chosen.items())
    notes = f"component {component.name}" + (f" ({settings})" if settings else "")
    return Node(node_id, BLOCK, {"repeat": 1}, position=position, body=body, label=component.title, notes=notes)


def insert_edit(graph: Graph, component: Component, position: tuple[float, float], *,
                values: Mapping[str, Any] | None = None, source: tuple[str, str] | None = None,
                input_shapes: Sequence[Sequence[int | str]] | None = None) -> AddNode:
    """One undoable edit adding the component as a Block at ``position``, wired from ``source`` (a node's
    output port) into its first input when given."""
    body = instantiate(component, values, input_shapes)
    node = block_node(graph, component, body, position, resolve_values(component, values, input_shapes))
    edges: tuple[Edge, ...] = ()
    inputs = [n.id for n in body.input_nodes if is_data_input(n)]
    if source is not None and inputs:
        edges = (Edge(source[0], source[1], node.id, inputs[0]),)
    return AddNode(node, edges, label=f"Insert {component.title}")


def from_block(block: Node, name: str, params: Sequence[ExposedParam], *, title: str = "",
               description: str = "") -> Component:
    """A user component from a Block node: its body, with ``params`` checked against it."""
    if block.type != BLOCK or block.body is None:
        raise ComponentError(f"'{block.id}' is a {block.type}, not a block; group the layers into a block first")
    body = block.body.copy()
    body.name = name
    inputs = [n for n in body.input_nodes if n.type == INPUT]
    if not inputs or not body.output_nodes:
        raise ComponentError(f"block '{block.id}' needs at least one input and one output to be a component")
    check_targets(body, params, f"component {name!r}")
    return Component(name, title or block.label or name, description, body, tuple(params),
                     example_inputs=tuple(list(n.params.get("shape", [])) for n in inputs if is_data_input(n)))


def parse_expose(specs: Sequence[str]) -> list[tuple[str, tuple[str, ...], Any]]:
    """``["width=conv1.out_channels,conv2.out_channels", "heads=attn.num_heads:4"]`` → (name, targets,
    default or None). The default after ``:`` is read as JSON (so ``4``, ``0.1``, ``true``, ``"gelu"``)."""
    import json

    found = []
    for spec in specs:
        name, eq, rest = spec.partition("=")
        if not eq or not name.strip() or not rest.strip():
            raise ComponentError(f"--expose {spec!r}: expected NAME=NODE.PARAM[,NODE.PARAM…][:DEFAULT]")
        targets_text, colon, default_text = rest.partition(":")
        default: Any = None
        if colon:
            try:
                default = json.loads(default_text)
            except ValueError:
                default = default_text  # a bare word such as gelu
        targets = tuple(t.strip() for t in targets_text.split(",") if t.strip())
        found.append((name.strip(), targets, default))
    return found


def exposed_with_defaults(body: Graph, specs: Sequence[tuple[str, tuple[str, ...], Any]]) -> list[ExposedParam]:
    """Exposed params whose default, when not given, is the first target's current value."""
    params = []
    for name, targets, default in specs:
        if default is None and targets:
            node, param = find_target(body, targets[0])
            if node is None:
                raise ComponentError(f"parameter {name!r} targets {targets[0]!r}, but there is no such node")
            default = node.params.get(param)
            if default is None and node.type != BLOCK:
                layer = catalog().find(node.type)
                spec = next((s for s in layer.params if s.name == param), None) if layer else None
                default = spec.default if spec is not None else None
        params.append(ExposedParam(name, default, targets))
    return params


def source_output(graph: Graph, shapes: Any, source: str | None) -> tuple[tuple[str, str] | None, Shape | None]:
    """The output of ``source`` a new block would be wired from (its first free output, else its first, as
    the canvas's auto-connect picks) and that output's inferred shape without the batch dimension."""
    from neuralforge_desktop.core.analysis.shapes import node_ports

    if source is None or source not in graph.nodes:
        return None, None
    node = graph.nodes[source]
    layer = catalog().find(node.type)
    outs = node_ports(node, layer, layer.validate_params(node.params)[0] if layer else {})[1]
    if not outs:
        return None, None
    used = {e.src_port for e in graph.outgoing(source)}
    port = next((p.name for p in outs if p.name not in used), outs[0].name)
    spec = shapes.spec(source, port) if shapes is not None else None
    if spec is None:
        return (source, port), None
    dims = list(spec.shape)
    return (source, port), dims[1:] if dims and dims[0] == "N" else dims


def candidate_targets(body: Graph) -> list[tuple[str, Any]]:
    """Every ``NODE.PARAM`` of the body's layers (nested blocks as ``BLOCK/NODE.PARAM``) with its current
    value (or default): what a user may expose. Inputs and outputs have no params worth exposing."""
    found: list[tuple[str, Any]] = []
    for path, node in body.walk():
        if node.type in (INPUT, "Output"):
            continue
        if node.type == BLOCK:
            found.append((f"{path}.repeat", node.repeat))
            continue
        layer = catalog().find(node.type)
        if layer is None:
            continue
        for spec in layer.params:
            if spec.kind in ("int", "float", "bool", "choice", "int_or_tuple"):
                found.append((f"{path}.{spec.name}", node.params.get(spec.name, spec.default)))
    return found


def block_from_selection(graph: Graph, shapes: Any, ids: Sequence[str]) -> Node:
    """The selected block itself, or the selected layers grouped into a block on a copy of ``graph`` (the
    graph is not changed: saving a component is not an edit). Layers whose output feeds nothing outside the
    selection still get an Output, since a component without outputs would compute nothing."""
    from neuralforge_desktop.core.analysis.shapes import node_ports
    from neuralforge_desktop.core.edit.canvas_edits import group_edit
    from neuralforge_desktop.core.ir.graph import OUTPUT

    if len(ids) == 1 and ids[0] in graph.nodes and graph.nodes[ids[0]].is_block:
        return graph.nodes[ids[0]]
    scratch = graph.copy()
    edit = group_edit(scratch, shapes, ids)
    edit.apply(scratch)
    block = scratch.nodes[edit.block_id]
    body = block.body
    assert body is not None
    if not body.output_nodes:
        for node in list(body):
            if node.type == INPUT or body.outgoing(node.id):
                continue
            layer = catalog().find(node.type)
            outs = node_ports(node, layer, layer.validate_params(node.params)[0] if layer else {})[1]
            if outs:
                out_id = unique_id(f"out_{node.id}", body.nodes)
                body.add_node(OUTPUT, out_id, position=(node.position[0] + 220.0, node.position[1]))
                body.connect(node.id, outs[0].name, out_id, "x")
    return block
