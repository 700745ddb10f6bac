"""Graph → a real ``torch.nn.Module``: the model training uses.

It executes the same :class:`~neuralforge_desktop.core.codegen.plan.ModelPlan` the code generator prints:
the same constructors in the same order (so a seeded build and the generated ``build_model()`` start from
identical weights), the same forward statements, the same module names (so ``state_dict`` keys match).
torch is imported only when a model is built.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.build.code_trust import require_trusted
from neuralforge_desktop.core.build.statement_check import check_statement
from neuralforge_desktop.core.catalog.custom_code import TYPE as CUSTOM_CODE
from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.codegen.plan import GeneratedCodeError, ModelPlan, PlanError, plan_model
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.identifiers import is_dotted_name, is_identifier


@functools.cache
def _graph_module_class() -> type:
    import torch
    from torch import nn

    class GraphModule(nn.Module):
        """Runs planned steps in order; each step is a small compiled function over named tensors."""

        def __init__(self, plan: ModelPlan) -> None:
            super().__init__()
            self._input_vars = list(plan.input_vars)
            self._output_vars = list(plan.output_vars)
            self._steps: list[tuple[Any, tuple[str, ...], tuple[str, ...]]] = []
            self._step_nodes: tuple[str, ...] = ()  # the node id of each step (profiling maps times back)
            self._step_attrs: tuple[str | None, ...] = ()  # the attribute of each step's submodule, if any
            self._release: list[tuple[str, ...]] = []  # per step: values no later step reads (freed then)
            self.input_names = [n.id for n in plan.input_nodes]
            self.output_names = [n.id for n in plan.output_nodes]

        def forward(self, *inputs: torch.Tensor) -> Any:
            if len(inputs) != len(self._input_vars):
                raise TypeError(f"{type(self).__name__} takes {len(self._input_vars)} inputs "
                                f"({', '.join(self._input_vars)}), got {len(inputs)}")
            env = dict(zip(self._input_vars, inputs, strict=True))
            for (fn, reads, writes), release in zip(self._steps, self._release, strict=True):
                results = fn(self, *[env[r] for r in reads])
                for name, value in zip(writes, results, strict=True):
                    env[name] = value
                for name in release:  # as generated code would: a value nothing reads again is let go
                    del env[name]
            if len(self._output_vars) == 1:
                return env[self._output_vars[0]]
            return tuple(env[v] for v in self._output_vars)

    return GraphModule


def _namespace(plan: ModelPlan) -> dict[str, Any]:
    import torch
    from torch import nn
    from torch.nn import functional as F

    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math}
    for helper in plan.all_helpers():
        # trusted: a helper's source is a catalog entry's own text (project code or a plugin installed by
        # consent), or a custom-code node's source the user trusted (build_model checked that first).
        exec(compile(helper, "<neuralforge helper>", "exec"), ns)  # trusted: catalog source, as said above
    return ns


def _module_class(name: str, ns: dict[str, Any]) -> Any:
    """The class a step constructs, looked up by name, never evaluated: ``nn.X`` in ``torch.nn``, else a
    class a catalog helper defined."""
    from torch import nn

    if not is_dotted_name(name):
        raise GeneratedCodeError(f"{name!r} is not a module class name")
    head, _, rest = name.partition(".")
    if head == "nn" and rest and "." not in rest:
        found = getattr(nn, rest, None)
    elif not rest:
        found = ns.get(head)
    else:
        found = None
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        raise GeneratedCodeError(f"{name!r} names no torch.nn module or catalog helper class")
    return found


def build_model(graph: Graph, shapes: ShapeInference | None = None, cat: Catalog | None = None) -> Any:
    """Build the ``nn.Module`` for ``graph``. Raises ``PlanError`` naming every error in the graph."""
    plan = plan_model(graph, shapes, cat)
    if plan.all_node_sources():
        require_trusted((path, node.params.get("source", "")) for path, node in graph.walk()
                        if node.type == CUSTOM_CODE and node.params.get("source"))
    ns = _namespace(plan)
    return _instantiate(plan, ns)


def _instantiate(plan: ModelPlan, ns: dict[str, Any]) -> Any:
    from torch import nn

    base = _graph_module_class()
    cls = type(plan.class_name, (base,), {"__module__": "neuralforge_desktop.generated"})
    module = cls(plan)
    for step in plan.steps:
        if step.attr is None:
            continue
        if step.block is not None:
            block = step.block
            if block.repeat == 1:
                sub = _instantiate(block.plan, ns)
            elif block.sequential:
                sub = nn.Sequential(*[_instantiate(block.plan, ns) for _ in range(block.repeat)])
            else:
                sub = nn.ModuleList([_instantiate(block.plan, ns) for _ in range(block.repeat)])
        else:
            assert step.module is not None
            factory = _module_class(step.module, ns)
            args = [v for k, v in step.init_args if k is None]
            kwargs = {k: v for k, v in step.init_args if k is not None}
            sub = factory(*args, **kwargs)
        setattr(module, step.attr, sub)
        if step.init_statement:  # right after construction, as the generated __init__ does: the same draws
            _run_init_statement(module, step.init_statement, ns, f"{plan.class_name}.{step.node.id}")
    for attr, param, source, source_param in plan.ties:
        _tie(module, attr, param, source, source_param)
    steps = []
    step_nodes: list[str] = []
    step_attrs: list[str | None] = []
    for step in plan.steps:
        if not step.statement:
            continue
        reads = tuple(dict.fromkeys(step.inputs))
        where = f"{plan.class_name}.{step.node.id}"
        for name in (*reads, *step.outputs, *([step.attr] if step.attr else [])):
            if not is_identifier(name):
                raise GeneratedCodeError(f"{where}: {name!r} is not a safe identifier")
        names = {"self", *reads, *step.outputs, *(k for k in ns if not k.startswith("_"))}
        check_statement(step.statement, names, where)
        body = "\n".join("    " + line for line in step.statement.split("\n"))
        writes = ", ".join(step.outputs)
        src = f"def _step(self, {', '.join(reads)}):\n{body}\n    return ({writes},)\n"
        local: dict[str, Any] = {}
        # trusted: the statement is a catalog template filled with identifiers that passed the grammar and
        # literals from repr/JSON, and check_statement has just vetted its syntax tree.
        exec(compile(src, f"<{where}>", "exec"), ns, local)  # trusted: vetted statement, as said above
        steps.append((local["_step"], reads, tuple(step.outputs)))
        step_nodes.append(step.node.id)
        step_attrs.append(step.attr)
    module._steps = steps
    module._step_nodes = tuple(step_nodes)
    module._step_attrs = tuple(step_attrs)
    module._release = _releases(steps, plan.output_vars)
    return module


def _run_init_statement(module: Any, statement: str, ns: dict[str, Any], where: str) -> None:
    check_statement(statement, {"self", *(k for k in ns if not k.startswith("_"))}, where)
    # trusted: a catalog template filled with the module attribute and parameter literals, vetted just above
    exec(compile(statement, f"<{where}>", "exec"), ns, {"self": module})  # trusted: vetted, as said above


def _releases(steps: list[tuple[Any, tuple[str, ...], tuple[str, ...]]], outputs: Any) -> list[tuple[str, ...]]:
    """For each step, the values to drop after it: read for the last time there, or written and never read
    (never a model output), so a forward pass holds only the activations still needed."""
    last: dict[str, int] = {}
    for i, (_, reads, writes) in enumerate(steps):
        for name in (*writes, *reads):
            last[name] = i
    keep = set(outputs)
    release: list[list[str]] = [[] for _ in steps]
    for name, i in last.items():
        if name not in keep:
            release[i].append(name)
    return [tuple(names) for names in release]


def _tie(module: Any, attr: str, param: str, source: str, source_param: str) -> None:
    """``module.attr.param`` becomes ``module.source.source_param``: both must be parameters already."""
    from torch import nn

    target, origin = getattr(module, attr), getattr(module, source)
    shared = origin._parameters.get(source_param) if isinstance(origin, nn.Module) else None
    if not isinstance(shared, nn.Parameter) or param not in getattr(target, "_parameters", {}):
        missing = f"{attr}.{param}" if isinstance(shared, nn.Parameter) else f"{source}.{source_param}"
        raise PlanError(f"tie {attr}.{param} = {source}.{source_param}: {missing} is not a parameter tensor")
    setattr(target, param, shared)
