"""A structurally pruned model back into a NeuralForge graph: the widths the pruner left in each module
(out_channels, out_features, a depthwise convolution's groups …) are written into the matching node's params,
so the new graph is a real, smaller network that summarises, trains and exports like any other.

Input widths (in_channels, in_features, num_features) are never params here: shape inference derives them from
what feeds each node, so only the widths a node chooses itself are copied back. The result is checked three
ways before anyone uses it: shape inference passes, the model built from the new graph takes the pruned
weights with a strict state-dict load, and its parameter count equals the pruned model's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.codegen.plan import ModelPlan, plan_model
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph

# Catalog params that are a layer's own width (as opposed to widths inferred from its input), under the same
# name as the torch module attribute that holds them.
WIDTH_PARAMS = ("out_channels", "out_features", "groups", "embedding_dim")


class PrunedGraphError(UserError):
    """The pruned network cannot be written as a graph (a repeated block whose copies were pruned apart, …)."""


@dataclass(frozen=True)
class WidthChange:
    path: str  # the node's path in the graph ("conv1", "stage2/conv")
    param: str
    before: int
    after: int


@dataclass(frozen=True)
class PrunedGraph:
    graph: Graph
    changes: list[WidthChange]
    params: int  # the new graph's parameter count (equal to the pruned model's, checked)
    macs: int  # the new graph's MACs for one example


def node_modules(graph: Graph, model: Any) -> Iterator[tuple[str, Graph, str, list[Any]]]:
    """(path, the graph holding the node, node id, its modules) for every node built as a module: one module,
    or one per copy of a repeated block. ``model`` is built from ``graph`` (attribute names from its plan)."""
    yield from _walk_plan(plan_model(graph), [model], "")


def _walk_plan(plan: ModelPlan, owners: list[Any], prefix: str) -> Iterator[tuple[str, Graph, str, list[Any]]]:
    for step in plan.steps:
        if step.attr is None:
            continue
        modules = [getattr(owner, step.attr) for owner in owners]
        path = f"{prefix}{step.node.id}"
        if step.block is None:
            yield path, plan.graph, step.node.id, modules
            continue
        copies = modules if step.block.repeat == 1 else [copy for sub in modules for copy in sub]
        yield from _walk_plan(step.block.plan, copies, path + "/")


def write_widths(graph: Graph, pruned: Any) -> list[WidthChange]:
    """Copy the widths of ``pruned`` (the model built from ``graph``, after a structural pruner changed its
    modules in place: same attribute names) into ``graph``'s node params, in place."""
    changes: list[WidthChange] = []
    for path, owner, node_id, modules in node_modules(graph, pruned):
        node = owner.node(node_id)
        for name in WIDTH_PARAMS:
            values = {getattr(m, name) for m in modules if isinstance(getattr(m, name, None), int)}
            if not values or name not in _declared_params(node.type):
                continue
            if len(values) > 1:
                raise PrunedGraphError(f"{node.type} '{path}': the copies of its repeated block were pruned to "
                                       f"different {name} ({sorted(values)}); a block's copies share one body")
            (value,) = values
            current = _current(node, name)
            if current != value:
                owner.set_param(node_id, name, value)
                changes.append(WidthChange(path, name, int(current) if current is not None else -1, value))
    return changes


def _declared_params(type_name: str) -> set[str]:
    from neuralforge_desktop.core.catalog.registry import catalog

    layer = catalog().find(type_name)
    return {p.name for p in layer.params} if layer is not None else set()


def _current(node: Any, name: str) -> Any:
    from neuralforge_desktop.core.catalog.node_params import node_params

    return node_params(node).get(name)


def pruned_graph(graph: Graph, pruned: Any, name: str | None = None) -> PrunedGraph:
    """A copy of ``graph`` with ``pruned``'s widths, checked (see the module docstring). ``pruned`` is the
    model built from ``graph`` after a structural pruner changed its modules in place."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost
    from neuralforge_desktop.core.build.torch_builder import build_model
    from neuralforge_desktop.core.training.setup import load_initial_weights_from

    new = graph.copy()
    if name:
        new.name = name
    changes = write_widths(new, pruned)
    shapes = ShapeInference(new).run()
    if shapes.errors:
        raise PrunedGraphError("the pruned graph does not infer:\n" +
                               "\n".join(f"  {d.message}" for d in shapes.errors))
    rebuilt = build_model(new, shapes)
    load_initial_weights_from(rebuilt, dict(pruned.state_dict()), "the pruned weights")
    cost = estimate_cost(new, shapes)
    torch_params = sum(p.numel() for p in {id(p): p for p in pruned.parameters()}.values())
    if cost.params != torch_params:  # a width no WIDTH_PARAMS entry carries: the graph would mislead
        raise PrunedGraphError(f"the pruned graph counts {cost.params:,} parameters, the pruned model "
                               f"{torch_params:,}; a layer's width was not carried over")
    return PrunedGraph(new, changes, cost.params, cost.macs)
