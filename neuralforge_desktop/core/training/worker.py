"""The training worker process: ``main(["RUN_DIR", "--resume", "--trust-code"])``, started by ``runner.py``
(see ``child_python.py`` for how: never with the user's working directory on ``sys.path``).

RUN_DIR holds ``graph.nfg``, ``config.json`` and ``run.json`` (run id, store path); the worker writes JSON-line
events to stdout and to ``RUN_DIR/events.jsonl``, and reads stop/pause requests from ``RUN_DIR/control.json``.
Heavy imports happen here, never in the UI or CLI process."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.training.events import Event, FailedEvent, encode_event, stdout_sink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuralforge-worker")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--trust-code", action="store_true", help="whoever started this run allows code metrics")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir
    info = json.loads((run_dir / "run.json").read_text())

    log = (run_dir / "events.jsonl").open("a", encoding="utf-8")
    to_stdout = stdout_sink()

    def sink(event: Event) -> None:
        log.write(encode_event(event) + "\n")
        log.flush()
        to_stdout(event)

    from neuralforge_desktop.core.ir.serialize import load_graph
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Control, Trainer
    from neuralforge_desktop.core.training.metrics import is_code_metric

    store = Store(info["store"]) if info.get("store") else None
    control = Control(run_dir / "control.json")
    try:
        graph = load_graph(run_dir / "graph.nfg")
        config = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text()))
        if config.trust_code and not args.trust_code and any(is_code_metric(m) for m in config.metrics):
            # The file says the code was trusted once; whoever starts the run now has to say so again.
            config = replace(config, trust_code=False)
        trainer = Trainer(graph, config, info["run_id"], run_dir, sink, store, control)
    except Exception as exc:  # a damaged or hand-edited run folder: a failed event says so, not a silent exit
        if store is not None:
            store.set_status(info["run_id"], "failed")
            store.close()
        sink(FailedEvent.from_exception(info["run_id"], exc))
        log.close()
        return 1

    def request_stop(signum: int, frame: Any) -> None:  # SIGTERM/SIGINT: stop at the next step, checkpointed
        control._command = "stop"
        control.path = None

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    result = trainer.run(resume=args.resume)
    if store is not None:
        store.close()
    log.close()
    return 0 if result.status in ("finished", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
