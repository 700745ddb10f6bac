"""``neuralforge queue list|cancel|priority|run``: training jobs waiting for the GPUs of the registered hosts
(``neuralforge train … --queue`` adds them). The queue is kept in the experiment store; ``queue run`` starts the
jobs as room frees up, for as long as it runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import table
from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store


def add_parsers(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser("queue", help="list, reprioritise, cancel and dispatch queued training jobs",
                       description="Training jobs queued with `neuralforge train … --queue`, kept in the experiment "
                       "store. Each job waits until its host has room (one GPU per job unless it asks for more), "
                       "higher priority first, then older first; `queue run` starts them.")
    qsub = q.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)
    ls = qsub.add_parser("list", help="waiting and started jobs, in the order they start",
                         description="Started jobs, then waiting ones in the order they will start, with why each "
                         "waits.")
    ls.add_argument("--all", action="store_true", help="also the jobs that have ended")
    ls.add_argument("--json", action="store_true")
    add_store_arg(ls)
    ls.set_defaults(func=cmd_list)
    cancel = qsub.add_parser("cancel", help="cancel a waiting job, or stop a started one",
                             description="Cancel JOB (its number, or its run id): a waiting job never starts and "
                             "its run is marked stopped; a started one is stopped by the dispatcher running it.")
    cancel.add_argument("job", metavar="JOB", type=opt.non_empty)
    add_store_arg(cancel)
    cancel.set_defaults(func=cmd_cancel)
    pri = qsub.add_parser("priority", help="change a waiting job's priority",
                          description="Give the waiting JOB (its number, or its run id) priority P; higher starts "
                          "first.")
    pri.add_argument("job", metavar="JOB", type=opt.non_empty)
    pri.add_argument("priority", metavar="P", type=opt.priority)
    add_store_arg(pri)
    pri.set_defaults(func=cmd_priority)
    run = qsub.add_parser("run", help="start queued jobs as hosts free up (in the foreground)",
                          description="Start queued jobs as room frees up on their hosts, locally for 'local' and "
                          "through SSH for a host, and report what starts and ends. Runs until Ctrl+C, which "
                          "stops the jobs it started after a checkpoint (`neuralforge resume RUN` continues one).")
    run.add_argument("--interval", type=opt.positive_float, default=2.0, metavar="SECONDS",
                     help="how often to look for room (default 2)")
    run.add_argument("--until-empty", action="store_true",
                     help="return once no job it started still runs and no waiting job can start")
    run.add_argument("--local-slots", type=opt.positive_int, default=1, metavar="N",
                     help="jobs for 'local' that may run at once on this machine (default 1)")
    add_store_arg(run)
    run.set_defaults(func=cmd_run)


def add_train_args(parser: argparse.ArgumentParser) -> None:
    """``--queue`` and ``--priority`` for ``neuralforge train``."""
    parser.add_argument("--queue", action="store_true",
                        help="queue the run instead of starting it; `neuralforge queue run` starts it when its "
                        "host has room")
    parser.add_argument("--priority", type=opt.priority, metavar="P",
                        help="the queued job's priority, higher first (default 0); implies --queue")


def wants_queue(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "queue", False)) or getattr(args, "priority", None) is not None


def queue_train(args: argparse.Namespace, graph: Any, config: Any, store: Any) -> int:
    """``train … --queue``: record the run and queue it for ``--host`` (default: this machine)."""
    from neuralforge_desktop.core.remote.queue import queue_training

    host = getattr(args, "host", None) or "local"
    entry = queue_training(store, graph, config, host=host, gpus=getattr(args, "gpus", None) or 0,
                           procs=getattr(args, "procs", None) or 0, priority=args.priority or 0,
                           experiment=args.experiment, name=args.name, trust_code=args.trust_code)
    if args.json:
        print(json.dumps(_job_json(entry)))
    else:
        where = "this machine" if host == "local" else "any registered host" if host == "any" else f"host {host}"
        print(f"run {entry.run_id}: queued as job {entry.id} for {where} (priority {entry.priority}); "
              "`neuralforge queue run` starts it")
    return 0


def _find_job(store: Any, ref: str) -> Any:
    from neuralforge_desktop.core.store.entities import NotFoundError

    if ref.isdigit():
        try:
            return store.get_job(int(ref))
        except NotFoundError as exc:
            raise CliError(f"{exc} ({store.path})", status=1) from None
    jobs = [e for e in store.list_queue(None) if e.run_id == ref]
    if not jobs:
        raise CliError(f"no job {ref!r} in the queue of {store.path}: give a job number or a queued run's id",
                       status=1)
    active = [e for e in jobs if e.is_active]
    return (active or jobs)[-1]


def _job_json(entry: Any, note: str = "") -> dict[str, Any]:
    return {"id": entry.id, "run_id": entry.run_id, "run_name": entry.run_name, "experiment": entry.experiment,
            "state": entry.state, "priority": entry.priority, "host": entry.host, "placed_on": entry.placed_on,
            "gpus": entry.gpus, "procs": entry.procs, "created": entry.created, "started": entry.started,
            "ended": entry.ended, "stop_requested": entry.stop_requested, "reason": entry.reason, "note": note}


def _note(entry: Any, placements: dict[int, Any]) -> str:
    if entry.state == "started":
        since = time.strftime("%H:%M", time.localtime(entry.started or entry.created))
        return f"on {entry.placed_on} since {since}" + ("; stopping" if entry.stop_requested else "")
    if entry.state == "queued":
        placement = placements.get(entry.id)
        if placement is not None and placement.host:
            where = "this machine" if placement.host == "local" else placement.host
            return f"room on {where}: starts when `neuralforge queue run` runs"
        return placement.reason if placement is not None else ""
    return entry.reason or ""


def _asks(entry: Any) -> str:
    if entry.gpus:
        return f"{entry.gpus} GPU{'s' if entry.gpus != 1 else ''}"
    return f"{entry.procs} procs" if entry.procs > 1 else ""


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.queue import Scheduler

    store = open_store(args.store)
    scheduler = Scheduler(store)
    scheduler.reconcile()  # started jobs whose runs have ended are shown ended
    placements = {p.entry.id: p for p in scheduler.plan()}
    entries = store.list_queue(None if args.all else ("queued", "started"))
    notes = [_note(e, placements) for e in entries]
    if args.json:
        print(json.dumps([_job_json(e, n) for e, n in zip(entries, notes, strict=True)], indent=2))
        return 0
    if not entries:
        print(f"no jobs in the queue of {store.path}; add one with `neuralforge train GRAPH --dataset D --queue`")
        return 0
    rows = [[str(e.id), str(e.priority), e.state, e.run_id, e.run_name, e.experiment, e.host, _asks(e), n]
            for e, n in zip(entries, notes, strict=True)]
    print(table(["JOB", "PRI", "STATE", "RUN", "NAME", "EXPERIMENT", "HOST", "ASKS", "NOTE"], rows, right=[0, 1]))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    entry = store.cancel_job(_find_job(store, args.job).id)
    if entry.state == "started":
        print(f"job {entry.id} (run {entry.run_id}) runs on {entry.placed_on}: the dispatcher running it stops it "
              "after a checkpoint")
    else:
        print(f"job {entry.id} cancelled; run {entry.run_id} marked stopped")
    return 0


def cmd_priority(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    entry = store.set_priority(_find_job(store, args.job).id, args.priority)
    ahead = [e.id for e in store.list_queue(["queued"])].index(entry.id)
    print(f"job {entry.id} (run {entry.run_id}) has priority {entry.priority}; {ahead} waiting job"
          f"{'s' if ahead != 1 else ''} before it")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.remote.queue import Scheduler, default_launcher, dispatch_loop

    store = open_store(args.store)
    scheduler = Scheduler(store, local_slots=args.local_slots)
    launch = default_launcher(store, on_event=_print_event)
    print(f"dispatching the queue of {store.path} (Ctrl+C stops the jobs started here)", flush=True)
    try:
        dispatch_loop(scheduler, launch, interval=args.interval, until_empty=args.until_empty,
                      report=lambda text: print(text, flush=True))
    except KeyboardInterrupt:
        print("stopping the started jobs after a checkpoint …", file=sys.stderr, flush=True)
        scheduler.stop_all()
        for job_id in scheduler.running():
            try:
                scheduler.handles[job_id].wait(120)
            except TimeoutError:
                print(f"job {job_id} has not stopped after 120 s", file=sys.stderr)
        for entry in scheduler.reconcile():
            print(f"job {entry.id}: run {entry.run_id} {entry.state}", flush=True)
        raise
    print("nothing left to start", flush=True)
    return 0


def _print_event(entry: Any, event: Any) -> None:
    from neuralforge_desktop.core.training.events import EpochEvent

    if isinstance(event, EpochEvent) and event.metrics:
        m = event.metrics
        parts = [f"train loss {m['train/loss']:.4f}"] if "train/loss" in m else []
        if "val/acc" in m:
            parts.append(f"val acc {m['val/acc']:.2%}")
        print(f"job {entry.id}: epoch {event.epoch}/{event.epochs} " + ", ".join(parts), flush=True)
