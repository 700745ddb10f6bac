"""Return on compute: accuracy gained against compute spent, per project and across projects.

A run's accuracy is the best value its ``val/acc`` metric reached (the epoch its best checkpoint keeps); runs
that never logged it (or only NaN) are left off the scatter and the Pareto front, but what they cost still
counts in a project's cumulative spend, because it was spent on the project.

Compute is measured on one axis for the whole report: ``cost`` (GPU-hours × the host's rate) or ``gpu_hours``.
``auto`` takes cost when every run with compute on the scatter has a rate, and GPU-hours otherwise: a local
run costs 0, and on a cost axis it would look free and dominate every paid run.

The Pareto front holds the runs no other run beats on both counts (at least as accurate for at most as much
compute, and strictly better on one). "The last 10 %" of a project: its baseline is the accuracy of its first
run with the metric (by start time), its best the highest accuracy; the target is baseline + 0.9 × (best −
baseline). Ordering all the project's runs by start time, spend to target is the compute spent up to and
including the first run reaching the target, spend to best that up to and including the first run reaching
the best; the last 10 % cost their difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.team.spend import Period, SpendRow, spend_rows

if TYPE_CHECKING:
    from neuralforge_desktop.core.store.sqlite_store import Store

ACCURACY_METRIC = "val/acc"
AXES = ("auto", "cost", "gpu_hours")
LAST_FRACTION = 0.9


class RoiQueryError(UserError):
    pass


@dataclass(frozen=True, slots=True)
class RoiPoint:
    run_id: str
    run_name: str
    project: str
    experiment: str
    when: float
    accuracy: float
    gpu_hours: float
    cost: float

    def compute(self, axis: str) -> float:
        return self.cost if axis == "cost" else self.gpu_hours


@dataclass(frozen=True, slots=True)
class LastStretch:
    """What the last (1 − fraction) of a project's accuracy gain cost; see the module's docstring."""

    baseline: float
    best: float
    target: float
    target_run_id: str
    best_run_id: str
    spend_to_target: float
    spend_to_best: float

    @property
    def last_spend(self) -> float:
        return self.spend_to_best - self.spend_to_target

    @property
    def last_share(self) -> float:
        """The share of the spend to best that went on the last stretch (0 when nothing was spent)."""
        return self.last_spend / self.spend_to_best if self.spend_to_best > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ProjectRoi:
    project: str
    points: tuple[RoiPoint, ...]
    front: tuple[RoiPoint, ...]
    last_stretch: LastStretch | None
    why_no_stretch: str  # "" when there is a last stretch
    runs_without_metric: int


@dataclass(frozen=True, slots=True)
class RoiReport:
    metric: str
    axis: str  # "cost" or "gpu_hours", never "auto"
    projects: tuple[ProjectRoi, ...]
    front: tuple[RoiPoint, ...]  # across all projects

    def to_json(self) -> dict[str, Any]:
        def stretch(s: LastStretch | None) -> dict[str, Any] | None:
            return None if s is None else {**asdict(s), "last_spend": s.last_spend, "last_share": s.last_share}

        return {"metric": self.metric, "axis": self.axis, "fraction": LAST_FRACTION,
                "front": [p.run_id for p in self.front],
                "projects": [{"project": p.project, "runs_without_metric": p.runs_without_metric,
                              "points": [asdict(x) for x in p.points], "front": [x.run_id for x in p.front],
                              "last_stretch": stretch(p.last_stretch), "why_no_stretch": p.why_no_stretch}
                             for p in self.projects]}


def pareto_front(points: Iterable[RoiPoint], axis: str) -> list[RoiPoint]:
    """The non-dominated points, cheapest first (so accuracy rises along the list). Two runs with the same
    compute and accuracy are both kept: neither beats the other."""
    ordered = sorted(points, key=lambda p: (p.compute(axis), -p.accuracy, p.when))
    front: list[RoiPoint] = []
    for point in ordered:
        last = front[-1] if front else None
        tie = last is not None and (point.accuracy, point.compute(axis)) == (last.accuracy, last.compute(axis))
        if last is None or point.accuracy > last.accuracy or tie:
            front.append(point)
    return front


def last_stretch(rows: Sequence[SpendRow], accuracy: dict[str, float], axis: str,
                 fraction: float = LAST_FRACTION) -> tuple[LastStretch | None, str]:
    """The last stretch of one project's ``rows`` (any order; every run's compute counts) with ``accuracy``
    per run id for the runs that have one, or None and why not."""
    ordered = sorted(rows, key=lambda r: (r.when, r.run_id))
    scored = [r for r in ordered if r.run_id in accuracy]
    if len(scored) < 2:
        return None, f"needs 2 runs with {ACCURACY_METRIC}, has {len(scored)}"
    baseline = accuracy[scored[0].run_id]
    best = max(accuracy[r.run_id] for r in scored)
    if best <= baseline:
        return None, f"no run beat the first one's {ACCURACY_METRIC} of {baseline:.4g}"
    target = baseline + fraction * (best - baseline)
    spent = 0.0
    target_run = best_run = None
    spend_to_target = spend_to_best = 0.0
    for row in ordered:
        spent += row.cost if axis == "cost" else row.gpu_hours
        acc = accuracy.get(row.run_id)
        if acc is None:
            continue
        if target_run is None and acc >= target - 1e-9:  # 0.5 + 0.9 × 0.4 is 0.8600000000000001 in floats
            target_run, spend_to_target = row.run_id, spent
        if acc >= best:
            best_run, spend_to_best = row.run_id, spent
            break
    assert target_run is not None and best_run is not None  # the best run reaches both
    return LastStretch(baseline, best, target, target_run, best_run, spend_to_target, spend_to_best), ""


def run_accuracy(store: Store, run_ids: Iterable[str], metric: str = ACCURACY_METRIC, *,
                 project: str | None = None) -> dict[str, float]:
    """The best (largest) finite value of ``metric`` per run (of ``run_ids``) that logged one."""
    wanted = set(run_ids)
    found: dict[str, float] = {}
    for run in store.list_runs(project=project, order_by="created"):
        latest = run.metrics.get(metric)
        if run.id in wanted and latest is not None and math.isfinite(latest.max):
            found[run.id] = float(latest.max)
    return found


def choose_axis(rows: Iterable[SpendRow], axis: str = "auto") -> str:
    if axis not in AXES:
        raise RoiQueryError(f"axis {axis!r} is not one of {', '.join(AXES)}")
    if axis != "auto":
        return axis
    used = [r for r in rows if r.gpu_hours > 0]
    return "cost" if used and all(r.cost > 0 for r in used) else "gpu_hours"


def roi_from_rows(rows: Sequence[SpendRow], accuracy: dict[str, float], axis: str = "auto") -> RoiReport:
    scored = [r for r in rows if r.run_id in accuracy]
    chosen = choose_axis(scored, axis)
    per_project: dict[str, list[SpendRow]] = {}
    for row in rows:
        per_project.setdefault(row.project, []).append(row)
    projects = []
    all_points: list[RoiPoint] = []
    for name in sorted(per_project):
        project_rows = per_project[name]
        points = tuple(RoiPoint(r.run_id, r.run_name, r.project, r.experiment, r.when, accuracy[r.run_id],
                                r.gpu_hours, r.cost) for r in project_rows if r.run_id in accuracy)
        stretch, why = last_stretch(project_rows, accuracy, chosen)
        projects.append(ProjectRoi(name, points, tuple(pareto_front(points, chosen)), stretch, why,
                                   len(project_rows) - len(points)))
        all_points.extend(points)
    return RoiReport(ACCURACY_METRIC, chosen, tuple(projects), tuple(pareto_front(all_points, chosen)))


def roi_report(store: Store, *, project: str | None = None, axis: str = "auto",
               period: Period | None = None) -> RoiReport:
    """ROI of the runs in ``store`` (of one project; started within ``period``), see the module docstring."""
    if project is not None and project not in {p.name for p in store.list_projects()}:
        raise RoiQueryError(f"no project named {project!r} (see `neuralforge cost --by project`)")
    rows = spend_rows(store, period, project=project)
    return roi_from_rows(rows, run_accuracy(store, (r.run_id for r in rows), project=project), axis)
