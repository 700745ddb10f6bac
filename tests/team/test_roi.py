"""Accuracy against compute: the Pareto front and what the last 10 % of the accuracy gain cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.demo_costs import DemoCosts
from neuralforge_desktop.core.team.roi import RoiPoint, RoiQueryError, pareto_front, roi_report


def _dominates(a: RoiPoint, b: RoiPoint, axis: str) -> bool:
    x_a, x_b = a.compute(axis), b.compute(axis)
    return a.accuracy >= b.accuracy and x_a <= x_b and (a.accuracy > b.accuracy or x_a < x_b)


@pytest.mark.parametrize("axis", ["cost", "gpu_hours"])
def test_the_front_is_non_dominated_covers_the_rest_and_holds_the_best(demo_store: tuple[Store, DemoCosts],
                                                                      axis: str) -> None:
    store, _ = demo_store
    report = roi_report(store, axis=axis)
    assert report.axis == axis
    scopes = [(p.points, p.front) for p in report.projects]
    scopes.append((tuple(x for p in report.projects for x in p.points), report.front))
    for points, front in scopes:
        assert front and set(front) <= set(points)
        for f in front:
            assert not any(_dominates(p, f, axis) for p in points)
        for p in set(points) - set(front):
            assert any(_dominates(f, p, axis) for f in front)
        best = max(p.accuracy for p in points)
        assert front[-1].accuracy == best
        assert [f.compute(axis) for f in front] == sorted(f.compute(axis) for f in front)


def test_auto_axis_is_gpu_hours_when_some_runs_are_free(demo_store: tuple[Store, DemoCosts]) -> None:
    store, _ = demo_store
    assert roi_report(store).axis == "gpu_hours"  # the demo has local runs, which cost 0
    assert roi_report(store, project="vision-defects").axis == "cost"  # only paid hosts there


def test_the_last_ten_percent_on_a_case_worked_by_hand(tmp_path: Path) -> None:
    # (accuracy or None, cost): in start order. baseline 0.50, best 0.90, target 0.50 + 0.9 × 0.40 = 0.86.
    history = [(0.50, 10.0), (None, 5.0), (0.80, 20.0), (0.86, 30.0), (0.84, 7.0), (0.90, 40.0), (0.88, 50.0)]
    with Store(tmp_path / "store.db") as store:
        ids = []
        for i, (acc, cost) in enumerate(history):
            run = store.create_run("exp", project="p", tags={"host": "box", "cost_per_gpu_hour": "2"})
            store.add_usage(run.id, gpu_seconds=cost / 2 * 3600)  # cost = GPU-hours × 2
            if acc is not None:
                store.log_metric(run.id, "val/acc", acc - 0.1, 1)
                store.log_metric(run.id, "val/acc", acc, 2)  # the best epoch counts, not the first
                store.log_metric(run.id, "val/acc", acc - 0.02, 3)
            store.set_status(run.id, "finished")
            with store._db.write() as conn:
                conn.execute("UPDATE runs SET started = ? WHERE id = ?", (1_000_000.0 + 3600 * i, run.id))
            ids.append(run.id)
        report = roi_report(store, project="p")
        (project,) = report.projects
        stretch = project.last_stretch
        assert report.axis == "cost" and project.runs_without_metric == 1
        assert stretch is not None
        assert (stretch.baseline, stretch.best, stretch.target) == pytest.approx((0.50, 0.90, 0.86))
        assert stretch.target_run_id == ids[3] and stretch.best_run_id == ids[5]
        assert stretch.spend_to_target == pytest.approx(10 + 5 + 20 + 30)  # the run without val/acc counts
        assert stretch.spend_to_best == pytest.approx(10 + 5 + 20 + 30 + 7 + 40)
        assert stretch.last_spend == pytest.approx(47.0) and stretch.last_share == pytest.approx(47 / 112)
        hours = roi_report(store, project="p", axis="gpu_hours").projects[0].last_stretch
        assert hours is not None and hours.last_spend == pytest.approx(47.0 / 2)
        # the front: 0.50 for 10, 0.80 for 20, 0.86 for 30, 0.90 for 40; 0.84 for 7 is cheapest of all
        assert [p.run_id for p in project.front] == [ids[4], ids[3], ids[5]]


def test_too_few_runs_say_why_and_unknown_projects_are_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "store.db") as store:
        run = store.create_run("exp", project="solo")
        store.log_metric(run.id, "val/acc", 0.7, 1)
        store.set_status(run.id, "finished")
        (project,) = roi_report(store).projects
        assert project.last_stretch is None and "needs 2 runs with val/acc, has 1" in project.why_no_stretch
        with pytest.raises(RoiQueryError, match="no project named 'nope'"):
            roi_report(store, project="nope")


def test_equal_points_are_both_on_the_front() -> None:
    a = RoiPoint("a", "a", "p", "e", 1.0, 0.9, 1.0, 2.0)
    b = RoiPoint("b", "b", "p", "e", 2.0, 0.9, 1.0, 2.0)
    worse = RoiPoint("c", "c", "p", "e", 3.0, 0.9, 1.5, 3.0)
    assert pareto_front([worse, b, a], "cost") == [a, b]
