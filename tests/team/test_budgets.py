"""Budgets on a real store: one alert per project, month and threshold as usage is added; the hard stop refusing
to queue, prepare or start a run of a project past its budget (and allowing one below it); the audit trail."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.audit import verify
from neuralforge_desktop.core.remote.hosts import Host
from neuralforge_desktop.core.remote.queue import Scheduler
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team.budgets import (
    BudgetError,
    BudgetExceeded,
    clear_budget,
    list_alerts,
    list_budgets,
    set_budget,
)
from neuralforge_desktop.core.team.spend import month_of, spend_rows
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run

RATE = 10.0  # per GPU-hour


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.db") as opened:
        yield opened


def remote_run(store: Store, project: str, experiment: str = "exp", status: str = "running") -> str:
    run = store.create_run(experiment, project=project, status=status,  # type: ignore[arg-type]
                           tags={"host": "gpu-box", "cost_per_gpu_hour": str(RATE)}, environment={})
    return run.id


def month_spend(store: Store, project: str) -> float:
    """The project's spend this month, summed from spend_rows (independently of the budget module's query)."""
    return math.fsum(r.cost for r in spend_rows(store, month_of(spend_rows(store)[-1].when), project=project))


def test_each_threshold_raises_exactly_one_alert(store: Store) -> None:
    run = remote_run(store, "vision")
    remote_run(store, "text")  # another project's spend never counts
    set_budget(store, "vision", 100.0)
    steps = [(4.0, []), (1.0, [50]), (1.0, [50]), (2.5, [50, 80]), (1.0, [50, 80]), (2.0, [50, 80, 100]),
             (3.0, [50, 80, 100])]
    for hours, expected in steps:
        store.add_usage(run, gpu_seconds=hours * 3600)
        alerts = list_alerts(store, project="vision")
        assert sorted(a.threshold for a in alerts) == expected, (hours, month_spend(store, "vision"))
    spend = month_spend(store, "vision")
    assert spend == pytest.approx(14.5 * RATE)
    by_threshold = {a.threshold: a for a in list_alerts(store)}
    assert by_threshold[100].spend == pytest.approx(11.5 * RATE) and by_threshold[100].budget == 100.0
    assert {a.month for a in by_threshold.values()} == {month_of(store.get_run(run).started or 0).label}
    assert list_alerts(store, project="text") == []


def test_custom_thresholds_and_a_lower_budget_record_what_is_already_crossed(store: Store) -> None:
    run = remote_run(store, "vision")
    store.add_usage(run, gpu_seconds=7 * 3600)  # $70, no budget yet: nothing recorded
    assert list_alerts(store) == []
    set_budget(store, "vision", 100.0, thresholds=(25, 60, 90))
    assert sorted(a.threshold for a in list_alerts(store)) == [25, 60]
    with pytest.raises(BudgetError, match="no project 'nope'"):
        set_budget(store, "nope", 100.0)
    with pytest.raises(BudgetError, match="above 0"):
        set_budget(store, "vision", 0.0)


def expected_message(spend: float, month: str) -> str:
    return (f"project 'vision' has spent ${spend:,.2f} of its $300.00 budget for {month} (${spend - 300:,.2f} "
            f"over, hard stop on); raise it with `neuralforge budget set vision --monthly 400`")


def test_hard_stop_refuses_to_queue_or_prepare_a_run_past_the_budget(store: Store) -> None:
    first = remote_run(store, "vision", "resnet")
    set_budget(store, "vision", 300.0, hard_stop=True)
    store.add_usage(first, gpu_seconds=29 * 3600)  # $290: below the budget, so a run may still be queued
    below = remote_run(store, "vision", "resnet", status="stopped")
    assert store.enqueue(below).state == "queued"
    store.add_usage(first, gpu_seconds=2.24 * 3600)  # $312.40
    spend = month_spend(store, "vision")
    assert spend == pytest.approx(312.40)
    message = expected_message(spend, month_of(store.get_run(first).started or 0).label)
    late = remote_run(store, "vision", "resnet", status="stopped")
    with pytest.raises(BudgetExceeded) as refused:
        store.enqueue(late)
    assert str(refused.value) == message
    assert store.get_run(late).status == "stopped" and len(store.list_queue()) == 1
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=1, limit=64)
    experiment = store.get_experiment("resnet", "vision")
    before = len(store.list_runs())
    with pytest.raises(BudgetExceeded, match="project 'vision' has spent"):
        prepare_run(graph, config, store, experiment.id)
    assert len(store.list_runs()) == before  # refused before the run was recorded
    run_id, _folder = prepare_run(graph, config, store, "elsewhere")  # another project is not stopped
    assert store.get_run(run_id).status == "running"


def test_a_waiting_job_does_not_start_once_its_project_is_past_a_hard_stop(store: Store) -> None:
    first = remote_run(store, "vision")
    set_budget(store, "vision", 300.0, hard_stop=True)
    waiting = remote_run(store, "vision", status="stopped")
    store.enqueue(waiting, host="a100")
    other = store.create_run("text-exp", project="text", status="stopped", environment={})
    store.enqueue(other.id, host="a100")
    store.add_usage(first, gpu_seconds=31 * 3600)  # the project passes its budget while the job waits
    scheduler = Scheduler(store, lambda: [Host("a100", "gpu.example.org", probe={"gpus": [{"name": "A100"}] * 2})])
    started = scheduler.tick(lambda entry, host: _StandIn())
    assert [e.run_id for e in started] == [other.id]
    job = next(e for e in store.list_queue(None) if e.run_id == waiting)
    assert job.state == "failed" and "project 'vision' has spent $310.00 of its $300.00 budget" in (job.reason or "")
    assert store.get_run(waiting).status == "failed"


class _StandIn:
    def poll(self) -> int | None:
        return None

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def stop(self) -> None:
        pass


def test_budget_changes_are_audited_and_listed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURALFORGE_USER", "alice")
    remote_run(store, "vision")
    set_budget(store, "vision", 300.0, currency="eur", thresholds=(80, 50, 100, 80), hard_stop=True)
    [budget] = list_budgets(store)
    assert (budget.currency, budget.thresholds, budget.hard_stop, budget.updated_by) == ("EUR", (50, 80, 100),
                                                                                         True, "alice")
    assert budget.money(1234.5) == "€1,234.50"
    set_budget(store, "vision", 400.0)
    clear_budget(store, "vision")
    assert list_budgets(store) == []
    with pytest.raises(BudgetError, match="has no budget"):
        clear_budget(store, "vision")
    import json

    from neuralforge_desktop.core.audit.log import entries

    changes = entries(store, kind="budget.")
    assert [(e.kind, e.subject) for e in changes] == [("budget.set", "vision")] * 2 + [("budget.cleared", "vision")]
    details = [json.loads(e.details) for e in changes]
    assert details[1]["previous"]["monthly"] == 300.0 and details[1]["monthly"] == 400.0
    assert {d["by"] for d in details} == {"alice"}
    assert verify(store).intact
