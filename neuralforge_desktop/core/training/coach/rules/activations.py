"""Layer outputs over time: ReLU layers that output (almost) only zeros, and sigmoid/tanh layers stuck at their
bounds, where no gradient flows."""

from __future__ import annotations

from neuralforge_desktop.core.ir.graph import OUTPUT
from neuralforge_desktop.core.training.coach.context import CoachContext, Series
from neuralforge_desktop.core.training.coach.findings import Finding
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    evidence,
    graph_fix,
    graph_of,
    node_at,
    rule,
    span,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds


def _stat_by_layer(ctx: CoachContext, stat: str) -> dict[str, Series]:
    assert ctx.diagnostics is not None
    names: list[str] = []
    for record in ctx.diagnostics.layers:
        for name, value in zip(record.layers, getattr(record, stat), strict=False):
            if value is not None and name not in names:
                names.append(name)
    return {name: ctx.diagnostics.series(stat, name) for name in names}


def _held(points: Series, level: float, count: int) -> bool:
    """The last ``count`` values are all at least ``level``."""
    return len(points) >= count and all(v >= level for _, v in points[-count:])


@rule("dead_relu", needs=("diagnostics",), summary="a ReLU layer outputs ~all zeros over several records")
def dead_relu(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    by_layer = _stat_by_layer(ctx, "act_zero_frac")
    if not by_layer:
        raise NotApplicable("no ReLU-family layer in the diagnostics")
    findings = []
    dead = [name for name, points in by_layer.items() if _held(points, t.dead_relu_fraction, t.min_records)]
    # Each finding's fix swaps every ReLU of the graph, dead or not yet: with one revived, the same steps kill
    # the next.
    swappable = ([path for path, node in ctx.graph.walk() if node.type in ("ReLU", "ReLU6")]
                 if ctx.graph is not None and dead else [])
    for name in dead:
        points = by_layer[name]
        recent = points[-t.min_records:]
        share = sum(v for _, v in recent) / len(recent)
        fix = None
        if len(swappable) == 1:
            fix = graph_fix("replace_type", f"Replace '{swappable[0]}' with LeakyReLU", node=swappable[0],
                            type="LeakyReLU")
        elif swappable:
            fix = graph_fix("replace_type", f"Replace the {len(swappable)} ReLU layers with LeakyReLU",
                            nodes=swappable, type="LeakyReLU")
        findings.append(Finding(
            "dead_relu", "warning", f"Layer {name} is dead: it outputs only zeros",
            f"{share:.1%} of layer {name}'s outputs are exactly zero (40–60 % is normal for a ReLU). A unit that "
            "outputs zero for every input gets no gradient and never recovers; a learning rate too high usually "
            "pushes units there. LeakyReLU keeps a small slope below zero, so units can come back; a lower "
            "learning rate avoids killing them.",
            evidence({"zero_fraction": round(share, 4), "records": len(recent)}, name, span(recent),
                     {f"zero fraction {name}": points}),
            fix, points[-1][0]))
    return findings


@rule("saturated_activations", needs=("diagnostics",), summary="sigmoid/tanh outputs pinned at their bounds "
      "over several records (hidden layers only)")
def saturated_activations(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    by_layer = _stat_by_layer(ctx, "act_sat_frac")
    if not by_layer:
        raise NotApplicable("no sigmoid or tanh layer in the diagnostics")
    findings = []
    for name, points in by_layer.items():
        if not _held(points, t.saturated_fraction, t.min_records) or _feeds_result(ctx, name):
            continue
        recent = points[-t.min_records:]
        share = sum(v for _, v in recent) / len(recent)
        node = node_at(ctx.graph, name) if ctx.graph is not None else None
        fix = (graph_fix("replace_type", f"Replace {node.type} '{name}' with ReLU", node=name, type="ReLU")
               if node is not None else None)
        findings.append(Finding(
            "saturated_activations", "warning", f"Layer {name} is saturated",
            f"{share:.0%} of layer {name}'s outputs sit at the ends of its range, where its slope is ~0: "
            "gradients through it vanish and the layers before it stop learning. Large inputs to the activation "
            "(no normalisation, a learning rate too high) push it there; ReLU does not saturate.",
            evidence({"saturated_fraction": round(share, 4), "records": len(recent)}, name, span(recent),
                     {f"saturated fraction {name}": points}),
            fix, points[-1][0]))
    return findings


def _feeds_result(ctx: CoachContext, path: str) -> bool:
    """A layer whose output is the model's result or a loss's input: saturated outputs there are confident
    predictions, not a problem."""
    graph = graph_of(ctx.graph, path) if ctx.graph is not None else None
    node_id = path.rsplit("/", 1)[-1]
    if graph is None or node_id not in graph.nodes:
        return False
    from neuralforge_desktop.core.catalog.registry import catalog

    cat = catalog()
    for edge in graph.outgoing(node_id):
        consumer = graph.node(edge.dst)
        layer = cat.find(consumer.type)
        if consumer.type == OUTPUT or (layer is not None and layer.is_loss):
            return True
    return False
