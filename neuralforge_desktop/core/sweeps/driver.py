"""Run a sweep: one process asks Optuna for trials (ask/tell) and keeps K training workers going, each a
normal run in the store. Workers' events arrive through one queue (a reader thread per worker: the threads
only read pipes, the work is in the worker processes); each epoch's objective is reported to Optuna, and a
trial the pruner gives up on is stopped through its run's control file.

A variant is costed before it trains: one over the budget, or one whose shapes do not fit, is told to Optuna
as pruned with the reason (``skipped`` user attribute) and never becomes a run. A trial whose run fails is told
as failed with the error, and the sweep goes on. On Ctrl+C the running trials stop at a checkpoint and stay
"running" in the study; :meth:`SweepRunner.run` on the same study (``sweep resume``) first settles the trials
an earlier process left running: finished runs are told, stopped runs resume from their checkpoint, and a run
that never reached one is told as interrupted and its settings are asked again."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import SearchSpace
from neuralforge_desktop.core.sweeps.sweep_file import SweepSpec
from neuralforge_desktop.core.sweeps.variant import build_variant, cost_of, variant_problems
from neuralforge_desktop.core.training.config import ConfigError
from neuralforge_desktop.core.training.events import EpochEvent, Event, FailedEvent, FinishedEvent, StoppedEvent

# (run id, run folder, resume from its checkpoint) -> a started process: events(), stop(), wait(), stderr_tail()
StartProcess = Callable[[str, Path, bool], Any]
Report = Callable[[dict[str, Any]], None]
ORPHAN_WAIT_S = 60.0  # how long a resume waits for a worker of the killed sweep process to stop


@dataclass
class _Active:
    trial: Any  # optuna.trial.Trial
    run_id: str
    process: Any
    final: Event | None = None
    pruning: bool = False  # the pruner asked for the stop
    interrupting: bool = False  # the sweep itself is stopping (Ctrl+C): the trial stays running in the study

    @property
    def number(self) -> int:
        return int(self.trial.number)


class SweepRunner:
    def __init__(self, spec: SweepSpec, graph: Graph, store: Any, study: Any, start_process: StartProcess,
                 report: Report | None = None) -> None:
        self.spec = spec
        self.graph = graph
        self.store = store
        self.study = study
        self.start_process = start_process
        self.report: Report = report or (lambda event: None)
        self.space = spec.search_space(graph)
        self.objective = spec.objective_value
        self.budget = spec.budget_value
        self.multi = len(spec.directions()) > 1
        self.active: dict[int, _Active] = {}
        self.events: queue.Queue[tuple[int, Event | None]] = queue.Queue()
        self.max_skipped = max(50, spec.trials * 20)  # variants over budget before the search gives up

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Run trials until ``spec.trials`` have trained (finished, pruned or failed). Ctrl+C stops the
        running ones at a checkpoint and re-raises."""
        try:
            self.recover()
            while True:
                while len(self.active) < self.spec.parallel and self.counted() + len(self.active) < self.spec.trials:
                    if not self._launch_next():
                        break
                if not self.active:
                    return
                try:
                    number, event = self.events.get(timeout=0.5)
                except queue.Empty:
                    continue
                self._handle(number, event)
        except KeyboardInterrupt:
            self.interrupt()
            raise

    def interrupt(self) -> None:
        """Stop every running trial at a checkpoint and wait for their workers; they stay running in the study.
        A second Ctrl+C kills the workers."""
        for active in self.active.values():
            active.interrupting = True
            active.process.stop()
        try:
            while self.active:
                number, event = self.events.get()
                self._handle(number, event)
        except KeyboardInterrupt:
            for active in self.active.values():
                active.process.kill()
            raise

    def counted(self) -> int:
        """Trials that count toward ``spec.trials``: trained to an end (skipped and interrupted ones do not)."""
        from optuna.trial import TrialState

        return sum(1 for t in self.study.get_trials(deepcopy=False)
                   if t.state != TrialState.RUNNING and not t.user_attrs.get("skipped")
                   and not t.user_attrs.get("interrupted"))

    def _exhausted(self) -> bool:
        from optuna.trial import TrialState

        trials = self.study.get_trials(deepcopy=False)
        skipped = sum(1 for t in trials if t.user_attrs.get("skipped"))
        if skipped >= self.max_skipped:
            self.report({"event": "note", "text": f"stopping: {skipped} variants were skipped (over budget or "
                         "invalid) and too few fit; narrow the space or raise the bounds"})
            return True
        if self.spec.sampler == "grid":
            used = sum(1 for t in trials if not t.user_attrs.get("interrupted")
                       and (t.state != TrialState.RUNNING or t.number in self.active))
            return used >= self.space.grid_size()
        return False

    # -- starting trials -------------------------------------------------------------------------------
    def _launch_next(self) -> bool:
        """Ask for one trial and start it (or tell it skipped/failed); False when no trial can be asked."""
        from neuralforge_desktop.core.training.runner import prepare_run

        if self._exhausted():
            return False
        trial = self.study.ask()
        values = self.space.suggest(trial)
        train, graph_settings = SearchSpace.split(values)
        variant = build_variant(self.graph, graph_settings)
        problems = variant_problems(variant)
        if problems:
            self._skip(trial, values, f"invalid variant: {problems[0]}")
            return True
        cost = cost_of(variant, self.budget.device)
        trial.set_user_attr("cost", cost.to_json())
        over = self.budget.excess(cost)
        if over:
            self._skip(trial, values, f"over budget: {'; '.join(over)}")
            return True
        try:
            config = dataclasses.replace(self.spec.base_config, **train).validate()
        except ConfigError as exc:
            self._fail(trial, f"invalid training settings: {exc}")
            return True
        run_id, folder = prepare_run(variant, config, self.store, self.spec.experiment,
                                     f"{self.spec.id} trial {trial.number}",
                                     tags={"sweep": self.spec.id, "sweep_trial": trial.number})
        self.store.log_params(run_id, {**graph_settings, "cost/params": cost.params, "cost/macs": cost.macs,
                                       "cost/latency_ms": cost.latency_ms})
        trial.set_user_attr("run_id", run_id)
        self._start(trial, run_id, folder, resume=False, params=values)
        return True

    def _start(self, trial: Any, run_id: str, folder: Path, *, resume: bool, params: dict[str, Any]) -> None:
        process = self.start_process(run_id, folder, resume)
        self.active[trial.number] = _Active(trial, run_id, process)
        threading.Thread(target=self._pump, args=(trial.number, process), daemon=True,
                         name=f"sweep-trial-{trial.number}").start()
        self.report({"event": "trial_resumed" if resume else "trial_started", "trial": trial.number,
                     "run_id": run_id, "params": params})

    def _pump(self, number: int, process: Any) -> None:
        try:
            for event in process.events():
                self.events.put((number, event))
        finally:
            self.events.put((number, None))

    # -- following trials -------------------------------------------------------------------------------
    def _handle(self, number: int, event: Event | None) -> None:
        active = self.active.get(number)
        if active is None:
            return
        if event is None:  # the worker's stream ended
            del self.active[number]
            if active.final is None and not active.interrupting:
                self._crashed(active)
            return
        if isinstance(event, EpochEvent) and event.metrics:
            self._epoch(active, event)
        elif event.TERMINAL and active.final is None:
            active.final = event
            self._ended(active, event)

    def _epoch(self, active: _Active, event: EpochEvent) -> None:
        value = event.metrics.get(self.objective.metric)
        self.report({"event": "trial_epoch", "trial": active.number, "epoch": event.epoch, "value": value})
        if value is None or self.multi or active.pruning or active.interrupting:
            return
        active.trial.report(float(value), event.epoch)
        if active.trial.should_prune():
            active.pruning = True
            active.process.stop()  # through the run's control file: the worker stops at its next step

    def _ended(self, active: _Active, event: Event) -> None:
        from optuna.trial import TrialState

        if isinstance(event, FinishedEvent):
            self._tell_finished(active.trial, active.run_id)
        elif isinstance(event, StoppedEvent) and active.pruning:
            self._tell(active.trial, state=TrialState.PRUNED)
            self.report({"event": "trial_done", "trial": active.number, "state": "pruned", "run_id": active.run_id})
        elif isinstance(event, StoppedEvent) and active.interrupting:
            self.report({"event": "trial_interrupted", "trial": active.number, "run_id": active.run_id})
        elif isinstance(event, FailedEvent):
            self._fail(active.trial, event.error, active.run_id)
        else:
            self._fail(active.trial, "the run was stopped from outside the sweep", active.run_id)

    def _crashed(self, active: _Active) -> None:
        run = self.store.get_run(active.run_id)
        if run.status in ("running", "paused"):
            self.store.set_status(active.run_id, "crashed")
        tail = active.process.stderr_tail().strip().splitlines()
        self._fail(active.trial, "the worker exited without finishing" + (f": {tail[-1]}" if tail else ""),
                   active.run_id)

    def _tell_finished(self, trial: Any, run_id: str) -> None:
        value = self.objective_value(run_id)
        if value is None:
            names = ", ".join(self.store.metric_names(run_id)) or "none"
            self._fail(trial, f"the run logged no {self.objective.metric} (its metrics: {names})", run_id)
            return
        cost = trial.user_attrs.get("cost") or {}
        values = [value] + [float(cost[name]) for name in self.budget.objectives()]
        self._tell(trial, values if self.multi else value)
        self.report({"event": "trial_done", "trial": trial.number, "state": "complete", "run_id": run_id,
                     "values": values})

    def _tell(self, trial: Any, values: Any = None, state: Any = None) -> None:
        """``study.tell``. The grid sampler calls ``study.stop()`` when its last point is told, which Optuna
        only allows inside ``study.optimize``; the trial is stored before that error (Optuna stores it in a
        ``finally``), and the runner stops asking on its own when the grid is done."""
        try:
            self.study.tell(trial, values, state=state)
        except RuntimeError as exc:
            if "Study.stop" not in str(exc):
                raise

    def objective_value(self, run_id: str) -> float | None:
        """The run's best epoch value of the objective metric (as recorded in the store)."""
        series = self.store.metric_history(run_id, self.objective.metric)
        values = [float(v) for v in series.values]
        if not values:
            return None
        return max(values) if self.objective.direction == "maximize" else min(values)

    def _skip(self, trial: Any, values: dict[str, Any], reason: str) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("skipped", reason)
        self._tell(trial, state=TrialState.PRUNED)
        self.report({"event": "trial_done", "trial": trial.number, "state": "skipped", "reason": reason,
                     "params": values})

    def _fail(self, trial: Any, error: str, run_id: str | None = None) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("error", error)
        self._tell(trial, state=TrialState.FAIL)
        self.report({"event": "trial_done", "trial": trial.number, "state": "failed", "error": error,
                     "run_id": run_id})

    # -- after a crash or Ctrl+C ----------------------------------------------------------------------------
    def recover(self) -> None:
        """Settle the trials an earlier sweep process left running (see the module docstring)."""
        import optuna
        from optuna.trial import TrialState

        from neuralforge_desktop.core.training.runner import runs_root

        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if frozen.number in self.active:
                continue
            trial = optuna.trial.Trial(self.study, frozen._trial_id)
            run_id = frozen.user_attrs.get("run_id")
            if run_id is None:
                self._requeue(trial, frozen.params, "the sweep stopped before its run was created")
                continue
            run = self._settled_run(run_id)
            folder = runs_root(Path(self.store.path)) / run_id
            if run.status == "finished":
                self._tell_finished(trial, run_id)
            elif (folder / "checkpoints" / "latest.json").exists():
                self._start(trial, run_id, folder, resume=True, params=dict(frozen.params))
            else:
                self._requeue(trial, frozen.params, f"run {run_id} stopped before its first checkpoint")

    def _settled_run(self, run_id: str) -> Any:
        """The run, once no worker of an earlier sweep process still trains it (asked to stop, then waited for)."""
        from neuralforge_desktop.core.ir.atomic import write_text_atomic
        from neuralforge_desktop.core.training.runner import runs_root

        deadline = time.monotonic() + ORPHAN_WAIT_S
        asked = False
        while True:
            self.store.mark_crashed_runs()
            run = self.store.get_run(run_id)
            if run.status not in ("running", "paused") or time.monotonic() > deadline:
                return run
            if not asked:
                folder = runs_root(Path(self.store.path)) / run_id
                write_text_atomic(folder / "control.json", '{"command": "stop"}')
                asked = True
            time.sleep(0.5)

    def _requeue(self, trial: Any, params: dict[str, Any], why: str) -> None:
        """A trial cut short by the sweep's own end: told as failed (``interrupted``, not counted) and its
        settings asked again, so the resumed sweep trains them."""
        from optuna.trial import TrialState

        trial.set_user_attr("interrupted", why)
        self._tell(trial, state=TrialState.FAIL)
        self.study.enqueue_trial(dict(params), skip_if_exists=False)
        self.report({"event": "trial_requeued", "trial": trial.number, "reason": why})
