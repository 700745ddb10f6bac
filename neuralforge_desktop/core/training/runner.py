"""Start, watch and steer training worker processes (the CLI and the app both use this)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.training.child_python import child_environment, run_main_code
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import Event, read_events
from neuralforge_desktop.core.training.launch import worker_argv


def runs_root(store_path: Path | str) -> Path:
    from neuralforge_desktop.core.store.location import files_folder

    return files_folder(store_path) / "runs"


def prepare_run(graph: Graph, config: TrainConfig, store: Any, experiment: str = "default",
                name: str | None = None, tags: dict[str, Any] | None = None,
                source: str | os.PathLike[str] | None = None, *, starting: bool = True) -> tuple[str, Path]:
    """Create the run in the store and its folder (graph, config) for a worker; returns (run id, folder).
    The plan's limits are checked first (``starting=False``: a queued run, which waits for room instead of
    counting against the runs training at once).

    ``source``: the graph file the user trained from; its path, the NeuralForge version and the git commit of
    the folder it lives in (when that is a repository) are kept in the run's environment as ``source``."""
    from neuralforge_desktop.core.ir.serialize import dumps, graph_to_dict

    config.validate()
    from neuralforge_desktop.core.store.sqlite_store import DEFAULT_PROJECT
    from neuralforge_desktop.core.team.budgets import ensure_can_start, project_of_experiment

    ensure_can_start(store, project_of_experiment(store, experiment, DEFAULT_PROJECT))  # hard-stop budgets
    from neuralforge_desktop.core.team.quotas import check_run_start

    check_run_start(store, concurrent=starting)
    text = dumps(graph)
    import hashlib

    sha = hashlib.sha256(json.dumps(graph_to_dict(graph), sort_keys=True).encode()).hexdigest()
    from neuralforge_desktop.core.training.param_groups import lr_mults

    params = {k: v for k, v in config.to_json().items() if v is not None and v != {} and v != []}
    # Layer-wise learning rates are part of how the run trained: comparable and filterable like lr itself.
    params.update({f"lr_mult/{path}": mult for path, mult in lr_mults(graph).items()})
    environment: dict[str, Any] = {}
    if source is not None:
        from neuralforge_desktop.core.store.environment import source_snapshot

        environment["source"] = source_snapshot(source)
    run = store.create_run(experiment, name, params=params, tags={"graph": graph.name, **(tags or {})},
                           graph_sha256=sha, environment=environment)
    folder = runs_root(Path(store.path)) / run.id
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "graph.nfg", text)
    write_text_atomic(folder / "config.json", json.dumps(config.to_json(), indent=2))
    write_text_atomic(folder / "run.json", json.dumps({"run_id": run.id, "store": str(store.path)}))
    store.log_artifact(run.id, folder / "graph.nfg", "graph.nfg", kind="graph")
    return run.id, folder


class TrainingProcess:
    """One worker. ``events()`` yields its events as they come; ``stop()``/``pause()``/``resume()`` ask it."""

    def __init__(self, run_dir: Path, resume: bool = False, trust_code: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.trust_code = trust_code  # this start allows metrics named "module:function" (the user said so)
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> TrainingProcess:
        self._write_control("run")
        stderr = (self.run_dir / "worker.log").open("a", encoding="utf-8")
        # A data-parallel job gets its own process group, so kill() ends torchrun and every rank it started.
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=stderr, text=True,
                                        bufsize=1, env={**child_environment(), "PYTHONUNBUFFERED": "1",
                                                        **self._store_password()},
                                        start_new_session=self.procs > 1)
        stderr.close()
        return self

    def _store_password(self) -> dict[str, str]:
        """The team store's password for the worker, which opens the store by its URL without one."""
        from neuralforge_desktop.core.store.location import password_environment

        try:
            store = json.loads((self.run_dir / "run.json").read_text(encoding="utf-8")).get("store")
        except (OSError, ValueError, AttributeError):
            return {}
        return password_environment(store) if isinstance(store, str) else {}

    @property
    def procs(self) -> int:
        """The data-parallel processes the run's config asks for (1 when it cannot be read: the worker says why)."""
        try:
            procs = json.loads((self.run_dir / "config.json").read_text(encoding="utf-8")).get("procs")
        except (OSError, ValueError, AttributeError):
            return 1
        return procs if isinstance(procs, int) and procs > 1 else 1

    def command(self) -> list[str]:
        """The worker's argv: this interpreter, with nothing from the working directory importable; torchrun
        for a data-parallel run."""
        return worker_argv(sys.executable, str(self.run_dir), resume=self.resume, trust_code=self.trust_code,
                           procs=self.procs, main_code=run_main_code("neuralforge_desktop.core.training.worker"))

    def events(self) -> Iterator[Event]:
        assert self.process is not None and self.process.stdout is not None
        yield from read_events(self.process.stdout)
        self.process.wait()

    def _write_control(self, command: str) -> None:
        write_text_atomic(self.run_dir / "control.json", json.dumps({"command": command}))

    def stop(self) -> None:
        self._write_control("stop")

    def pause(self) -> None:
        self._write_control("pause")

    def resume_training(self) -> None:
        self._write_control("run")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            if self.procs > 1:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()

    def wait(self, timeout: float | None = None) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stderr_tail(self, lines: int = 20) -> str:
        path = self.run_dir / "worker.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
