"""What the model computes, decided once for both the code generator and the model builder.

A :class:`ModelPlan` lists, for one graph (and recursively for each block body), the steps of ``forward``:
which node, its module attribute, constructor arguments, the forward statement (rendered from the catalog's
template) and the variables it reads and writes. Generated source prints the plan; the builder executes it.
Losses, target inputs and everything fed by a target belong to training, not to the model; nodes whose
results reach no Output are left out (the linter warns about them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference, node_ports
from neuralforge_desktop.core.catalog.layer_memo import LayerMemo
from neuralforge_desktop.core.catalog.node_params import is_data_input, node_params
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.catalog.spec import LayerDef, Params, PortSpec
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph, Node
from neuralforge_desktop.core.ir.identifiers import graph_problems
from neuralforge_desktop.core.ir.naming import Namespace, camel_case
from neuralforge_desktop.core.ir.types import TensorSpec

# Attributes every nn.Module already has: a node id equal to one of these gets a suffix.
MODULE_RESERVED = frozenset({
    "forward", "training", "train", "eval", "to", "cuda", "cpu", "float", "double", "half", "bfloat16",
    "parameters", "named_parameters", "buffers", "named_buffers", "modules", "named_modules", "children",
    "named_children", "state_dict", "load_state_dict", "apply", "zero_grad", "register_buffer",
    "register_parameter", "register_module", "add_module", "get_submodule", "requires_grad_", "extra_repr",
    "type", "share_memory", "dump_patches", "call_super_init", "ipu", "xpu", "mtia", "compile",
})
LOCAL_RESERVED = frozenset({"self", "torch", "nn", "F", "math", "super", "causal_mask", "padding_mask"})
_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z_0-9]*)(?:\|([^}]*))?\}")
# ``{?port:text}``: text (placeholders allowed, one level of braces) kept only when ``port`` is connected.
_SECTION = re.compile(r"\{\?([A-Za-z_][A-Za-z_0-9]*):((?:[^{}]|\{[^{}]*\})*)\}")


class PlanError(UserError):
    """The graph cannot become a model; the message names the node."""


class GeneratedCodeError(Exception):
    """Code generation produced something that is not valid Python: our bug, never the user's.

    Deliberately not a :class:`UserError`, so that it is reported with its traceback rather than as advice.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"internal error in code generation: {detail}. Please report this, with the graph file.")


@dataclass
class Step:
    node: Node
    layer: LayerDef
    params: Params
    attr: str | None  # module attribute name, None for stateless ops
    inputs: list[str]  # variables read, in port order
    outputs: list[str]  # variables written, in output-port order
    statement: str  # forward statement with {self} rendered as ``self.<attr>`` / variables substituted
    module: str | None = None  # constructor expression head ("nn.Conv2d", helper or block class)
    init_args: list[tuple[str | None, Any]] = field(default_factory=list)  # (keyword or None, value)
    init_statement: str = ""  # run right after construction (``self.<attr>`` rendered), e.g. a custom init
    block: BlockPlan | None = None
    in_specs: dict[str, TensorSpec] = field(default_factory=dict)
    out_specs: dict[str, TensorSpec] = field(default_factory=dict)
    # What a template's placeholders stand for (port → variable or list of variables; "self" → the module
    # attribute) and the optional inputs nothing feeds: another framework's generator renders its own template.
    names: dict[str, str | list[str]] = field(default_factory=dict)
    unwired: list[str] = field(default_factory=list)


@dataclass
class BlockPlan:
    class_name: str
    plan: ModelPlan
    repeat: int
    sequential: bool  # one input and one output: nn.Sequential, else nn.ModuleList with a loop


@dataclass
class ModelPlan:
    graph: Graph
    class_name: str
    input_vars: list[str]
    input_nodes: list[Node]
    input_specs: list[TensorSpec]
    steps: list[Step]
    output_vars: list[str]
    output_nodes: list[Node]
    output_specs: list[TensorSpec]
    helpers: list[str]
    ties: list[tuple[str, str, str, str]]  # (attr, param, source attr, source param)
    blocks: list[BlockPlan]
    node_sources: list[str] = field(default_factory=list)  # helpers that came from the graph, not the catalog

    def uses(self, text: str) -> bool:
        return any(text in s.statement for s in self.all_steps()) or any(text in h for h in self.all_helpers())

    def all_steps(self) -> list[Step]:
        steps = list(self.steps)
        for b in self.blocks:
            steps.extend(b.plan.all_steps())
        return steps

    def all_node_sources(self) -> list[str]:
        found = list(self.node_sources)
        for b in self.blocks:
            found.extend(s for s in b.plan.all_node_sources() if s not in found)
        return found

    def all_helpers(self) -> list[str]:
        seen: dict[str, None] = {h: None for h in self.helpers}
        for b in self.blocks:
            for h in b.plan.all_helpers():
                seen.setdefault(h, None)
        return list(seen)


