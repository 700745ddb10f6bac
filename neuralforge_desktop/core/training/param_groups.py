"""What each node's training settings mean for the optimizer: ``lr_mult`` turned into parameter groups, and
``trainable`` (unticked) turned into parameters that get no gradient.

A built model records which graph node each of its steps runs (``_step_nodes``) and the attribute holding that
step's submodule (``_step_attrs``); a Block's submodule is a model of the same kind for its body (a
``Sequential`` or ``ModuleList`` of them when it repeats). Walking that gives every parameter its node, and the
node's multiplier times those of the Blocks around it. The optimizer then gets one group per multiplier, the
group at 1 first (the training loop reports ``param_groups[0]``'s learning rate as the run's); schedulers
scale each group from its own starting rate, so the ratios hold for the whole run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph, lr_mult_problem


class LrMultError(UserError, ValueError):
    """A node's learning-rate multiplier that cannot be used (not a number, negative, not finite)."""


def lr_mults(graph: Graph) -> dict[str, float]:
    """Node path → its effective multiplier (its own times its Blocks'), for every node whose own multiplier
    is not 1 (the nodes inside such a Block follow it without being listed). Raises :class:`LrMultError`
    naming the first node whose multiplier is invalid."""
    out: dict[str, float] = {}

    def visit(g: Graph, prefix: str, outer: float) -> None:
        for node in g.nodes.values():
            path = f"{prefix}{node.id}"
            problem = lr_mult_problem(node.lr_mult)
            if problem is not None:
                raise LrMultError(f"node {path!r}: {problem}")
            mult = outer * node.lr_mult
            if node.lr_mult != 1.0:
                out[path] = mult
            if node.body is not None:
                visit(node.body, path + "/", mult)

    visit(graph, "", 1.0)
    return out


def _node_parameters(model: Any, graph: Graph | None, outer: float,
                     frozen: bool = False) -> Iterator[tuple[float, bool, Any]]:
    """(multiplier, frozen, parameter) for the parameters of each step's submodule, nested Blocks included;
    ``frozen``: the node or a Block around it is not trainable."""
    from torch import nn

    for node_id, attr in zip(getattr(model, "_step_nodes", ()), getattr(model, "_step_attrs", ()), strict=True):
        if attr is None:
            continue
        node = graph.nodes.get(node_id) if graph is not None else None
        mult = outer * (node.lr_mult if node is not None else 1.0)
        still = frozen or (node is not None and not node.trainable)
        sub = getattr(model, attr)
        body = node.body if node is not None else None
        if hasattr(sub, "_step_nodes"):  # a Block's body
            yield from _node_parameters(sub, body, mult, still)
        elif isinstance(sub, nn.Sequential | nn.ModuleList) and all(hasattr(m, "_step_nodes") for m in sub):
            for body_copy in sub:  # a repeated Block: every copy of the body trains at the same rates
                yield from _node_parameters(body_copy, body, mult, still)
        else:
            for param in sub.parameters():
                yield mult, still, param


def freeze_untrainable(model: Any, graph: Graph) -> int:
    """Stop gradients to the parameters of nodes that are not trainable (unticked in the inspector, or inside
    such a Block), so the optimizer leaves them as they are; returns how many tensors were frozen."""
    count = 0
    for _, frozen, param in _node_parameters(model, graph, 1.0):
        if frozen and param.requires_grad:
            param.requires_grad_(False)
            count += 1
    return count


def parameter_groups(model: Any, graph: Graph, lr: float) -> list[dict[str, Any]] | None:
    """Optimizer parameter groups for ``model`` built from ``graph``, or None when every multiplier is 1 (one
    plain group, as before multipliers existed: a resumed run's saved optimizer state still fits).
    Each group carries ``lr`` = ``lr`` × its multiplier and ``lr_mult``; frozen parameters are left out, and a
    parameter two nodes share (tied weights) trains at the rate of the first node that holds it."""
    if not lr_mults(graph):
        return None
    groups: dict[float, list[Any]] = {1.0: []}
    seen: set[int] = set()
    for mult, _, param in _node_parameters(model, graph, 1.0):
        if id(param) in seen or not param.requires_grad:
            continue
        seen.add(id(param))
        groups.setdefault(mult, []).append(param)
    # Parameters no step's submodule holds (none today) train at the run's rate rather than not at all.
    groups[1.0].extend(p for p in model.parameters() if id(p) not in seen and p.requires_grad)
    return [{"params": params, "lr": lr * mult, "lr_mult": mult} for mult, params in groups.items()]
