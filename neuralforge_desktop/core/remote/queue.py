"""The job queue's scheduler: which waiting job starts where, as the GPUs of the registered hosts free up.

Slots. A host has one slot per GPU its last probe found (``host.probe["gpus"]``), or one slot when it has none
(a CPU-only host, or one not probed yet); this machine (:data:`LOCAL_HOST`) has ``local_slots`` (default 1).
A job takes one slot unless it asks for more: on a GPU host ``max(gpus, procs, 1)`` slots (one GPU per
process); on a CPU-only host the whole host, and a job that asks for GPUs never fits there.

Order. Waiting jobs are taken by priority (higher first), then age (older first). A job for a named host waits
for that host; an ``any`` job takes the registered host with room that charges least per GPU-hour (then the
one with most free slots, then by name); ``any`` never means this machine. A job that must wait holds the
hosts it could use: no lower job starts there meanwhile, so a job asking for 4 GPUs is not starved by a
stream of 1-GPU jobs. A job no host could ever hold (more GPUs than any has) waits without holding anything,
and the plan says why.

State lives in the store (:mod:`neuralforge_desktop.core.store.queue_store`), so a new process continues:
jobs still waiting stay waiting; a started job whose run has ended is marked ended as its run did; a started
job whose run never began and whose dispatcher is gone goes back to the queue. :meth:`Scheduler.tick` starts
jobs through an injected launcher ``launch(entry, host_name) -> handle`` (``poll()``, ``wait()``, ``stop()``),
so the rules are tested without a GPU; :func:`default_launcher` starts a local worker
(:class:`~neuralforge_desktop.core.training.runner.TrainingProcess`) for ``local`` and the remote dispatcher
for a host.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.entities import TERMINAL_STATUSES, NotFoundError
from neuralforge_desktop.core.store.queue_store import ANY_HOST, LOCAL_HOST, QueueEntry, QueueState, check_priority

if TYPE_CHECKING:
    from neuralforge_desktop.core.ir.graph import Graph
    from neuralforge_desktop.core.remote.hosts import Host
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.events import Event

_JOB_STATE_OF_RUN: dict[str, QueueState] = {"finished": "finished", "stopped": "cancelled", "failed": "failed",
                                            "crashed": "failed"}


class JobHandle(Protocol):
    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def stop(self) -> None: ...


Launcher = Callable[[QueueEntry, str], JobHandle]


def host_gpus(host: Host) -> int:
    """How many GPUs the host's last probe found (0: CPU-only, or not probed)."""
    gpus = host.probe.get("gpus") if isinstance(host.probe, dict) else None
    return len(gpus) if isinstance(gpus, list) else 0


@dataclass(frozen=True, slots=True)
class Capacity:
    """What a host offers the queue: ``slots`` in all; ``gpus`` > 0 when they are GPUs."""

    name: str
    slots: int
    gpus: int
    cost_per_gpu_hour: float = 0.0


@dataclass(frozen=True, slots=True)
class Placement:
    """A waiting job and where it starts now (``host``), or None and why it waits (``reason``)."""

    entry: QueueEntry
    host: str | None
    reason: str = ""


def slots_needed(gpus: int, procs: int, capacity: Capacity) -> int | None:
    """Slots a job asking for ``gpus``/``procs`` takes on a host; None when it can never run there."""
    if capacity.name == LOCAL_HOST:
        return max(gpus, 1)
    if capacity.gpus:
        return max(gpus, procs, 1)
    return None if gpus else capacity.slots  # a CPU-only host: the whole of it


def _asks(gpus: int, procs: int) -> str:
    if gpus:
        return f"{gpus} GPU{'s' if gpus != 1 else ''}"
    return f"{procs} processes" if procs > 1 else "one slot"


def _offers(capacity: Capacity) -> str:
    if capacity.name == LOCAL_HOST:
        return f"this machine has {capacity.slots} slot{'s' if capacity.slots != 1 else ''}"
    if capacity.gpus:
        return f"host {capacity.name} has {capacity.gpus} GPU{'s' if capacity.gpus != 1 else ''}"
    return f"host {capacity.name} has no GPU in its last probe"


