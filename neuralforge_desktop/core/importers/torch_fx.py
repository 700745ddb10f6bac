"""PyTorch module → NeuralForge graph, by tracing with torch.fx, one module level at a time.

Each level is traced with its direct submodules as leaves and run on real inputs (the values every node had
are what shapes, dtypes and the pattern rules read). A submodule the catalog constructs becomes that layer; a
container or a module of the user's becomes a Block whose body is the same conversion one level down; what
cannot be traced or mapped becomes a custom-code node with the reason. Consecutive identical blocks fold into
one Block with a repeat count. ``keymap`` records where each original weight goes in the generated code.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from typing import Any

from neuralforge_desktop.core.catalog.custom_code import TYPE as CUSTOM
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.codegen.plan import LOCAL_RESERVED, MODULE_RESERVED
from neuralforge_desktop.core.importers import custom
from neuralforge_desktop.core.importers.template_match import Match, helper_functions, match_template
from neuralforge_desktop.core.importers.torch_functions import map_call
from neuralforge_desktop.core.importers.torch_modules import ModuleMapper, plain_params
from neuralforge_desktop.core.ir.graph import BLOCK, INPUT, OUTPUT, Graph
from neuralforge_desktop.core.ir.layout import layered_layout
from neuralforge_desktop.core.ir.naming import sanitize
from neuralforge_desktop.core.ir.serialize import graph_to_dict
from neuralforge_desktop.core.ir.types import BATCH, DType, TensorSpec

_RESERVED = frozenset(MODULE_RESERVED | LOCAL_RESERVED | {"input", "type", "id", "object", "list"})


class NotGraphable(Exception):
    """This module level cannot be a graph (the message says why); its parent keeps it as custom code."""


@dataclass
class Converted:
    graph: Graph
    keymap: dict[str, str] = field(default_factory=dict)  # original module path → attribute path, for weights
    custom: list[tuple[str, str]] = field(default_factory=list)  # (node path, why it is custom code)
    mapped: int = 0
    folded: int = 0
    sources: list[str] = field(default_factory=list)  # custom code carried, for the user's trust
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (node, node whose weights it shares)
    exported: list[tuple[str, str]] = field(default_factory=list)  # levels torch.export traced: (path, fx failure)


def _spec(t: Any) -> TensorSpec:
    return TensorSpec((BATCH, *t.shape[1:]), DType(str(t.dtype).removeprefix("torch.")))


class ImportContext:
    def __init__(self, cat: Catalog, namespace: dict[str, Any]) -> None:
        self.cat = cat
        self.mapper = ModuleMapper(cat)
        self.namespace = namespace
        self.class_names: dict[str, str] = {}  # custom class source → the unique class name it got
        # What each submodule returned when the whole model ran once (modules called once only): each level
        # replays these instead of computing its submodules again, so a model runs once, not once per level.
        self.recorded: dict[int, Any] = {}

    def class_name(self, base: str, source_key: str) -> str:
        if source_key in self.class_names:
            return self.class_names[source_key]
        taken = set(self.class_names.values())
        name, i = base, 1
        while name in taken:
            i += 1
            name = f"{base}{i}"
        self.class_names[source_key] = name
        return name


def _tracer(autowrap: tuple[Any, ...] = ()) -> Any:
    from torch import fx

    class LevelTracer(fx.Tracer):
        """Direct submodules (and items of containers, ``self.blocks[0]``) are leaves: one level per trace."""

        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return True

    return LevelTracer(autowrap_functions=autowrap)


def _trace(module: Any, autowrap: tuple[Any, ...] = ()) -> Any:
    try:
        return _tracer(autowrap).trace(module)
    except Exception as exc:
        raise NotGraphable(f"torch.fx cannot trace its forward ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def _run(module: Any, graph: Any, inputs: list[Any], recorded: dict[int, Any]) -> dict[Any, Any]:
    from torch import fx

    class Replay(fx.Interpreter):
        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            found = recorded.get(id(self.fetch_attr(target)))
            return found if found is not None else super().call_module(target, args, kwargs)

    # the module itself, not an fx.GraphModule: a submodule called ``code`` or ``graph`` would clash with those
    interp = Replay(module, garbage_collect_values=False, graph=graph)
    try:
        interp.run(*inputs)
    except Exception as exc:
        raise NotGraphable(f"its traced forward fails ({type(exc).__name__}: {exc})") from None
    for node, value in interp.env.items():
        node.meta["nf_value"] = value
    return interp.env


class ModuleLevel:
    """Converts one traced module level."""

    def __init__(self, ctx: ImportContext, module: Any, name: str, inputs: list[Any], path: str) -> None:
        self.ctx, self.module, self.path = ctx, module, path
        self.out = Converted(Graph(name))
        from neuralforge_desktop.core.importers.torch_export import trace_level  # it imports this module

        # self.exported: why torch.fx failed, when torch.export traced this level instead
        self.fx_graph, self.exported = trace_level(module, helper_functions(ctx.cat, module), inputs, ctx.recorded)
        self.out.exported += [(path.removesuffix("."), self.exported)] if self.exported else []
        self.values = _run(module, self.fx_graph, inputs, ctx.recorded)
        self.refs: dict[Any, Any] = {}  # fx node → (graph node id, port), or a tuple of those
        self.add_users: dict[str, int] = {}

    def value(self, n: Any) -> Any:
        return self.values.get(n)

    def new_id(self, base: str) -> str:
        base = sanitize(base.replace(".", "_"))
        if base in _RESERVED:
            base += "_"
        return self.out.graph.new_id(base)

    def convert(self) -> Converted:
        import torch

        self.plans = {n: plan for n in self.fx_graph.nodes if n.op == "call_module"
                      if (plan := self._plan_module(n)) is not None}
        covered = {c for plan in self.plans.values() for c in plan[2].covered}
        for n in self.fx_graph.nodes:
            v = self.value(n)
            if n in covered:
                continue
            if n.op == "placeholder":
                if isinstance(v, torch.Tensor):
                    self._input(n, v)
            elif n.op == "output":
                self._outputs(n.args[0])
            elif n.op == "get_attr":
                raise NotGraphable(f"its forward uses the tensor self.{n.target} directly")
            elif n.op == "call_module":
                self._module(n)
            elif self._resolve_getitem(n):
                continue
            elif isinstance(v, torch.Tensor) or _tensors_in(v):
                self._function(n)
        fold_repeats(self.out)
        layered_layout(self.out.graph)
        return self.out

    # -- nodes --------------------------------------------------------------------------------------------
    def _input(self, n: Any, v: Any) -> None:
        node_id = self.new_id(n.target)
        self.out.graph.add_node(INPUT, node_id, {"shape": list(v.shape[1:]), "dtype": _spec(v).dtype.value})
        self.refs[n] = (node_id, "y")

    def _outputs(self, result: Any) -> None:
        import torch

        flat = flatten(result)
        for i, item in enumerate(flat):
            if not isinstance(self.value(item), torch.Tensor) or item not in self.refs:
                raise NotGraphable("its forward returns something other than tensors")
            node_id = self.new_id("output" if len(flat) == 1 else f"output{i}")
            self.out.graph.add_node(OUTPUT, node_id)
            self._connect(self.refs[item], node_id, "x")

    def _connect(self, ref: Any, dst: str, port: str) -> None:
        if not isinstance(ref, tuple) or len(ref) != 2 or not isinstance(ref[0], str):
            raise NotGraphable("a tuple result is used as a tensor")
        self.out.graph.connect(ref[0], ref[1], dst, port)

    def _resolve_getitem(self, n: Any) -> bool:
        """``out[0]`` of a multi-output node: a port, not a node."""
        if n.op != "call_function" or n.target is not operator.getitem:
            return False
        src, index = n.args
        ref = self.refs.get(src)
        if isinstance(ref, list) and isinstance(index, int) and -len(ref) <= index < len(ref):
            self.refs[n] = ref[index]
            return True
        return False

    def _module(self, n: Any) -> None:
        import torch
        from torch import nn

        original = self.module.get_submodule(n.target)
        args = [a for a in n.args]
        if n in self.plans:
            self._catalog_module(n, original, args, [])
            return
        tensors_only = all(isinstance(self.value(a), torch.Tensor) for a in args) and args
        if tensors_only and not n.kwargs:
            specs = [_spec(self.value(a)) for a in args]
            found = self._catalog_module(n, original, args, specs)
            if found:
                return
            is_user = not type(original).__module__.startswith("torch.") or isinstance(
                original, nn.Sequential | nn.ModuleList | nn.ModuleDict)
            if is_user:
                try:
                    self._block(n, original, args)
                    return
                except NotGraphable as exc:
                    reason = str(exc)
            elif any(c.is_loss for c in self.ctx.mapper.candidates(original)):
                reason = "a loss inside forward (the catalog's losses end a training graph), kept as code"
            else:
                reason = f"{type(original).__name__} is not in the layer catalog"
        else:
            reason = "it is called with arguments other than tensors"
        self._custom_module(n, original, args, reason)

    def _plan_module(self, n: Any) -> tuple[str, dict[str, Any], Match] | None:
        """The catalog layer this call is, with its params and how the call's arguments feed its ports."""
        import torch

        module = self.module.get_submodule(n.target)
        mapper = self.ctx.mapper
        for layer in mapper.candidates(module):
            if layer.is_loss:  # a loss ends a training graph, not the model's forward: kept as code
                continue
            defaults = layer.validate_params(layer.default_params())[0]
            first = next((m for v in _flips(layer, defaults) if (m := match_template(layer, v, n)) is not None), None)
            if first is None or not all(isinstance(self.value(a), torch.Tensor) for a in first.ports.values()):
                continue
            specs = {port: _spec(self.value(a)) for port, a in first.ports.items()}
            found = mapper.map(module, specs)
            if found is None:
                continue
            params = layer.validate_params(found[1])[0]
            for variant in _flips(layer, params):
                if variant is not params and not mapper.same(layer, dict(variant), specs, module):
                    continue
                matched = match_template(layer, variant, n)
                if matched is not None:
                    return layer.type, plain_params(layer, dict(variant)), matched
        return None

    def _catalog_module(self, n: Any, module: Any, args: list[Any], specs: list[TensorSpec]) -> bool:
        plan = self.plans.get(n)
        if plan is not None:
            type_name, params, matched = plan
            node_id = self.new_id(_attr_name(n.target, type_name))
            self.out.graph.add_node(type_name, node_id, params)
            for port, a in matched.ports.items():
                self._connect(self.refs[a], node_id, port)
            refs = _shape_refs(node_id, matched.outputs)
            self.refs[n] = refs if matched.index is None else [None] * matched.index + [refs]
            self._keys(n.target, node_id)
            self.out.mapped += 1
            return True
        alias = _module_alias(module)
        if alias is not None:
            type_name, params = alias
            node_id = self.new_id(_attr_name(n.target, type_name))
            self.out.graph.add_node(type_name, node_id, params)
            self._connect(self.refs[args[0]], node_id, "x")
            self.refs[n] = (node_id, "y")
            self.out.mapped += 1
            return True
        return False

    def _keys(self, original: str, node_id: str) -> None:
        first = self.out.keymap.get(original)
        if first is not None and "." not in first:
            # the same module called again: a second node sharing the first one's weights
            module = self.module.get_submodule(original)
            for name, _ in module.named_parameters(recurse=False):
                self.out.graph.tie(node_id, name, first, name)
            self.out.aliases.append((node_id, first))
            return
        self.out.keymap[original] = node_id

    def _block(self, n: Any, module: Any, args: list[Any]) -> None:
        from torch import nn

        level = ModuleLevel(self.ctx, module, type(module).__name__, [self.value(a) for a in args],
                       f"{self.path}{n.target}.")
        child = level.convert()
        node_id = self.new_id(_attr_name(n.target, type(module).__name__))
        body, repeat = child.graph, 1
        inner = _only_block(body)
        if isinstance(module, nn.Sequential) and inner is not None:
            # nn.Sequential(*[Block() for _ in range(k)]): the repeated block itself, under the container's name
            prefix = f"{inner.id}."
            child.keymap = {k: v.removeprefix(prefix) for k, v in child.keymap.items()}
            child.custom = [(w.removeprefix(inner.id + "/"), why) for w, why in child.custom]
            assert inner.body is not None
            body, repeat = inner.body, inner.repeat
        self.out.graph.add_node(BLOCK, node_id, {"repeat": repeat}, body=body)
        data_inputs = [node.id for node in body.input_nodes]
        for port, a in zip(data_inputs, args, strict=False):
            self._connect(self.refs[a], node_id, port)
        outs = [node.id for node in body.output_nodes]
        self.refs[n] = (node_id, outs[0]) if len(outs) == 1 else [(node_id, o) for o in outs]
        for original, new in child.keymap.items():
            self.out.keymap[f"{n.target}.{original}"] = f"{node_id}.{new}"
        self.out.custom.extend((f"{node_id}/{where}", why) for where, why in child.custom)
        self.out.sources.extend(child.sources)
        self.out.exported.extend(child.exported)
        self.out.aliases.extend((f"{node_id}.{a}", f"{node_id}.{b}") for a, b in child.aliases)
        self.out.mapped += child.mapped
        self.out.folded += child.folded

    def _custom_module(self, n: Any, original: Any, args: list[Any], reason: str) -> None:
        import torch

        if not all(isinstance(self.value(a), torch.Tensor) for a in args) or n.kwargs:
            raise NotGraphable(f"{n.target} is called with arguments other than tensors")
        cls = type(original)
        from torch import nn

        try:
            if cls.__module__.startswith("torch.") and getattr(nn, cls.__name__, None) is cls:
                source, name = "", f"nn.{cls.__name__}"  # a torch class: constructed, nothing carried
                kwargs = custom.init_kwargs(original)
            elif cls.__module__.startswith("torch."):
                raise custom.NotReproducible(f"{cls.__name__} is not in the layer catalog")
            else:
                source, name, kwargs = self._class_source(cls, original)
        except custom.NotReproducible as exc:
            raise NotGraphable(f"{n.target}: {reason}; it cannot be kept as code either: {exc}") from None
        inputs = [self.value(a) for a in args]
        outputs = flatten(self.value(n))
        measured = custom.measure(original, inputs, outputs)
        node_id = self.new_id(_attr_name(n.target, cls.__name__))
        self._custom_node(node_id, name, source, kwargs, measured, reason, len(inputs), len(outputs))
        for port, a in enumerate(args):
            self._connect(self.refs[a], node_id, f"x{port}")
        self.refs[n] = (node_id, "y0") if len(outputs) == 1 and _is_tensor(self.value(n)) else \
            [(node_id, f"y{i}") for i in range(len(outputs))]
        self._keys(n.target, node_id)

    def _class_source(self, cls: type, original: Any) -> tuple[str, str, dict[str, Any]]:
        import sys

        home = sys.modules.get(cls.__module__)
        namespace = vars(home) if home is not None else self.ctx.namespace
        source = custom.closure_source(cls, namespace)
        kwargs = custom.init_kwargs(original)
        name = self.ctx.class_name(cls.__name__, source)
        return custom.rename_class(source, cls.__name__, name), name, kwargs

    def _custom_node(self, node_id: str, class_name: str, source: str, kwargs: dict[str, Any],
                     measured: dict[str, Any], reason: str, n_in: int, n_out: int) -> None:
        self.out.graph.add_node(CUSTOM, node_id, {
            "class_name": class_name, "source": source, "init_kwargs": json.dumps(kwargs),
            "num_inputs": n_in, "num_outputs": n_out, "measured": json.dumps(measured)}, notes=reason)
        self.out.custom.append((node_id, reason))
        if source:
            self.out.sources.append(source)

    def _function(self, n: Any) -> None:
        mapped = map_call(n, self.value)
        if mapped is not None and all(a in self.refs and isinstance(self.refs[a], tuple) for a in mapped.inputs):
            if self._extend_sum(n, mapped):
                return
            node_id = self.new_id(mapped.type.lower())
            self.out.graph.add_node(mapped.type, node_id, mapped.params)
            layer = self.ctx.cat.get(mapped.type)
            params = layer.validate_params(mapped.params)[0]
            ports = [p.name for p in layer.input_ports(params)]
            for port, a in zip(ports, mapped.inputs, strict=False):
                self._connect(self.refs[a], node_id, port)
            outs = [p.name for p in layer.output_ports(params)]
            self.refs[n] = (node_id, outs[0]) if len(outs) == 1 else [(node_id, o) for o in outs]
            if mapped.type in ("Add", "Multiply"):
                self.add_users[node_id] = len(n.users)
            self.out.mapped += 1
            return
        if self.exported is not None:  # an exported level is a graph entirely, or custom code as a whole
            raise NotGraphable(f"{self.exported}; torch.export traced it, but no catalog layer does {_describe(n)}")
        self._custom_function(n, "no catalog layer does " + _describe(n))

    def _extend_sum(self, n: Any, mapped: Any) -> bool:
        """``a + b + c`` traces as two additions; the catalog's Add takes all three (as generated code writes)."""
        if mapped.type not in ("Add", "Multiply"):
            return False
        first = self.refs.get(mapped.inputs[0])
        if not isinstance(first, tuple) or self.add_users.get(first[0]) != 1:
            return False
        node = self.out.graph.node(first[0])
        if node.type != mapped.type:
            return False
        count = int(node.params.get("num_inputs", 2))
        self.out.graph.set_param(node.id, "num_inputs", count + 1)
        self._connect(self.refs[mapped.inputs[1]], node.id, f"x{count}")
        self.add_users[node.id] = len(n.users)
        self.refs[n] = first
        return True

    def _custom_function(self, n: Any, reason: str) -> None:
        base = sanitize(str(getattr(n.target, "__name__", n.target)))
        class_name = "".join(part.capitalize() for part in base.split("_") if part) or "Op"
        try:
            source, tensor_args = custom.function_module_source(n, "Custom" + class_name)
        except custom.NotReproducible as exc:
            raise NotGraphable(f"{_describe(n)}: {exc}") from None
        name = self.ctx.class_name("Custom" + class_name, source)
        source = custom.rename_class(source, "Custom" + class_name, name)
        namespace: dict[str, Any] = {}
        import math

        import torch
        from torch import nn
        from torch.nn import functional

        namespace.update(torch=torch, nn=nn, F=functional, math=math)
        exec(compile(source, "<imported code>", "exec"), namespace)  # trusted: the user's own code, being imported
        module = namespace[name]()
        inputs = [self.value(a) for a in tensor_args]
        outputs = flatten(self.value(n))
        measured = custom.measure(module, inputs, outputs)
        node_id = self.new_id(base)
        self._custom_node(node_id, name, source, {}, measured, reason, len(inputs), len(outputs))
        for port, a in enumerate(tensor_args):
            if a not in self.refs or not isinstance(self.refs[a], tuple):
                raise NotGraphable(f"{_describe(n)} takes a value NeuralForge cannot follow")
            self._connect(self.refs[a], node_id, f"x{port}")
        self.refs[n] = (node_id, "y0") if _is_tensor(self.value(n)) else \
            [(node_id, f"y{i}") for i in range(len(outputs))]


