"""What the rule modules share: the rule registry, the reasons a rule cannot run, and small helpers for series,
evidence and fixes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.training.coach.context import CoachContext, Series
from neuralforge_desktop.core.training.coach.findings import Finding, Fix
from neuralforge_desktop.core.training.coach.thresholds import Thresholds

# What a rule may need; evaluate() checks these before calling it and reports a rule whose needs are not met.
NEEDS = ("graph", "config", "data", "metrics", "diagnostics", "finished")
EVIDENCE_POINTS = 60  # points of a series kept for the small plot beside a finding

NO_DIAGNOSTICS = ("no diagnostics: this run was trained before diagnostics existed or with --diagnostics off")

Check = Callable[[CoachContext, Thresholds], list[Finding]]


class NotApplicable(Exception):
    """Raised by a rule that cannot judge this context; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Rule:
    kind: str
    needs: tuple[str, ...]
    check: Check
    summary: str  # what the rule looks for, in a line


RULES: dict[str, Rule] = {}


def rule(kind: str, needs: tuple[str, ...], summary: str) -> Callable[[Check], Check]:
    """Register ``check`` as the rule for ``kind``."""
    unknown = set(needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"rule {kind}: unknown needs {sorted(unknown)}")

    def register(check: Check) -> Check:
        RULES[kind] = Rule(kind, needs, check, summary)
        return check

    return register


def missing_need(ctx: CoachContext, need: str) -> str | None:
    """Why ``ctx`` lacks ``need`` (None when it has it)."""
    if need == "graph" and ctx.graph is None:
        return "no graph"
    if need == "config" and ctx.config is None:
        return "no training settings"
    if need == "data" and ctx.data is None:
        return "no facts about the dataset (it could not be loaded)"
    if need == "metrics" and (not ctx.trained or not ctx.metrics):
        return ("needs metrics of a training run; checked before training there are none" if not ctx.trained
                else "no metrics recorded yet")
    if need == "diagnostics" and ctx.diagnostics is None:
        return "needs diagnostics captured while training" if not ctx.trained else NO_DIAGNOSTICS
    if need == "finished" and ctx.status in ("static", "running"):
        return "judged when the run has ended"
    return None


# -- series ----------------------------------------------------------------------------------------------------
def finite(series: Series) -> Series:
    return [(s, v) for s, v in series if math.isfinite(v)]


def metric(ctx: CoachContext, name: str) -> Series:
    return list(ctx.metrics.get(name) or [])


def thin(series: Series, points: int = EVIDENCE_POINTS) -> list[list[float]]:
    """At most ``points`` of ``series`` (evenly picked, the last always kept), as JSON-ready [step, value] pairs;
    a non-finite value becomes None, since JSON has no NaN."""
    if len(series) > points:
        stride = len(series) / points
        picked = [series[int(i * stride)] for i in range(points - 1)] + [series[-1]]
    else:
        picked = list(series)
    return [[s, v if math.isfinite(v) else None] for s, v in picked]  # type: ignore[list-item]


def smooth(values: list[float], width: int = 5) -> list[float]:
    """A trailing moving average, so that one noisy batch is not read as a trend."""
    out: list[float] = []
    total = 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def relative_drop(series: Series) -> float:
    """How much a least-squares line through ``series`` falls from its first step to its last, relative to the
    series' mean (0.1: 10 % lower at the end; negative when it rises). Robust to batch noise, unlike the ends."""
    n = len(series)
    xs = [float(s) for s, _ in series]
    ys = [v for _, v in series]
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0 or my == 0:
        return 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    return -slope * (xs[-1] - xs[0]) / abs(my)


def epochs_done(ctx: CoachContext) -> int:
    return len(metric(ctx, "train/loss"))


def last_step(ctx: CoachContext) -> int | None:
    steps = [s[-1][0] for s in ctx.metrics.values() if s]
    if ctx.diagnostics is not None and ctx.diagnostics.layers:
        steps.append(ctx.diagnostics.layers[-1].step)
    return max(steps) if steps else None


def classes(ctx: CoachContext) -> int | None:
    return ctx.data.classes if ctx.data is not None else None


def chance_accuracy(ctx: CoachContext) -> float | None:
    """The accuracy of always guessing the biggest class (1/K for balanced classes)."""
    k = classes(ctx)
    if not k:
        return None
    counts = ctx.data.label_counts if ctx.data is not None else None
    if counts and sum(counts):
        return max(max(counts) / sum(counts), 1 / k)
    return 1 / k


def task(ctx: CoachContext) -> str | None:
    if ctx.data is not None:
        return ctx.data.task
    return None


# -- evidence and fixes ----------------------------------------------------------------------------------------
def evidence(numbers: dict[str, Any] | None = None, layer: str | None = None, steps: list[int] | None = None,
             series: dict[str, Series] | None = None, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"numbers": {k: _plain(v) for k, v in (numbers or {}).items()}, "layer": layer}
    if steps is not None:
        out["steps"] = steps
    if series:
        out["series"] = {name: thin(points) for name, points in series.items()}
    out.update(more)
    return out


def _plain(value: Any) -> Any:
    """Numbers as JSON can hold them: a non-finite float is written as a string ("inf", "nan")."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return value


def set_config(label: str, **settings: Any) -> Fix:
    return Fix("config", "set_config", label, dict(settings))


def graph_fix(action: str, label: str, **args: Any) -> Fix:
    return Fix("graph", action, label, dict(args))


def round_sig(value: float, digits: int = 2) -> float:
    """``0.0123456`` → ``0.012``: a suggested setting reads better rounded."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def span(series: Series) -> list[int]:
    return [int(series[0][0]), int(series[-1][0])] if series else []


def node_at(graph: Any, path: str) -> Any:
    """The node at a ``/``-separated path (``block1/relu`` inside a block), or None."""
    current = graph
    node = None
    for part in path.split("/"):
        if current is None or part not in current.nodes:
            return None
        node = current.nodes[part]
        current = node.body
    return node


def graph_of(graph: Any, path: str) -> Any:
    """The graph level that holds the node at ``path``."""
    parts = path.split("/")
    current = graph
    for part in parts[:-1]:
        node = current.nodes.get(part) if current is not None else None
        current = node.body if node is not None else None
    return current