class Scheduler:
    """Starts waiting jobs of ``store`` on the hosts ``hosts()`` returns (default: the host registry's).
    One Scheduler per dispatching process; it keeps the handles of the jobs it started."""

    def __init__(self, store: Store, hosts: Callable[[], Sequence[Host]] | None = None, local_slots: int = 1) -> None:
        if local_slots < 1:
            raise UserError(f"this machine needs at least one slot, got {local_slots}")
        self.store = store
        self._hosts = hosts if hosts is not None else _registered_hosts
        self.local_slots = local_slots
        self.handles: dict[int, JobHandle] = {}
        self._stopping: set[int] = set()

    # -- capacity -------------------------------------------------------------------------------------------
    def capacities(self) -> dict[str, Capacity]:
        found = {LOCAL_HOST: Capacity(LOCAL_HOST, self.local_slots, 0)}
        for host in self._hosts():
            gpus = host_gpus(host)
            found[host.name] = Capacity(host.name, max(gpus, 1), gpus, float(host.cost_per_gpu_hour))
        return found

    def free_slots(self, capacities: dict[str, Capacity] | None = None) -> dict[str, int]:
        """Slots not taken by started jobs, per host (never below 0: a host whose probe shrank stays full)."""
        caps = self.capacities() if capacities is None else capacities
        free = {name: cap.slots for name, cap in caps.items()}
        for entry in self.store.list_queue(["started"]):
            cap = caps.get(entry.where)
            if cap is not None:
                free[cap.name] -= slots_needed(entry.gpus, entry.procs, cap) or cap.slots
        return {name: max(n, 0) for name, n in free.items()}

    def fit_problem(self, host: str, gpus: int, procs: int) -> str | None:
        """Why a job asking for this could never start (for refusing it when it is queued), or None."""
        caps = self.capacities()
        if host == ANY_HOST:
            remote = [c for n, c in caps.items() if n != LOCAL_HOST]
            if not remote:
                return "no remote host is registered (add one with `neuralforge hosts add`)"
            if all((need := slots_needed(gpus, procs, c)) is None or need > c.slots for c in remote):
                return f"the job asks for {_asks(gpus, procs)}, more than any registered host has"
            return None
        cap = caps.get(host)
        if cap is None:
            return f"host {host!r} is not registered (see `neuralforge hosts list`)"
        need = slots_needed(gpus, procs, cap)
        if need is None or need > cap.slots:
            return f"the job asks for {_asks(gpus, procs)}; {_offers(cap)}"
        return None

    # -- deciding -------------------------------------------------------------------------------------------
    def plan(self) -> list[Placement]:
        """Every waiting job in start order, with the host it would start on now or why it waits."""
        caps = self.capacities()
        free = self.free_slots(caps)
        held: set[str] = set()
        remote = sorted((c for n, c in caps.items() if n != LOCAL_HOST), key=lambda c: (c.cost_per_gpu_hour, c.name))
        placements: list[Placement] = []
        for entry in self.store.list_queue(["queued"]):
            if entry.host == ANY_HOST:
                candidates = remote
            elif entry.host in caps:
                candidates = [caps[entry.host]]
            else:
                placements.append(Placement(entry, None, f"host {entry.host!r} is not registered"))
                continue
            fitting = [(c, need) for c in candidates
                       if (need := slots_needed(entry.gpus, entry.procs, c)) is not None and need <= c.slots]
            if not fitting:
                why = (f"it asks for {_asks(entry.gpus, entry.procs)}; {_offers(candidates[0])}"
                       if entry.host != ANY_HOST else
                       "no remote host is registered" if not remote else
                       f"it asks for {_asks(entry.gpus, entry.procs)}, more than any registered host has")
                placements.append(Placement(entry, None, why))
                continue
            room = [(c, need) for c, need in fitting if c.name not in held and need <= free[c.name]]
            if room:
                best, need = min(room, key=lambda item: (item[0].cost_per_gpu_hour, -free[item[0].name], item[0].name))
                free[best.name] -= need
                placements.append(Placement(entry, best.name))
                continue
            names = [c.name for c, _ in fitting]
            blocked = [n for n in names if n in held]
            held.update(names)
            if len(blocked) == len(names):
                why = "a job before it waits for the same host" + ("s" if len(names) > 1 else "")
            else:
                c, need = fitting[0]
                where = "this machine" if c.name == LOCAL_HOST else c.name if len(fitting) == 1 else "a host"
                why = (f"waits for {need} free slot{'s' if need != 1 else ''} on {where} "
                       f"({free[c.name]} free)" if len(fitting) == 1 else f"waits for room on {where}")
            placements.append(Placement(entry, None, why))
        return placements

    # -- acting ---------------------------------------------------------------------------------------------
    def reconcile(self) -> list[QueueEntry]:
        """Bring started jobs up to date with their runs; returns the jobs that ended or went back to the queue.
        Asks the runs of cancelled started jobs (ones this process started) to stop."""
        self.store.mark_crashed_runs()
        changed: list[QueueEntry] = []
        for entry in self.store.list_queue(["started"]):
            handle = self.handles.get(entry.id)
            code = handle.poll() if handle is not None else None  # before the run is read: see below
            try:
                run = self.store.get_run(entry.run_id)
            except NotFoundError:
                changed.append(self._forget(entry, "failed", "its run was deleted"))
                continue
            if run.status in TERMINAL_STATUSES:
                reason = run.tags.get("reason") or (None if run.status == "finished" else f"its run {run.status}")
                changed.append(self._forget(entry, _JOB_STATE_OF_RUN[run.status], reason))
            elif code is not None:  # the process is gone and the run did not say it ended: it died
                why = f"the worker exited ({code}) before its run ended"
                self.store.set_status(run.id, "failed" if run.status == "queued" else "crashed", reason=why)
                changed.append(self._forget(entry, "failed", why))
            elif handle is not None:
                if entry.stop_requested and entry.id not in self._stopping:
                    handle.stop()
                    self._stopping.add(entry.id)
            elif run.status == "queued" and not entry.dispatcher_alive():
                changed.append(self.store.requeue_job(entry.id, "its dispatcher exited before the run began"))
            elif entry.stop_requested and entry.where == LOCAL_HOST and entry.id not in self._stopping:
                self._stop_local(entry)  # a local worker reads its stop request from its folder: any process may ask
        return changed

    def _stop_local(self, entry: QueueEntry) -> None:
        from neuralforge_desktop.core.training.runner import TrainingProcess, runs_root

        folder = runs_root(Path(self.store.path)) / entry.run_id
        if folder.is_dir():
            TrainingProcess(folder).stop()
        self._stopping.add(entry.id)

    def tick(self, launch: Launcher) -> list[QueueEntry]:
        """Reconcile, then start every job that fits now; returns the jobs started. A job whose launch fails
        ends "failed" (its run too) with the error as the reason; the others still start."""
        from neuralforge_desktop.core.team.quotas import QuotaExceeded, check_run_start

        self.reconcile()
        started: list[QueueEntry] = []
        for placement in self.plan():
            if placement.host is None:
                continue
            if self._over_budget(placement.entry):
                continue
            try:
                check_run_start(self.store)  # the plan's runs at once: the rest wait for a later tick
            except QuotaExceeded:
                break
            entry = self.store.claim_job(placement.entry.id, placement.host)
            if entry is None:  # cancelled meanwhile, or another dispatcher took it
                continue
            try:
                self.handles[entry.id] = launch(entry, placement.host)
            except Exception as exc:
                why = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
                self.store.set_status(entry.run_id, "failed", reason=f"could not start on {placement.host}: {why}")
                self.store.end_job(entry.id, "failed", f"could not start on {placement.host}: {why}")
                continue
            started.append(entry)
        return started

    def _over_budget(self, entry: QueueEntry) -> bool:
        """A waiting job whose project has since passed a hard-stop budget ends "failed", saying so."""
        from neuralforge_desktop.core.team.budgets import BudgetExceeded, ensure_run_can_start

        try:
            ensure_run_can_start(self.store, entry.run_id)
        except BudgetExceeded as exc:
            self.store.set_status(entry.run_id, "failed", reason=f"not started: {exc}")
            self.store.end_job(entry.id, "failed", f"not started: {exc}")
            return True
        return False

    def running(self) -> list[int]:
        """Ids of the jobs this process started that are still running."""
        return list(self.handles)

    def stop_all(self) -> None:
        for handle in self.handles.values():
            handle.stop()

    def _forget(self, entry: QueueEntry, state: QueueState, reason: str | None) -> QueueEntry:
        self.handles.pop(entry.id, None)
        self._stopping.discard(entry.id)
        return self.store.end_job(entry.id, state, reason)