def _flips(layer: Any, params: Any) -> list[Any]:
    """``params`` and each variant with one bool flipped: forward-only flags (``causal``) no module records."""
    variants = [params]
    for spec in layer.params:
        if spec.kind == "bool" and isinstance(params.get(spec.name), bool):
            variants.append(layer.validate_params({**params, spec.name: not params[spec.name]})[0])
    return variants


def _module_alias(module: Any) -> tuple[str, dict[str, Any]] | None:
    """torch modules that are a catalog function layer under another name (``nn.Flatten`` is ``torch.flatten``)."""
    from torch import nn

    if type(module) is nn.Flatten:
        return "Flatten", {"start_dim": module.start_dim, "end_dim": module.end_dim}
    if type(module) is nn.Identity:
        return "Identity", {}
    return None


def _attr_name(target: str, kind: str) -> str:
    """The node id for submodule ``target``: its attribute name, or its kind for ``nn.Sequential``'s ``0``, ``1``."""
    last = target.rsplit(".", 1)[-1]
    return kind.lower() if last.isdigit() and "." not in target else target


_OPERATORS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "pow": "**", "matmul": "@",
              "gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "==", "ne": "!=", "neg": "unary -",
              "getitem": "indexing"}


def _describe(n: Any) -> str:
    target = n.target
    if getattr(target, "__module__", "") in ("_operator", "operator"):
        return f"the {_OPERATORS.get(target.__name__, target.__name__)} operator here"
    if n.op == "call_method":
        return f".{n.target}()"
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", str(target))
    return f"{module + '.' if module and module != 'builtins' else ''}{name}()"


