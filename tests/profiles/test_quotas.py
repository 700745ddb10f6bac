"""A plan's limits on a real store: each refuses at the limit, with a message naming the limit, the figure, how far
over, and the plan that lifts it; each allows below it. No plan chosen limits nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.core.remote.queue import Scheduler
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.team import choices
from neuralforge_desktop.core.team.quotas import check_shared_store, month_start, ordinal
from neuralforge_desktop.core.team.tiers import FREE, LOCAL, PRO, QuotaExceeded, current_plan, set_plan
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.runner import prepare_run
from tests.remote.test_queue import Launcher, gpu_host


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.db") as s:
        yield s


def start_run(store: Store, experiment: str = "exp") -> str:
    config = TrainConfig(dataset="digits", epochs=1, batch_size=64, seed=0, threads=1, limit=64)
    run_id, _folder = prepare_run(zoo.build("mnist-cnn"), config, store, experiment)
    return run_id


def test_no_plan_chosen_limits_nothing(store: Store) -> None:
    assert current_plan() is LOCAL and not choices.default_choices_path().exists()
    for index in range(FREE.projects + PRO.projects + 1):  # more than the Free and Pro plans allow together
        store.get_or_create_project(f"project-{index}")
    running = [start_run(store) for _ in range(PRO.concurrent_runs + 1)]
    store.add_usage(running[0], gpu_seconds=3600 * 1000)
    start_run(store)
    registry = HostRegistry(store.path.parent / "hosts.json")
    for index in range(PRO.remote_hosts + 1):
        registry.add(Host(f"gpu-{index}", "gpu.example.org"))
    check_shared_store("postgresql://me@db.example.org/neuralforge")
    assert len([p for p in store.list_projects() if p.name.startswith("project-")]) == FREE.projects + PRO.projects + 1


def test_projects_stop_at_the_limit_and_only_a_new_one_counts(store: Store) -> None:
    set_plan("free")
    for index in range(FREE.projects):
        store.get_or_create_project(f"project-{index}")
    store.get_or_create_project("project-0")  # an existing project is not a new one
    store.create_run("another-experiment", project="project-1", environment={})  # nor is a run in one
    with pytest.raises(QuotaExceeded) as refused:
        store.get_or_create_project("one-too-many")
    message = str(refused.value)
    assert f"the Free plan allows {FREE.projects} projects" in message
    assert f"this would be the {ordinal(FREE.projects + 1)} project (1 over the limit)" in message
    assert f"the Pro plan allows {PRO.projects} projects: `neuralforge plan set pro`" in message
    assert "'one-too-many'" in message
    with pytest.raises(QuotaExceeded):
        store.create_run("exp", project="one-too-many", environment={})  # a run in a new project creates it
    assert len(store.list_projects()) == FREE.projects
    set_plan("pro")
    store.get_or_create_project("one-too-many")
    assert len(store.list_projects()) == FREE.projects + 1


def test_runs_training_at_once_stop_at_the_limit(store: Store) -> None:
    set_plan("free")
    first = start_run(store)
    with pytest.raises(QuotaExceeded) as refused:
        start_run(store)
    message = str(refused.value)
    assert f"The Free plan allows {FREE.concurrent_runs} run training at a time" in message
    assert "this would be the 2nd run training at once (1 over the limit)" in message
    assert f"the Pro plan allows {PRO.concurrent_runs} runs training at a time: `neuralforge plan set pro`" in message
    store.set_status(first, "finished")
    start_run(store)  # room again once the first has ended
    set_plan("pro")
    for _ in range(PRO.concurrent_runs - 1):
        start_run(store)
    with pytest.raises(QuotaExceeded, match=f"would be the {ordinal(PRO.concurrent_runs + 1)} run"):
        start_run(store)


def test_gpu_hours_this_month_stop_new_runs_once_used_up(store: Store) -> None:
    set_plan("free")
    limit = FREE.gpu_hours_per_month
    run = start_run(store)
    store.add_usage(run, gpu_seconds=(limit - 0.5) * 3600)
    store.set_status(run, "finished")
    second = start_run(store)  # half an hour is left: allowed
    store.add_usage(second, gpu_seconds=0.75 * 3600)  # now 0.25 h over
    store.set_status(second, "finished")
    with pytest.raises(QuotaExceeded) as refused:
        start_run(store)
    message = str(refused.value)
    used = limit + 0.25
    assert f"The Free plan allows {limit:g} GPU-hours a month and {used:.1f} have been used this month" in message
    assert "(0.2 over the limit" in message or "(0.3 over the limit" in message  # 0.25 rounded either way
    assert "the Pro plan allows 50 GPU-hours a month: `neuralforge plan set pro`" in message
    # Last month's runs do not count against this month.
    with store._db.write() as conn:
        conn.execute("UPDATE runs SET created = ?", (month_start() - 86400,))
    start_run(store)


def test_month_start_is_the_first_of_the_month_at_midnight() -> None:
    when = dt.datetime(2026, 12, 3, 21, 30).timestamp()
    assert dt.datetime.fromtimestamp(month_start(when)) == dt.datetime(2026, 12, 1)


def test_remote_hosts_stop_at_the_limit_and_replacing_one_is_not_adding(tmp_path: Path) -> None:
    registry = HostRegistry(tmp_path / "hosts.json")
    set_plan("free")
    with pytest.raises(QuotaExceeded) as refused:
        registry.add(Host("a100-box", "gpu.example.org"))
    message = str(refused.value)
    assert "cannot add host 'a100-box': the Free plan allows no remote hosts and this would be the 1st" in message
    assert f"the Pro plan allows {PRO.remote_hosts} remote hosts: `neuralforge plan set pro`" in message
    assert registry.all() == []
    set_plan("pro")
    for index in range(PRO.remote_hosts):
        registry.add(Host(f"gpu-{index}", "gpu.example.org"))
    registry.update(Host("gpu-0", "other.example.org"))  # a replaced host is not a new one
    with pytest.raises(QuotaExceeded, match="the Team plan allows 10 remote hosts"):
        registry.add(Host("one-more", "gpu.example.org"))
    assert [h.name for h in registry.all()] == [f"gpu-{i}" for i in range(PRO.remote_hosts)]


@pytest.mark.parametrize("plan", ["free", "pro"])
def test_a_shared_postgresql_store_needs_the_team_plan(plan: str, tmp_path: Path) -> None:
    set_plan(plan)
    with pytest.raises(QuotaExceeded, match="does not allow a shared PostgreSQL store; the Team plan does: "
                       "`neuralforge plan set team`"):
        Store("postgresql://me@db.example.org/neuralforge")
    Store(tmp_path / "store.db").close()  # a store file is always allowed
    for allowed in ("team", "enterprise"):
        set_plan(allowed)
        check_shared_store("postgresql://me@db.example.org/neuralforge")


def test_the_queue_starts_no_more_jobs_than_the_plan_runs_at_once(store: Store) -> None:
    set_plan("free")
    runs = []
    for name in ("first", "second"):
        run = store.create_run("queued", name, environment={})
        store.enqueue(run.id, host="a100")
        runs.append(run.id)
    scheduler, launch = Scheduler(store, hosts=lambda: [gpu_host("a100", 4)]), Launcher()
    assert [e.run_name for e in scheduler.tick(launch)] == ["first"]  # the host has room for both
    assert scheduler.tick(launch) == []  # started, its worker not yet running: it counts
    store.set_status(runs[0], "running")
    assert scheduler.tick(launch) == []
    launch.end(store, runs[0])
    assert [e.run_name for e in scheduler.tick(launch)] == ["second"]


def test_the_chosen_plan_is_kept_in_the_shared_settings_file() -> None:
    set_plan("team")
    assert choices.read_choices() == {"plan": "team"}
    set_plan("local")
    assert choices.read_choices() == {} and current_plan() is LOCAL