def queue_training(store: Store, graph: Graph, config: TrainConfig, *, host: str = LOCAL_HOST, gpus: int = 0,
                   procs: int = 0, priority: int = 0, experiment: str = "default", name: str | None = None,
                   trust_code: bool = False, scheduler: Scheduler | None = None) -> QueueEntry:
    """Record a training run and queue it (instead of starting it): it starts when a dispatcher finds room on
    ``host``. A job that could never start there (an unknown host, more GPUs than it has) is refused before
    the run is recorded."""
    from neuralforge_desktop.core.training.runner import prepare_run

    check_priority(priority)
    problem = (scheduler or Scheduler(store)).fit_problem(host, gpus, procs)
    if problem is not None:
        raise UserError(f"cannot queue the run for {host!r}: {problem}")
    run_id, _folder = prepare_run(graph, config, store, experiment, name, starting=False)
    return store.enqueue(run_id, host=host, gpus=gpus, procs=procs, priority=priority,
                         spec={"trust_code": trust_code})


def _registered_hosts() -> list[Host]:
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    return HostRegistry().all()


# -- starting jobs for real --------------------------------------------------------------------------------
class ProcessHandle:
    """A started :class:`TrainingProcess` (or remote one) as the scheduler sees it. A thread reads its events
    (a worker whose output nobody reads would block) and hands each to ``on_event(entry, event)``."""

    def __init__(self, entry: QueueEntry, process: Any, on_event: Callable[[QueueEntry, Event], None] | None) -> None:
        self.entry = entry
        self.process = process
        self.on_event = on_event
        self.code: int | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._follow, name=f"queue-job-{entry.id}", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for event in self.process.events():
                if self.on_event is not None:
                    self.on_event(self.entry, event)
            self.code = int(self.process.wait())
        except Exception as exc:  # a dropped connection, a broken pipe: the job ends, the dispatcher goes on
            self.error = f"{type(exc).__name__}: {exc}"
            self.code = -1

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.code

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"job {self.entry.id} still runs after {timeout} s")
        return -1 if self.code is None else self.code

    def stop(self) -> None:
        self.process.stop()


