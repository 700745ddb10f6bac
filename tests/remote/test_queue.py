"""The queue's scheduler on a real store: GPU slots per host, priority then age, one job per GPU unless it asks
for more, jobs for a named host waiting for it, cancel and reprioritise, and a restart (a new Store and
Scheduler on the same file, or a dispatcher process that died) continuing where the last one left off.

No GPU exists here: the hosts' GPUs are what a probe would have recorded (``probe["gpus"]``), and the launcher
hands back a stand-in for the training process on such a host, which runs until the test ends its run in the
store (as the worker or the remote dispatcher would)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.hosts import Host
from neuralforge_desktop.core.remote.queue import Scheduler, dispatch_loop, slots_needed
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.store.queue_store import QueueEntry

H100 = {"name": "NVIDIA H100 80GB HBM3", "memory_mb": 81559}


def gpu_host(name: str, gpus: int, cost: float = 0.0) -> Host:
    return Host(name, "gpu.example.org", cost_per_gpu_hour=cost, probe={"gpus": [H100] * gpus} if gpus else {})


class StandIn:
    """A started job on a (simulated) GPU host: alive until the test ends it."""

    def __init__(self, entry: QueueEntry, host: str) -> None:
        self.entry, self.host = entry, host
        self.code: int | None = None
        self.stopped = False

    def poll(self) -> int | None:
        return self.code

    def wait(self, timeout: float | None = None) -> int:
        return self.code or 0

    def stop(self) -> None:
        self.stopped = True


class Launcher:
    def __init__(self) -> None:
        self.jobs: dict[str, StandIn] = {}  # run id → its stand-in

    def __call__(self, entry: QueueEntry, host: str) -> StandIn:
        self.jobs[entry.run_id] = StandIn(entry, host)
        return self.jobs[entry.run_id]

    def end(self, store: Store, run_id: str, status: str = "finished", code: int = 0) -> None:
        """The run ends as its worker would end it: the status first, then the process exits."""
        store.set_status(run_id, status)  # type: ignore[arg-type]
        self.jobs[run_id].code = code


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.db") as s:
        yield s


def queue(store: Store, name: str, host: str = "a100", **job: object) -> str:
    run = store.create_run("queued", name, environment={})
    store.enqueue(run.id, host=host, **job)  # type: ignore[arg-type]
    return run.id


def started_on(store: Store) -> dict[str, str]:
    return {e.run_name: e.where for e in store.list_queue(["started"])}


def test_one_job_per_gpu_in_priority_then_age_order(store: Store) -> None:
    hosts = [gpu_host("a100", 2)]
    first, second = queue(store, "first"), queue(store, "second")
    urgent = queue(store, "urgent", priority=5)
    later = queue(store, "later")
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()

    assert [e.run_id for e in scheduler.tick(launch)] == [urgent, first]
    assert scheduler.free_slots() == {"local": 1, "a100": 0}
    waiting = scheduler.plan()
    assert [(p.entry.run_id, p.host) for p in waiting] == [(second, None), (later, None)]
    assert waiting[0].reason == "waits for 1 free slot on a100 (0 free)"
    assert scheduler.tick(launch) == []  # nothing freed up: nothing starts

    store.set_priority(store.list_queue(["queued"])[1].id, 1)  # "later" overtakes "second"
    launch.end(store, first)
    assert [e.run_id for e in scheduler.tick(launch)] == [later]
    assert store.list_queue(None)[-1].run_id == first and store.list_queue(None)[-1].state == "finished"
    assert launch.jobs[later].host == "a100" and store.get_run(later).tags["host"] == "a100"


def test_a_multi_gpu_job_takes_its_gpus_and_is_not_starved_by_smaller_ones(store: Store) -> None:
    hosts = [gpu_host("a100", 4)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    one, two = queue(store, "one"), queue(store, "two")
    scheduler.tick(launch)
    big = queue(store, "big", gpus=3, priority=5)
    small = queue(store, "small")
    huge = queue(store, "huge", gpus=8, priority=9)  # more than the host has: waits, holds nothing

    assert scheduler.tick(launch) == []  # 2 free: the 3-GPU job waits, and the 1-GPU job behind it too
    reasons = {p.entry.run_id: p.reason for p in scheduler.plan()}
    assert reasons == {huge: "it asks for 8 GPUs; host a100 has 4 GPUs",
                       big: "waits for 3 free slots on a100 (2 free)",
                       small: "a job before it waits for the same host"}
    launch.end(store, one)
    assert [e.run_id for e in scheduler.tick(launch)] == [big]
    assert scheduler.free_slots()["a100"] == 0
    launch.end(store, two)
    assert [e.run_id for e in scheduler.tick(launch)] == [small]
    assert slots_needed(0, 2, scheduler.capacities()["a100"]) == 2  # two processes: one GPU each


def test_any_host_takes_the_cheapest_with_room_and_cpu_hosts_hold_one_job(store: Store) -> None:
    hosts = [gpu_host("dear", 1, cost=4.0), gpu_host("cheap", 1, cost=1.5), gpu_host("cpu-box", 0)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    a, b, c, d = (queue(store, name, host="any") for name in "abcd")
    needs_gpu = queue(store, "needs-gpu", host="cpu-box", gpus=1)
    local = queue(store, "here", host="local")
    started = {e.run_id: e.placed_on for e in scheduler.tick(launch)}
    assert started == {a: "cpu-box", b: "cheap", c: "dear", local: "local"}  # cpu-box charges nothing
    reasons = {p.entry.run_id: p.reason for p in scheduler.plan()}
    assert reasons[d] == "waits for room on a host"
    assert reasons[needs_gpu] == "it asks for 1 GPU; host cpu-box has no GPU in its last probe"
    assert scheduler.fit_problem("cpu-box", 1, 0) == "the job asks for 1 GPU; host cpu-box has no GPU in its last probe"
    assert scheduler.fit_problem("any", 2, 0) == "the job asks for 2 GPUs, more than any registered host has"
    assert "not registered" in (scheduler.fit_problem("nowhere", 0, 0) or "")
    assert scheduler.fit_problem("local", 0, 0) is None and scheduler.fit_problem("any", 1, 0) is None


def test_a_job_for_a_named_host_waits_for_it(store: Store) -> None:
    hosts = [gpu_host("a100", 1), gpu_host("idle", 4)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    first, second = queue(store, "first"), queue(store, "second")
    assert [e.run_id for e in scheduler.tick(launch)] == [first]
    assert scheduler.free_slots()["idle"] == 4 and store.get_run(second).status == "queued"
    gone = queue(store, "gone", host="removed-host")
    assert {p.entry.run_id: p.reason for p in scheduler.plan()}[gone] == "host 'removed-host' is not registered"


def test_cancel_a_waiting_job_and_stop_a_started_one(store: Store) -> None:
    hosts = [gpu_host("a100", 1)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    running, waiting = queue(store, "running"), queue(store, "waiting")
    scheduler.tick(launch)
    jobs = {e.run_id: e.id for e in store.list_queue()}
    store.cancel_job(jobs[waiting])
    store.cancel_job(jobs[running])
    assert scheduler.tick(launch) == [] and launch.jobs[running].stopped  # asked to stop, once
    launch.end(store, running, "stopped")
    scheduler.tick(launch)
    assert {e.run_id: e.state for e in store.list_queue(None)} == {running: "cancelled", waiting: "cancelled"}
    assert waiting not in launch.jobs and store.get_run(waiting).status == "stopped"


def test_cancelling_a_local_job_asks_its_worker_to_stop_from_any_process(store: Store) -> None:
    from neuralforge_desktop.core.training.runner import runs_root

    run_id = queue(store, "local-run", host="local")
    folder = runs_root(store.path) / run_id
    folder.mkdir(parents=True)
    job = store.list_queue()[0].id
    store.claim_job(job, "local")  # started by a dispatcher that is not this Scheduler (the app, say)
    store.set_status(run_id, "running")  # its worker has begun
    store.cancel_job(job)
    Scheduler(store, lambda: []).reconcile()
    assert json.loads((folder / "control.json").read_text()) == {"command": "stop"}  # the worker polls this file


def test_a_launch_that_fails_fails_its_job_and_the_others_still_start(store: Store) -> None:
    hosts = [gpu_host("a100", 2)]
    bad, good = queue(store, "bad"), queue(store, "good")
    launch = Launcher()

    def flaky(entry: QueueEntry, host: str) -> StandIn:
        if entry.run_id == bad:
            raise UserError("host a100: connection refused")
        return launch(entry, host)

    scheduler = Scheduler(store, lambda: hosts)
    assert [e.run_id for e in scheduler.tick(flaky)] == [good]
    run = store.get_run(bad)
    assert run.status == "failed" and run.tags["reason"] == "could not start on a100: host a100: connection refused"
    assert store.get_job(store.list_queue(["failed"])[0].id).run_id == bad


def test_a_worker_that_dies_without_ending_its_run_fails_the_job(store: Store) -> None:
    hosts = [gpu_host("a100", 1)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    run_id = queue(store, "dies")
    scheduler.tick(launch)
    launch.jobs[run_id].code = -9  # killed before it marked the run running
    scheduler.tick(launch)
    (job,) = store.list_queue(None)
    assert job.state == "failed" and job.reason == "the worker exited (-9) before its run ended"
    assert store.get_run(run_id).status == "failed"


def _claim_and_exit(path: str, job_id: int) -> None:
    with Store(path) as s:
        s.claim_job(job_id, "a100")


def test_a_restart_continues_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    hosts = [gpu_host("a100", 2)]
    with Store(path) as store:
        scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
        done, busy = queue(store, "done"), queue(store, "busy")
        scheduler.tick(launch)
        orphan, waiting = queue(store, "orphan", host="other"), queue(store, "waiting")
        launch.end(store, done)  # it finishes while no dispatcher watches (the app was closed)
    # A dispatcher process claimed "orphan" and died before its run began.
    with Store(path) as store:
        orphan_job = next(e.id for e in store.list_queue() if e.run_id == orphan)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_claim_and_exit, args=(str(path), orphan_job))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0

    with Store(path) as store:  # the restart: a new Store and Scheduler on the same file
        states = {e.run_id: e.state for e in store.list_queue(None)}
        assert states == {done: "started", busy: "started", orphan: "started", waiting: "queued"}
        scheduler = Scheduler(store, lambda: [*hosts, gpu_host("other", 1)])
        changed = {e.run_id: e.state for e in scheduler.reconcile()}
        assert changed == {done: "finished", orphan: "queued"}
        assert store.get_job(orphan_job).reason == "its dispatcher exited before the run began"
        # "busy" still runs (its run is running elsewhere): it keeps its GPU; the freed one goes to "waiting".
        store.set_status(busy, "running")
        launch = Launcher()
        assert {e.run_id for e in scheduler.tick(launch)} == {waiting, orphan}
        assert scheduler.free_slots() == {"local": 1, "a100": 0, "other": 0}


def test_the_loop_runs_until_nothing_is_left_to_start(store: Store) -> None:
    hosts = [gpu_host("a100", 1)]
    scheduler, launch = Scheduler(store, lambda: hosts), Launcher()
    first, second = queue(store, "first"), queue(store, "second")
    queue(store, "never", gpus=2)  # cannot fit: must not keep the loop alive
    said: list[str] = []

    def sleep(_: float) -> None:  # the time between ticks: the running job ends
        for run_id, job in launch.jobs.items():
            if job.code is None:
                launch.end(store, run_id)

    dispatch_loop(scheduler, launch, interval=0, until_empty=True, report=said.append, sleep=sleep)
    assert list(launch.jobs) == [first, second]
    assert [s.split(":")[1].split("(")[0].strip() for s in said] == [
        f"started run {first}", f"run {first} finished", f"started run {second}", f"run {second} finished"]