def helper_name(source: str) -> str:
    """The class or function a helper source defines (emitted only where a step uses it)."""
    match = re.search(r"^(?:class|def)\s+([A-Za-z_][A-Za-z_0-9]*)", source, re.MULTILINE)
    return match.group(1) if match else ""


def helper_names(source: str) -> list[str]:
    """Every top-level class and function a helper source defines: a custom layer's helper carries the
    functions its class calls before the class itself, and the step names only the class."""
    return re.findall(r"^(?:class|def)\s+([A-Za-z_][A-Za-z_0-9]*)", source, re.MULTILINE)


@functools.lru_cache(maxsize=1024)
def _parse_template(template: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """``"{y} = f({x})"`` → literal text and placeholders, parsed once per template (codegen runs per edit)."""
    parts: list[tuple[str, str | None, str | None]] = []
    last = 0
    for match in _TOKEN.finditer(template):
        parts.append((template[last:match.start()], match.group(1), match.group(2)))
        last = match.end()
    parts.append((template[last:], None, None))
    return tuple(parts)


def render(template: str, names: Mapping[str, str | list[str]], params: Mapping[str, Any],
           unwired: Collection[str] = ()) -> str:
    """Fill a forward template; a ``{?port:…}`` section is left out when ``port`` is in ``unwired`` (an
    optional input nothing feeds). Unknown placeholders are a catalog bug and raise ``KeyError``."""
    if "{?" in template:
        template = _SECTION.sub(lambda m: _section(m, names, unwired), template)
    out: list[str] = []
    for text, key, sep in _parse_template(template):
        out.append(text)
        if key is None:
            continue
        if key in names:
            value = names[key]
            out.append((sep if sep is not None else ", ").join(value) if isinstance(value, list) else value)
        elif key in params:
            out.append(literal(params[key]))
        else:
            raise KeyError(f"template placeholder {{{key}}} is neither a port nor a parameter")
    return "".join(out)


def _section(match: re.Match[str], names: Mapping[str, object], unwired: Collection[str]) -> str:
    port = match.group(1)
    if port not in names:
        raise KeyError(f"template section {{?{port}:…}} names no input port")
    return "" if port in unwired else match.group(2)


def literal(value: Any) -> str:
    """Python source for a parameter value (double-quoted strings, tuples for sequences).

    Only values with an exact literal form are accepted: text through JSON's escaping (every JSON string
    escape is also a Python one, so no value can end the string), numbers through ``repr`` (a non-finite
    float as ``float('inf')``: ``inf`` is no literal), and tuples of those. Anything else is a catalog bug.
    """
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        items = [literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise GeneratedCodeError(f"no Python literal for a {type(value).__name__} parameter value {value!r}")


def model_side(graph: Graph, shapes: ShapeInference, cat: Catalog) -> list[str]:
    """Node ids that belong to the model's forward pass, in topological order."""
    training_only: set[str] = set()
    for node in graph:
        layer = cat.find(node.type)
        if (node.type == INPUT and not is_data_input(node)) or (layer is not None and
                                                                                    layer.is_loss):
            training_only.add(node.id)
    training_only |= graph.descendants(list(training_only))
    feeds_output: set[str] = set()
    for out in graph.output_nodes:
        if out.id not in training_only:
            feeds_output.add(out.id)
    stack = list(feeds_output)
    while stack:
        nid = stack.pop()
        for p in graph.producers(nid):
            if p not in feeds_output:
                feeds_output.add(p)
                stack.append(p)
    data_inputs = {n.id for n in graph.input_nodes if n.id not in training_only}
    return [nid for nid in graph.topo_order()
            if nid not in training_only and (nid in feeds_output or nid in data_inputs)]


def plan_model(graph: Graph, shapes: ShapeInference | None = None, cat: Catalog | None = None,
               class_name: str | None = None, _classes: Namespace | None = None,
               _bodies: dict[str, BlockPlan] | None = None, reserved: frozenset[str] = frozenset()) -> ModelPlan:
    """Plan ``graph``'s forward pass. Raises :class:`PlanError` listing every shape error first.

    ``reserved``: more names no variable or class may take (the modules and helpers another framework's
    generated code uses).
    """
    cat = cat or catalog()
    for where, reason in graph_problems(graph, cat):  # again here: a graph built in code skips the file's check
        raise PlanError(f"graph {graph.name!r}: {where}: {reason}")
    shapes = shapes or ShapeInference(graph, cat).run()
    if shapes.errors:
        raise PlanError("the graph has errors:\n" + "\n".join(f"  {d.message}" for d in shapes.errors))
    classes = _classes or Namespace(LOCAL_RESERVED | reserved)
    bodies = _bodies if _bodies is not None else {}
    name = class_name or classes.name(camel_case(graph.name))
    attrs = Namespace(MODULE_RESERVED | LOCAL_RESERVED)
    variables = Namespace(LOCAL_RESERVED | reserved)
    env: dict[tuple[str, str], str] = {}
    plan = ModelPlan(graph, name, [], [], [], [], [], [], [], [], [], [])
    order = model_side(graph, shapes, cat)
    for nid in order:
        node = graph.nodes[nid]
        result = shapes.results[nid]
        if node.type == INPUT:
            var = variables.name(nid)
            env[(nid, "y")] = var
            plan.input_vars.append(var)
            plan.input_nodes.append(node)
            plan.input_specs.append(result.outputs["y"])
            continue
        if node.type == OUTPUT:
            edge = graph.edge_into(nid, "x")
            assert edge is not None
            plan.output_vars.append(env[(edge.src, edge.src_port)])
            plan.output_nodes.append(node)
            plan.output_specs.append(result.inputs["x"])
            continue
        layer = cat.get(node.type)
        params = result.params or Params()
        step = _plan_step(node, layer, params, result.inputs, result.outputs, graph, env, attrs, variables)
        if node.type == BLOCK:
            step.block = _plan_block(node, shapes, cat, classes, bodies, plan, reserved)
            step.module = step.block.class_name
            step.statement = _block_statement(step)
        else:
            call = layer.torch
            if call is None:
                raise PlanError(f"{layer.type} '{nid}' has no PyTorch form")
            used = step.statement + " " + (step.module or "")
            for helper in call.helpers:
                if helper not in plan.helpers and any(re.search(rf"\b{name}\b", used) for name in helper_names(helper)):
                    plan.helpers.append(helper)
            if call.source is not None:
                source = call.source(params)[1]
                if source and source not in plan.helpers:
                    plan.helpers.append(source)
                    plan.node_sources.append(source)
        step.in_specs, step.out_specs = dict(result.inputs), dict(result.outputs)
        plan.steps.append(step)
    attr_of = {s.node.id: s.attr for s in plan.steps if s.attr}
    for tie in graph.ties:
        if tie.node in attr_of and tie.source in attr_of:
            plan.ties.append((attr_of[tie.node], tie.param, attr_of[tie.source], tie.source_param))
    return plan


# Codegen runs per edit: whether a layer has variadic ports, and its ports expanded for each count, are
# remembered per definition (a re-registered type name gets fresh entries; collected definitions drop theirs).
_VARIADIC: LayerMemo[None, bool] = LayerMemo(limit=1)
_EXPANDED: LayerMemo[tuple[Any, ...], tuple[list[PortSpec], list[PortSpec]]] = LayerMemo(limit=64)


def _is_variadic(layer: LayerDef) -> bool:
    return _VARIADIC.get(layer, None, lambda: any(p.variadic for p in (*layer.inputs, *layer.outputs)))


def _ports(node: Node, layer: LayerDef, params: Params) -> tuple[list[PortSpec], list[PortSpec]]:
    """A node's ports; expansions of variadic ports are memoised per layer definition and count."""
    if node.type == BLOCK:
        return node_ports(node, layer, params)
    if not _is_variadic(layer):
        return list(layer.inputs), list(layer.outputs)
    counts = tuple(params.get(p.count_param) for p in (*layer.inputs, *layer.outputs) if p.variadic)
    found = _EXPANDED.get(layer, counts, lambda: node_ports(node, layer, params))
    return list(found[0]), list(found[1])


def _plan_step(node: Node, layer: LayerDef, params: Params, in_specs: Mapping[str, TensorSpec],
               out_specs: Mapping[str, TensorSpec], graph: Graph, env: dict[tuple[str, str], str],
               attrs: Namespace, variables: Namespace) -> Step:
    ins, outs = _ports(node, layer, params)
    names: dict[str, str | list[str]] = {}
    reads: list[str] = []
    incoming = graph.incoming(node.id)
    for port in ins:
        edge = incoming.get(port.name)
        if edge is not None:
            var = env[(edge.src, edge.src_port)]
            names[port.name] = var
            reads.append(var)
    unwired = [port.name for port in ins if port.name not in names]
    for port in ins:
        if port.name not in names:
            fallback = port.fallback
            names[port.name] = names.get(fallback, "None") if fallback else "None"
    writes: list[str] = []
    for i, port in enumerate(outs):
        var = variables.name(node.id if i == 0 else f"{node.id}_{port.name}")
        env[(node.id, port.name)] = var
        names[port.name] = var
        writes.append(var)
    if layer.torch is not None and _is_variadic(layer):
        for group in (layer.inputs, layer.outputs):
            for port in group:
                if port.variadic:
                    members = [p.name for p in (ins if group is layer.inputs else outs)
                               if p.name.startswith(port.name) and p.name[len(port.name):].isdigit()]
                    names[port.name] = [names[m] for m in members]  # type: ignore[misc]
    call = layer.torch
    has_module = node.type == BLOCK or (call is not None and (call.module is not None or call.source is not None))
    attr = attrs.name(node.id) if has_module else None
    if attr is not None:
        names["self"] = f"self.{attr}"
    statement = ""
    init_statement = ""
    init_args: list[tuple[str | None, Any]] = []
    module = None
    if call is not None and node.type != BLOCK:
        template = call.forward_template(params)
        statement = render(template, names, params, unwired) if template else ""
        if call.module is not None or call.source is not None:
            module = call.source(params)[0] if call.source is not None else call.module
            kwargs = call.init(params, in_specs) if call.init else {}
            for i, (key, value) in enumerate(kwargs.items()):
                if i >= call.positional and key in call.defaults and call.defaults[key] == value:
                    continue
                init_args.append((None if i < call.positional else key, value))
            after = call.after_init_template(params)
            init_statement = render(after, {"self": names["self"]}, params) if after else ""
    step = Step(node, layer, params, attr, reads, writes, statement, module, init_args, init_statement,
                names=names, unwired=unwired)
    return step


def _block_statement(step: Step) -> str:
    block = step.block
    assert block is not None
    call = f"self.{step.attr}"
    lhs = ", ".join(step.outputs)
    if block.sequential or block.repeat == 1:
        return f"{lhs} = {call}({', '.join(step.inputs)})"
    lines = [f"{lhs} = {', '.join(step.inputs)}", f"for layer in {call}:", f"    {lhs} = layer({lhs})"]
    return "\n".join(lines)


def _structure(graph: Graph) -> object:
    """What makes two bodies the same class: types, params, wiring and ties (not positions or notes)."""
    nodes = [(n.id, n.type, json.dumps(node_params(n), sort_keys=True, default=str), n.trainable,
              _structure(n.body) if n.body is not None else None) for n in graph]
    edges = sorted((e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges)
    return [nodes, edges, sorted((t.node, t.param, t.source, t.source_param) for t in graph.ties)]


def _body_key(graph: Graph, shapes: ShapeInference) -> str:
    specs = sorted((k, str(v), v.dtype.value) for k, v in shapes.graph_inputs().items())
    return hashlib.sha256(json.dumps([_structure(graph), specs], default=str).encode()).hexdigest()


def _plan_block(node: Node, shapes: ShapeInference, cat: Catalog, classes: Namespace,
                bodies: dict[str, BlockPlan], parent: ModelPlan, reserved: frozenset[str]) -> BlockPlan:
    result = shapes.results[node.id]
    body = node.body
    assert body is not None and result.body is not None
    if node.repeat > 1:
        ins = [n for n in body.input_nodes if is_data_input(n)]
        outs = body.output_nodes
        first = [result.inputs[n.id] for n in ins]
        last = [result.outputs.get(n.id) for n in outs]
        if first != last:
            raise PlanError(f"Block '{node.id}' repeats {node.repeat}× but its body changes the tensor "
                            f"({', '.join(map(str, first))} → {', '.join(map(str, last))}); split it into blocks")
    # The block's own inference of its body: with repeat > 1 the check above guarantees every copy saw these inputs.
    inner_shapes = result.body
    key = _body_key(body, inner_shapes)
    block = bodies.get(key)
    if block is None:
        # The body's own name ("basic-block") reads better than the node id ("blocks") when it has one.
        generic = body.name in {"", "model", "body", "block", node.id}
        class_name = classes.name(camel_case(node.id if generic else body.name))
        inner = plan_model(body, inner_shapes, cat, class_name, classes, bodies, reserved)
        block = BlockPlan(class_name, inner, node.repeat, len(inner.input_vars) == 1 and
                          len(inner.output_vars) == 1)
        bodies[key] = block
    block = BlockPlan(block.class_name, block.plan, node.repeat, block.sequential)
    parent.blocks.append(block)
    return block
