"""Follow a sweep from outside the process that runs it (the app's Sweep view): read its saved state only when
the study journal grew, and start ``neuralforge sweep`` in its own process.

Reading goes through one Optuna storage kept open: Optuna's journal storage replays only the lines appended
since its last read, so a poll of an unchanged sweep costs one ``stat`` and a poll of a grown one costs the new
lines (plus the importance, recomputed only when another trial completed; a viewer that must not wait for
Optuna's importance evaluator to load scikit-learn, seconds on first use, asks ``sweep show`` for it in
another process instead)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.sweeps.results import param_importance, summarize, write_trial_graph
from neuralforge_desktop.core.sweeps.sweep_file import (
    SweepSpec,
    list_sweep_ids,
    load_sweep,
    sweep_dir,
)

LOG_NAME = "sweep.log"  # the CLI's progress and errors, when the app started the sweep
SPACE_NAME = "space.yaml"
SOURCE_GRAPH_NAME = "source.nfg"  # the graph as the app handed it to the CLI (graph.nfg is the CLI's copy)


class SweepWatch:
    """A sweep on disk, read on demand. :meth:`poll` returns the summary (as ``sweep show --json`` prints
    it) when something changed since the last poll, else None."""

    def __init__(self, store_path: str | os.PathLike[str], sweep_id: str, with_importance: bool = True) -> None:
        self.store_path = Path(store_path)
        self.with_importance = with_importance
        self.sweep_id = sweep_id
        self.folder = sweep_dir(self.store_path, sweep_id)
        self._spec: SweepSpec | None = None
        self._graph: Any = None
        self._study: Any = None
        self._journal_size = -1
        self._complete = -1
        self._importance: tuple[dict[str, float] | None, str | None] = (None, None)
        self.summary: dict[str, Any] | None = None

    @property
    def journal(self) -> Path:
        return self.folder / "study.journal"

    def ready(self) -> bool:
        """The sweep process has saved the sweep and created its study (a moment after it starts)."""
        return (self.folder / "sweep.json").is_file() and self.journal.is_file() and self.journal.stat().st_size > 0

    def poll(self) -> dict[str, Any] | None:
        if not self.ready():
            return None
        size = self.journal.stat().st_size
        if size == self._journal_size and self.summary is not None:
            return None
        self._journal_size = size
        spec, study = self._open()
        complete = sum(1 for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE")
        if complete != self._complete:
            self._complete = complete
            self._importance = (param_importance(study, spec.objective_value.direction == "maximize")
                                if self.with_importance else self._importance)
        self.summary = summarize(spec, study, importance=self._importance)
        return self.summary

    @property
    def complete(self) -> int:
        """Completed trials at the last poll."""
        return max(self._complete, 0)

    def set_importance(self, importance: dict[str, float] | None, note: str | None) -> None:
        """Importance computed elsewhere (``sweep show --json``), kept for the next summaries."""
        self._importance = (importance, note)
        if self.summary is not None:
            self.summary = {**self.summary, "importance": importance, "importance_note": note}

    def spec(self) -> SweepSpec:
        return self._open()[0]

    def trial_graph_file(self, number: int) -> Path:
        """Write trial ``number``'s graph into the sweep's folder (``trials/trial-N.nfg``) and return its path."""
        spec, study = self._open()
        (self.folder / "trials").mkdir(exist_ok=True)
        return write_trial_graph(spec, self._graph, study, number, self.folder / "trials" / f"trial-{number}.nfg")

    def log_tail(self, lines: int = 5) -> str:
        """The end of the sweep process's log (its progress and, if it failed, why)."""
        try:
            text = (self.folder / LOG_NAME).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _open(self) -> tuple[SweepSpec, Any]:
        if self._study is None:
            import optuna
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self._spec, self._graph = load_sweep(self.store_path, self.sweep_id)
            storage = JournalStorage(JournalFileBackend(str(self.journal)))
            self._study = optuna.load_study(study_name=self.sweep_id, storage=storage)
        assert self._spec is not None
        return self._spec, self._study


def list_sweeps(store_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The sweeps beside the store, newest last, from their ``sweep.json`` alone (cheap: no study is read)."""
    rows = []
    for sweep_id in list_sweep_ids(Path(store_path)):
        folder = sweep_dir(Path(store_path), sweep_id)
        try:
            data = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows.append({"sweep": sweep_id, "graph": data.get("graph_name", ""), "objective": data.get("objective", ""),
                     "trials": data.get("trials", 0), "sampler": data.get("sampler", ""),
                     "created": data.get("created", 0.0), "space": list(data.get("space", {}))})
    return rows


@dataclass
class SweepLaunch:
    """What the app asks ``neuralforge sweep`` for. ``train_args`` are train's options as on its command line
    (``--epochs 1``, ``--limit 200`` …), the fixed settings of every trial."""

    store_path: Path
    sweep_id: str
    dataset: str
    trials: int
    parallel: int = 1
    sampler: str | None = None  # None: the CLI's choice (tpe, or nsga2 under a budget)
    pruner: str = "median"
    objective: str = "val/acc:max"
    max_params: int | None = None
    max_macs: float | None = None
    max_latency_ms: float | None = None
    latency_device: str = "cpu"
    experiment: str | None = None
    train_args: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return sweep_dir(self.store_path, self.sweep_id)

    def argv(self) -> list[str]:
        """``neuralforge``'s arguments (the graph and space files are in the sweep's folder)."""
        args = ["sweep", str(self.folder / SOURCE_GRAPH_NAME), "--id", self.sweep_id, "--dataset", self.dataset,
                "--space", str(self.folder / SPACE_NAME), "--trials", str(self.trials),
                "--parallel", str(self.parallel), "--pruner", self.pruner, "--objective", self.objective,
                "--store", str(self.store_path)]
        if self.sampler:
            args += ["--sampler", self.sampler]
        for flag, value in (("--max-params", self.max_params), ("--max-macs", self.max_macs),
                            ("--max-latency-ms", self.max_latency_ms)):
            if value is not None:
                args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if self.max_latency_ms is not None:
            args += ["--latency-device", self.latency_device]
        if self.experiment:
            args += ["--experiment", self.experiment]
        return [*args, *self.train_args]


def start_sweep(launch: SweepLaunch, graph_text: str, space_text: str) -> subprocess.Popen[bytes]:
    """Write the graph and the space into the sweep's folder and start ``neuralforge sweep`` on them, in its
    own process (and session: closing the app does not stop it; ``sweep resume`` is not needed). Its output
    goes to ``sweep.log`` there."""
    from neuralforge_desktop.core.ir.atomic import write_text_atomic
    from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code

    folder = launch.folder
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / SOURCE_GRAPH_NAME, graph_text)
    write_text_atomic(folder / SPACE_NAME, space_text)
    with (folder / LOG_NAME).open("ab") as log:
        return subprocess.Popen(python_command(run_main_code("neuralforge_desktop.cli.main"), *launch.argv()),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**child_environment(), "PYTHONUNBUFFERED": "1"}, cwd=str(folder),
                                start_new_session=True)


def stop_sweep(process: subprocess.Popen[bytes]) -> None:
    """Stop a sweep started by :func:`start_sweep` as Ctrl+C stops one: the sweep process stops its running
    trials at a checkpoint (through their control files) and ``sweep resume`` continues them."""
    import signal

    if process.poll() is not None:
        return
    if os.name == "posix":
        process.send_signal(signal.SIGINT)
    else:  # no Ctrl+C to send to a process without a console: the trials' runs end as crashed
        process.terminate()