def _is_tensor(v: Any) -> bool:
    import torch

    return isinstance(v, torch.Tensor)


def _tensors_in(v: Any) -> bool:
    return isinstance(v, tuple | list) and bool(v) and all(_is_tensor(x) for x in v)


def flatten(result: Any) -> list[Any]:
    """The leaves of nested tuples and lists (fx nodes or the values they had)."""
    if isinstance(result, tuple | list):
        return [x for item in result for x in flatten(item)]
    return [result]


def _shape_refs(node_id: str, outputs: Any) -> Any:
    if isinstance(outputs, list):
        return [_shape_refs(node_id, o) for o in outputs]
    return (node_id, outputs)


def body_signature(graph: Graph) -> str:
    """Two blocks with this equal do the same thing (positions and labels aside)."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("position", "label", "notes")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(graph_to_dict(graph)), sort_keys=True)


def _only_block(graph: Graph) -> Any:
    """The Block node of a body that is nothing but input → one block → output, else None."""
    nodes = list(graph)
    blocks = [n for n in nodes if n.type == BLOCK]
    others = [n for n in nodes if n.type not in (INPUT, OUTPUT, BLOCK)]
    if len(blocks) != 1 or others or len(graph.input_nodes) != 1 or len(graph.output_nodes) != 1:
        return None
    return blocks[0]


def _chain_next(graph: Graph, node_id: str, signature: str) -> str | None:
    """The next copy of the same block, when this one's outputs feed exactly its inputs, in order."""
    node = graph.node(node_id)
    assert node.body is not None
    outs = [n.id for n in node.body.output_nodes]
    users = graph.outgoing(node_id)
    targets = {e.dst for e in users}
    if len(targets) != 1:
        return None
    nxt = graph.node(targets.pop())
    if nxt.type != BLOCK or nxt.repeat != 1 or nxt.body is None or body_signature(nxt.body) != signature:
        return None
    ins = [n.id for n in nxt.body.input_nodes]
    if len(ins) != len(outs) or len(users) != len(outs):
        return None
    fed = {e.dst_port: e.src_port for e in users}
    if any(fed.get(i) != o for i, o in zip(ins, outs, strict=True)) or len(graph.incoming(nxt.id)) != len(ins):
        return None
    return nxt.id


