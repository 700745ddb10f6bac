"""Gradient norms per layer over time: vanishing (the first layers get orders of magnitude less than the last)
and exploding (norms huge, or growing by orders of magnitude)."""

from __future__ import annotations

import math

from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.catalog.spec import Trait
from neuralforge_desktop.core.training.coach.context import CoachContext, Series
from neuralforge_desktop.core.training.coach.findings import Finding, Fix
from neuralforge_desktop.core.training.coach.rules.common import (
    NotApplicable,
    evidence,
    graph_fix,
    median,
    node_at,
    round_sig,
    rule,
    set_config,
    span,
)
from neuralforge_desktop.core.training.coach.thresholds import Thresholds

RECENT = 10  # records the "typical" ratio is taken over: the latest ones, what the run does now

# Activations whose gradient is at most 1/4 (sigmoid) or 1 but flat beyond ±2 (tanh): the usual cause of
# vanishing gradients in deep stacks, and what replace_type swaps for ReLU.
SQUASHING = ("Sigmoid", "Tanh", "Hardsigmoid")


def _grad_series(ctx: CoachContext) -> dict[str, Series]:
    """Each layer's gradient norm over time, in model order (layers without weights left out)."""
    assert ctx.diagnostics is not None
    order: list[str] = []
    for record in ctx.diagnostics.layers:
        for name, value in zip(record.layers, record.grad_norm, strict=False):
            if value is not None and name not in order:
                order.append(name)
    return {name: ctx.diagnostics.series("grad_norm", name) for name in order}


@rule("vanishing_gradients", needs=("diagnostics",), summary="the first layers' gradient norms are orders of "
      "magnitude below the last layer's, record after record")
def vanishing_gradients(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    assert ctx.diagnostics is not None
    records = [r for r in ctx.diagnostics.layers if sum(v is not None for v in r.grad_norm) >= 2]
    if len(records) < t.min_records:
        raise NotApplicable(f"needs gradient norms of at least two layers in {t.min_records} records, "
                            f"has {len(records)}")
    ratios: list[float] = []
    first_layer = last_layer = None
    for record in records[-RECENT:]:
        named = [(n, v) for n, v in zip(record.layers, record.grad_norm, strict=False)
                 if v is not None and math.isfinite(v)]
        if len(named) < 2 or named[-1][1] <= 0:
            continue
        first_layer, last_layer = named[0][0], named[-1][0]
        ratios.append(named[0][1] / named[-1][1])
    if len(ratios) < t.min_records:
        return []
    typical = median(ratios)
    if typical >= t.vanishing_ratio:
        return []
    series = _grad_series(ctx)
    shown = {name: series[name] for name in (first_layer, last_layer) if name in series}
    return [Finding(
        "vanishing_gradients", "warning", "Gradients vanish before they reach the first layers",
        f"Layer {first_layer} gets " + (f"gradients about {1 / typical:.0e} times smaller than" if typical > 0 else
                                         "no gradient at all, unlike") + f" layer {last_layer}, "
        "so the first layers barely learn. Sigmoid/tanh activations in a deep stack, or no normalisation between "
        "layers, usually cause this; ReLU activations, BatchNorm or residual connections help.",
        evidence({"ratio_first_to_last": round_sig(typical), "records": len(ratios)}, first_layer,
                 [records[-len(ratios)].step, records[-1].step], {f"grad_norm {n}": s for n, s in shown.items()}),
        _vanishing_fix(ctx, first_layer), records[-1].step)]


def _vanishing_fix(ctx: CoachContext, first_layer: str | None) -> Fix | None:
    graph = ctx.graph
    if graph is None:
        return None
    for path, node in graph.walk():
        if node.type in SQUASHING:
            return graph_fix("replace_type", f"Replace {node.type} '{path}' with ReLU", node=path, type="ReLU")
    node = node_at(graph, first_layer) if first_layer else None
    if node is None:
        return None
    layer = catalog().find(node.type)
    if layer is None or not (layer.has(Trait.CONVOLUTION) or layer.has(Trait.DENSE)):
        return None
    norm = "BatchNorm2d" if node.type == "Conv2d" else "BatchNorm1d" if node.type == "Linear" else None
    if norm is None:
        return None
    return graph_fix("insert_after", f"Add {norm} after '{first_layer}'", node=first_layer, type=norm, params={})


@rule("exploding_gradients", needs=("diagnostics",), summary="a layer's gradient norm is huge, or the norms grow "
      "by orders of magnitude")
def exploding_gradients(ctx: CoachContext, t: Thresholds) -> list[Finding]:
    series = _grad_series(ctx)
    if not series or max(len(s) for s in series.values()) < t.min_records:
        raise NotApplicable(f"needs gradient norms in at least {t.min_records} records")
    worst: tuple[float, str, int] | None = None  # (norm, layer, step)
    for name, points in series.items():
        for step, value in points:
            if not math.isfinite(value) or value > t.exploding_norm:
                if worst is None or not math.isfinite(value) or value > worst[0]:
                    worst = (value, name, step)
                break
    growth: list[float] = []
    for points in series.values():
        finite_points = [v for _, v in points if math.isfinite(v) and v > 0]
        if len(finite_points) >= 2 * t.min_records:
            start = median(finite_points[:t.min_records])
            end = median(finite_points[-t.min_records:])
            growth.append(end / start)
    typical_growth = median(growth) if growth else 1.0
    if worst is None and typical_growth < t.exploding_growth:
        return []
    layer = worst[1] if worst else None
    if worst is not None:
        why = (f"layer {worst[1]}'s gradient norm reached {worst[0]:.3g} at step {worst[2]} (healthy networks "
               f"stay around 0.01–10)")
    else:
        why = f"the layers' gradient norms grew about {typical_growth:.0f}× over the run"
    shown = {f"grad_norm {layer}": series[layer]} if layer else dict(list(series.items())[:2])
    steps = span(next(iter(shown.values())))
    return [Finding(
        "exploding_gradients", "warning", "Gradients are exploding",
        f"{why.capitalize()}. Steps this large throw the weights around and often end in NaN. Clip the gradients "
        "(a global norm of 1 is a common choice) or lower the learning rate.",
        evidence({"max_grad_norm": round_sig(worst[0], 3) if worst else None,
                  "growth": round_sig(typical_growth, 3)}, layer, steps, shown),
        set_config("Clip gradients at norm 1", grad_clip=1.0), steps[-1] if steps else None)]
