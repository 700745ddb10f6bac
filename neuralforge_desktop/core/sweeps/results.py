"""What a sweep found, as plain data (the CLI prints it; the app's views read the same dict): every trial, the
best one, parameter importance (Optuna's evaluator), parallel-coordinates rows and the Pareto front of the
objective against parameters, MACs and estimated latency."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import SearchSpace
from neuralforge_desktop.core.sweeps.sweep_file import SweepSpec
from neuralforge_desktop.core.sweeps.variant import build_variant

COSTS = ("params", "macs", "latency_ms")


def trial_state(trial: Any) -> str:
    """complete, pruned, skipped (never trained: over budget or invalid), failed, interrupted or running."""
    if trial.user_attrs.get("skipped"):
        return "skipped"
    if trial.user_attrs.get("interrupted"):
        return "interrupted"
    return {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(trial.state.name, "running")


def trial_row(trial: Any) -> dict[str, Any]:
    values = list(trial.values) if trial.values is not None else None
    return {"number": trial.number, "state": trial_state(trial), "run_id": trial.user_attrs.get("run_id"),
            "params": dict(trial.params), "value": values[0] if values else None, "values": values,
            "cost": trial.user_attrs.get("cost"),
            "reason": trial.user_attrs.get("skipped") or trial.user_attrs.get("error")
            or trial.user_attrs.get("interrupted")}


def summarize(spec: SweepSpec, study: Any,
              importance: tuple[dict[str, float] | None, str | None] | None = None) -> dict[str, Any]:
    """Everything a sweep found so far. ``importance`` (as :func:`param_importance` returns it) skips computing
    it again: a viewer that polls a running sweep only recomputes it when another trial completed."""
    trials = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    complete = [t for t in trials if t["state"] == "complete"]
    maximize = spec.objective_value.direction == "maximize"
    best = (max if maximize else min)(complete, key=lambda t: t["value"]) if complete else None
    counts: dict[str, int] = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    found, note = importance if importance is not None else param_importance(study, maximize)
    return {"sweep": spec.id, "experiment": spec.experiment, "objective": spec.objective,
            "objectives": [spec.objective_value.metric, *spec.budget_value.objectives()],
            "budget": spec.budget or None, "sampler": spec.sampler, "trials_wanted": spec.trials,
            "counts": counts, "best": best, "best_so_far": best_so_far(complete, maximize),
            "importance": found, "importance_note": note,
            "parallel_coordinates": parallel_coordinates(spec, complete),
            "pareto_front": pareto_front(complete, maximize), "trials": trials}


def best_so_far(complete: list[dict[str, Any]], maximize: bool) -> list[dict[str, Any]]:
    """The best objective after each completed trial, in trial order: ``{"trial": n, "value": v, "best": b}``
    (the curve a sweep's progress is judged by)."""
    series: list[dict[str, Any]] = []
    best: float | None = None
    for t in sorted(complete, key=lambda t: t["number"]):
        value = float(t["value"])
        best = value if best is None else (max(best, value) if maximize else min(best, value))
        series.append({"trial": t["number"], "value": value, "best": best})
    return series


def param_importance(study: Any, maximize: bool) -> tuple[dict[str, float] | None, str | None]:
    """Optuna's parameter importance for the (first) objective; None and why when it cannot be computed.
    Optuna's default evaluator ranks params by how they lead to a low target: a maximised metric is negated."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return None, f"needs at least 2 completed trials ({len(complete)} so far)"
    try:
        sign = -1.0 if maximize else 1.0
        with warnings.catch_warnings():  # it warns whenever a target is given (even the negation it advises)
            # and when few trials make the importances equal: notes for a notebook, noise in a table
            warnings.filterwarnings("ignore", category=UserWarning, module="optuna")
            found = optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[0])
    except (ValueError, RuntimeError) as exc:
        return None, " ".join(str(exc).split())
    return {name: float(value) for name, value in found.items()}, None


def parallel_coordinates(spec: SweepSpec, complete: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per completed trial: its settings and objective (the axes of a parallel-coordinates plot)."""
    names = list(spec.space)
    return {"params": names, "objective": spec.objective_value.metric,
            "rows": [{"trial": t["number"], "params": {n: t["params"].get(n) for n in names}, "value": t["value"]}
                     for t in complete]}


def pareto_front(complete: list[dict[str, Any]], maximize: bool) -> list[dict[str, Any]]:
    """Completed trials no other beats on the objective and on every cost at once (better or equal on all,
    strictly better on one), best objective first."""
    def key(t: dict[str, Any]) -> tuple[float, ...]:
        cost = t["cost"] or {}
        return ((-t["value"] if maximize else t["value"]),
                *(float(cost.get(name, float("inf"))) for name in COSTS))

    keys = {t["number"]: key(t) for t in complete}

    def dominated(a: tuple[float, ...]) -> bool:
        return any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a for b in keys.values())

    front = [t for t in complete if not dominated(keys[t["number"]])]
    return sorted(front, key=lambda t: keys[t["number"]])


def trial_graph(spec: SweepSpec, graph: Graph, study: Any, number: int) -> Graph:
    """Trial ``number``'s architecture: the sweep's graph with that trial's graph settings applied."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise UserError(f"sweep {spec.id} has no trial {number}; trials: 0 to {len(trials) - 1}")
    _train, graph_settings = SearchSpace.split(trials[number].params)
    variant = build_variant(graph, graph_settings)
    variant.name = f"{graph.name}-trial{number}"
    return variant


def write_trial_graph(spec: SweepSpec, graph: Graph, study: Any, number: int, out: Path) -> Path:
    from neuralforge_desktop.core.ir.atomic import write_text_atomic
    from neuralforge_desktop.core.ir.serialize import dumps

    write_text_atomic(Path(out), dumps(trial_graph(spec, graph, study, number)))
    return Path(out)