def _common_name(ids: list[str]) -> str:
    """``layers_0 … layers_5`` → ``layers``."""
    import os
    import re

    prefix = os.path.commonprefix(ids)
    return re.sub(r"[_0-9]+$", "", prefix)


def fold_repeats(out: Converted) -> None:
    """Consecutive identical single-input, single-output blocks (a ModuleList run in a loop) → one repeated
    Block, each copy keeping its own weights (keys ``name.0.…``, ``name.1.…`` as generated code has them)."""
    graph = out.graph
    for node_id in list(graph.topo_order()):
        if node_id not in graph:
            continue
        node = graph.node(node_id)
        if node.type != BLOCK or node.repeat != 1 or node.body is None:
            continue
        signature = body_signature(node.body)
        chain = [node_id]
        while (nxt := _chain_next(graph, chain[-1], signature)) is not None:
            chain.append(nxt)
        if len(chain) < 2:
            continue
        consumers = [(e.src_port, e.dst, e.dst_port) for e in graph.outgoing(chain[-1])]
        for _, dst, port in consumers:
            graph.disconnect(dst, port)
        for later in reversed(chain[1:]):
            for edge in list(graph.outgoing(later)):
                graph.disconnect(edge.dst, edge.dst_port)
            for port in list(graph.incoming(later)):
                graph.disconnect(later, port)
            graph.remove_node(later)
        graph.set_param(node_id, "repeat", len(chain))
        for src_port, dst, port in consumers:  # copies share a body: the last one's output ports are the first's
            graph.connect(node_id, src_port, dst, port)
        name = _common_name(chain)
        if name and name != node_id and name not in graph and name not in _RESERVED:
            graph.rename_node(node_id, name)
        else:
            name = node_id
        for i, member in enumerate(chain):
            old = f"{member}."
            out.keymap = {k: (f"{name}.{i}.{v[len(old):]}" if v.startswith(old) else v) for k, v in out.keymap.items()}
            out.custom = [(f"{name}/{w[len(member) + 1:]}" if w.startswith(member + "/") else w, why)
                          for w, why in out.custom]
        out.folded += 1
