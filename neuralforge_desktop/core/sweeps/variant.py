"""A trial's architecture: the sweep's graph with ``SetParam`` edits applied, checked by shape inference and
costed by NeuralForge's cost model (the numbers ``neuralforge summary`` prints) before anything trains."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import SearchSpace

# How many graph variants the up-front budget check costs at most (a sample when the space has more).
MAX_VARIANTS_CHECKED = 256


class BudgetError(UserError):
    """No variant of the search space fits the cost bounds: nothing is trained."""


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int
    latency_ms: float

    def to_json(self) -> dict[str, Any]:
        return {"params": self.params, "macs": self.macs, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class Budget:
    """Cost bounds of an architecture search (None: unbounded); latency is estimated on ``device``."""

    max_params: int | None = None
    max_macs: float | None = None
    max_latency_ms: float | None = None
    device: str = "cpu"

    @property
    def bounded(self) -> bool:
        return any(v is not None for v in (self.max_params, self.max_macs, self.max_latency_ms))

    def objectives(self) -> list[str]:
        """The costs an architecture search minimises beside its metric: the bounded ones."""
        names = [("params", self.max_params), ("macs", self.max_macs), ("latency_ms", self.max_latency_ms)]
        return [name for name, bound in names if bound is not None]

    def excess(self, cost: Cost) -> list[str]:
        """What ``cost`` exceeds, in words (empty when it fits)."""
        over = []
        if self.max_params is not None and cost.params > self.max_params:
            over.append(f"{cost.params:,} params > {self.max_params:,}")
        if self.max_macs is not None and cost.macs > self.max_macs:
            over.append(f"{cost.macs:,} MACs > {self.max_macs:,.0f}")
        if self.max_latency_ms is not None and cost.latency_ms > self.max_latency_ms:
            over.append(f"{cost.latency_ms:.3g} ms > {self.max_latency_ms:g} ms on {self.device}")
        return over

    def to_json(self) -> dict[str, Any]:
        return {"max_params": self.max_params, "max_macs": self.max_macs, "max_latency_ms": self.max_latency_ms,
                "device": self.device}


def build_variant(graph: Graph, settings: Mapping[str, Any]) -> Graph:
    """A copy of ``graph`` with each ``node.field`` setting applied as a ``SetParam`` edit."""
    from neuralforge_desktop.core.edit.edits import SetParam

    variant = graph.copy()
    for key, value in settings.items():
        node_id, _, field = key.partition(".")
        SetParam(node_id, field, value, label="Sweep setting").apply(variant)
    return variant


def variant_problems(variant: Graph) -> list[str]:
    """Shape and parameter errors of a variant (a width that no longer fits, a bad combination)."""
    from neuralforge_desktop.core.analysis.shapes import infer_shapes

    return [f"{d.node}: {d.message}" for d in infer_shapes(variant).errors]


def cost_of(variant: Graph, device: str = "cpu") -> Cost:
    """Parameters, MACs and estimated latency at batch size 1, as ``neuralforge summary`` reports them."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost

    report = estimate_cost(variant, batch_size=1, device=device)
    return Cost(report.params, report.macs, float(report.latency_ms))


def check_budget_reachable(graph: Graph, space: SearchSpace, budget: Budget) -> int:
    """Raise :class:`BudgetError` when no variant of the space fits ``budget``; returns how many of the
    variants checked fit. Every combination of graph choices is costed (the ends of a range stand for it; a
    random sample of :data:`MAX_VARIANTS_CHECKED` when there are more), before a single trial trains."""
    if not budget.bounded:
        return 0
    dims = space.graph_dimensions
    axes = [list(d.choices) if d.kind == "choice" else
            ([int(d.low), int(d.high)] if d.kind == "int" else [d.low, d.high]) for d in dims]
    combos = list(itertools.islice(itertools.product(*axes), MAX_VARIANTS_CHECKED * 4))
    if len(combos) > MAX_VARIANTS_CHECKED:
        combos = random.Random(0).sample(combos, MAX_VARIANTS_CHECKED)
    fitting = 0
    smallest: tuple[Cost, dict[str, Any]] | None = None
    invalid: list[str] = []
    for combo in combos:
        settings = {d.name: value for d, value in zip(dims, combo, strict=True)}
        variant = build_variant(graph, settings)
        problems = variant_problems(variant)
        if problems:
            invalid.append(problems[0])
            continue
        cost = cost_of(variant, budget.device)
        if not budget.excess(cost):
            fitting += 1
        elif smallest is None or (cost.macs, cost.params) < (smallest[0].macs, smallest[0].params):
            smallest = (cost, settings)
    if fitting:
        return fitting
    if smallest is None:
        raise BudgetError(f"no variant of the search space is a valid graph (e.g. {invalid[0]})")
    cost, settings = smallest
    where = ", ".join(f"{k}={v}" for k, v in settings.items()) or "the graph as it is"
    raise BudgetError(f"no variant of the search space fits the budget: the smallest checked ({where}) has "
                      f"{'; '.join(budget.excess(cost))}; raise the bound or search smaller settings")