def default_launcher(store: Store, on_event: Callable[[QueueEntry, Event], None] | None = None,
                     hosts: Callable[[str], Host] | None = None) -> Launcher:
    """Starts ``local`` jobs as a local worker and the others through the remote dispatcher
    (:mod:`neuralforge_desktop.core.remote.dispatch`, imported when first needed: without it a remote job
    fails with a message saying so, and local jobs still run)."""
    from neuralforge_desktop.core.training.runner import TrainingProcess, runs_root

    def find_host(name: str) -> Host:
        from neuralforge_desktop.core.remote.hosts import HostRegistry

        return HostRegistry().get(name)

    lookup = hosts or find_host

    def launch(entry: QueueEntry, host_name: str) -> JobHandle:
        folder = runs_root(Path(store.path)) / entry.run_id
        if not (folder / "run.json").exists():
            raise UserError(f"run {entry.run_id} has no run folder at {folder}")
        options = {"resume": bool(entry.spec.get("resume")), "trust_code": bool(entry.spec.get("trust_code"))}
        if host_name == LOCAL_HOST:
            process: Any = TrainingProcess(folder, **options)
        else:
            process = _remote_process_class()(folder, lookup(host_name), store=store, **options)
        return ProcessHandle(entry, process.start(), on_event)

    return launch


def _remote_process_class() -> Any:
    import importlib

    name = "neuralforge_desktop.core.remote.dispatch"
    try:
        dispatch = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the dispatcher is there but something it imports is not: that is a bug to see
            raise
        raise UserError("this NeuralForge cannot start runs on remote hosts yet (no remote dispatcher); "
                        "queue the job for 'local' instead") from None
    return dispatch.RemoteTrainingProcess


def dispatch_loop(scheduler: Scheduler, launch: Launcher, *, interval: float = 2.0, until_empty: bool = False,
                  report: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep) -> None:
    """Start jobs as room frees up, every ``interval`` seconds, until interrupted; with ``until_empty``, until
    no job this process started still runs and no waiting job can start. Says what it starts and what ends."""
    while True:
        for entry in scheduler.reconcile():  # (tick reconciles too; here first, so endings are reported)
            report(_ending_text(entry))
        for entry in scheduler.tick(launch):
            report(f"job {entry.id}: started run {entry.run_id} ({entry.run_name}) on {entry.placed_on}")
        if until_empty and not scheduler.running() and not any(p.host for p in scheduler.plan()):
            return
        sleep(interval)


def _ending_text(entry: QueueEntry) -> str:
    if entry.state == "queued":
        return f"job {entry.id}: back in the queue ({entry.reason})"
    return f"job {entry.id}: run {entry.run_id} {entry.state}" + (f" ({entry.reason})" if entry.reason else "")
