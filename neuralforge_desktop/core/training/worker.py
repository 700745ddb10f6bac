"""The training worker process: ``main(["RUN_DIR", "--resume", "--trust-code"])``, started by ``runner.py``
(see ``child_python.py`` for how: never with the user's working directory on ``sys.path``).

RUN_DIR holds ``graph.nfg``, ``config.json`` and ``run.json`` (run id, store path); the worker writes JSON-line
events to stdout and to ``RUN_DIR/events.jsonl``, and reads stop/pause requests from ``RUN_DIR/control.json``.
Heavy imports happen here, never in the UI or CLI process."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from neuralforge_desktop.core.disk_full import writing
from neuralforge_desktop.core.training.events import Event, FailedEvent, encode_event, stdout_sink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuralforge-worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--trust-code", action="store_true", help="whoever started this run allows code metrics")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir
    info = json.loads((run_dir / "run.json").read_text())

    # In a data-parallel job (torchrun sets RANK) rank 0 speaks for the job: the others write no events and
    # no store rows (see distributed.py).
    speaks = int(os.environ.get("RANK", "0")) == 0
    log_path = run_dir / "events.jsonl"
    log: TextIO | None = log_path.open("a", encoding="utf-8") if speaks else None
    to_stdout = stdout_sink() if speaks else (lambda event: None)

    def sink(event: Event) -> None:
        # A log that cannot be written (a full disk) is closed for good; the event still goes to stdout, and
        # the run fails with the reason, unless this is already its last event.
        nonlocal log
        failure: OSError | None = None
        if log is not None:
            try:
                log.write(encode_event(event) + "\n")
                log.flush()
            except OSError as exc:
                failure = exc
                with contextlib.suppress(OSError):
                    log.close()
                log = None
        to_stdout(event)
        if failure is not None and not event.TERMINAL:
            with writing(f"the event log {log_path}"):
                raise failure

    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.store.entities import StoreFileError
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Control, Trainer
    from neuralforge_desktop.core.training.metrics import is_code_metric

    store: Any = None
    world = None
    control = Control(run_dir / "control.json")
    try:
        if not speaks:
            pass
        elif info.get("store"):
            store = Store(info["store"])  # a store gone bad since: a failed event
        elif info.get("record"):
            # On a remote host: the store calls are recorded for the user's machine to replay (record.py).
            from neuralforge_desktop.core.remote.record import StoreRecorder

            store = StoreRecorder(run_dir)
        graph = load_graph(run_dir / "graph.nfg")
        config = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text()))
        if config.trust_code and not args.trust_code and any(is_code_metric(m) for m in config.metrics):
            # The file says the code was trusted once; whoever starts the run now has to say so again.
            config = replace(config, trust_code=False)
        from neuralforge_desktop.core.training.distributed import world_from_environment

        world = world_from_environment(config.device)
        trainer = Trainer(graph, config, info["run_id"], run_dir, sink, store, control, world)
    except Exception as exc:  # a damaged or hand-edited run folder: a failed event says so, not a silent exit
        failed = FailedEvent.from_exception(info["run_id"], exc)
        if store is not None:
            with contextlib.suppress(StoreFileError):  # the event below still says why
                store.set_status(info["run_id"], "failed", reason=failed.error)
                store.close()
        sink(failed)
        if log is not None:
            log.close()
        return 1

    def request_stop(signum: int, frame: Any) -> None:  # SIGTERM/SIGINT: stop at the next step, checkpointed
        control._command = "stop"
        control.path = None

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    result = trainer.run(resume=args.resume)
    if world is not None:
        world.close()
    if store is not None:
        # Points the run could not write (the disk is full) were reported with its failure; a second report
        # here would only be a traceback.
        with contextlib.suppress(StoreFileError):
            store.close()
    if log is not None:
        with contextlib.suppress(OSError):
            log.close()
    return 0 if result.status in ("finished", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
