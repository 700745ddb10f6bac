"""The Coach while a model trains. The engine feeds it the logged step losses and each epoch's metrics; it reads
the diagnostics the run captures, evaluates the rules at every epoch end (and at once when the loss turns
non-finite, or when it leaps far above its start in the first epoch), and hands back only what is NEW: a
finding whose key was not reported yet, or one whose severity went up.

Everything reported is kept in ``coach.json`` in the run folder, rewritten when something new is found, so the
findings of a run that crashed are there up to the crash; at the end the file is logged as the run's artifact
``coach.json`` (:data:`ARTIFACT`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.training.coach.context import CoachContext, DataFacts, Series
from neuralforge_desktop.core.training.coach.findings import SEVERITIES, Finding
from neuralforge_desktop.core.training.coach.records import RunDiagnostics
from neuralforge_desktop.core.training.coach.report import CoachReport
from neuralforge_desktop.core.training.coach.thresholds import Thresholds, ThresholdsError, load_thresholds

ARTIFACT = "coach.json"
STEP_LOSS = "train/loss_step"
EPOCH_METRICS = ("train/loss", "train/acc", "val/loss", "val/acc")


class LiveCoach:
    def __init__(self, graph: Any, config: Any, data: DataFacts | None = None, *, loss_name: str | None = None,
                 steps_per_epoch: int | None = None, thresholds: Thresholds | None = None,
                 diagnostics: Callable[[], RunDiagnostics | None] = lambda: None, folder: Path | None = None,
                 resumed: bool = False) -> None:
        self.context = CoachContext(graph=graph, config=config, loss_name=loss_name, data=data, status="running",
                                    steps_per_epoch=steps_per_epoch)
        self.thresholds = thresholds or Thresholds()
        self._diagnostics = diagnostics
        self.folder = folder
        self.reported: dict[tuple[str, str | None], Finding] = {}
        self.last_report = CoachReport()
        self._early_checks: set[str] = set()  # the early triggers that already ran (each runs once)
        self._epochs = 0
        if resumed and folder is not None:  # what was reported before the stop stays reported
            for finding in saved_findings(folder):
                self.reported[finding.key] = finding

    @classmethod
    def for_parts(cls, graph: Any, config: Any, parts: Any, diagnostics: Callable[[], RunDiagnostics | None],
                  folder: Path | None, resumed: bool = False) -> LiveCoach:
        """A coach for a run built by ``parts.build_parts``: the facts of the data it loaded, the user's
        thresholds (the defaults when ``coach.json`` is unreadable: advice must never stop a run)."""
        from neuralforge_desktop.core.training.coach.static import data_facts, loss_name

        try:
            thresholds = load_thresholds()
        except ThresholdsError:
            thresholds = Thresholds()
        return cls(graph, config, data_facts(parts.bundle), loss_name=loss_name(graph, parts.task),
                   steps_per_epoch=parts.steps_per_epoch, thresholds=thresholds, diagnostics=diagnostics,
                   folder=folder, resumed=resumed)

    # -- what the engine calls -------------------------------------------------------------------------------
    def step(self, step: int, loss: float) -> list[Finding]:
        """A logged step loss. Evaluates at once when it is non-finite, or when it leaps far above its start
        in the first epoch; otherwise waits for the epoch's end."""
        self._add(STEP_LOSS, step, loss)
        if not math.isfinite(loss):
            return self._early("nonfinite", ("loss_nan", "lr_too_high", "exploding_gradients"))
        if self._epochs == 0 and self._diverging(loss):
            return self._early("diverging", ("lr_too_high", "exploding_gradients"))
        return []

    def epoch_end(self, step: int, metrics: dict[str, float | None]) -> list[Finding]:
        self._epochs += 1
        for name in EPOCH_METRICS:
            value = metrics.get(name)
            if value is not None:
                self._add(name, step, float(value))
        return self._evaluate()

    def finish(self, status: str) -> list[Finding]:
        """The run ended (finished, stopped, failed): the rules that judge a whole run get their turn."""
        self.context.status = status
        return self._evaluate()

    # -- the findings ----------------------------------------------------------------------------------------
    @property
    def findings(self) -> list[Finding]:
        """Everything reported so far (the latest version of each finding)."""
        return list(self.reported.values())

    def report(self) -> CoachReport:
        """What was reported, with the rules the last evaluation could not apply."""
        return CoachReport(self.findings, list(self.last_report.not_applied))

    def _evaluate(self, kinds: tuple[str, ...] | None = None) -> list[Finding]:
        from neuralforge_desktop.core.training.coach.rules import evaluate

        diagnostics = self._diagnostics()  # a run with --diagnostics off has an empty record: none, for the rules
        self.context.diagnostics = diagnostics if diagnostics is not None and diagnostics.level != "off" else None
        report = evaluate(self.context, self.thresholds) if kinds is None else evaluate(
            self.context, self.thresholds, kinds)
        if kinds is None:
            self.last_report = report
        new = []
        for finding in report.findings:
            before = self.reported.get(finding.key)
            if before is None or SEVERITIES.index(finding.severity) > SEVERITIES.index(before.severity):
                new.append(finding)
            self.reported[finding.key] = finding  # the latest evidence, whether new or not
        if new:
            self._save()
        return new

    def _early(self, trigger: str, kinds: tuple[str, ...]) -> list[Finding]:
        if trigger in self._early_checks:
            return []
        self._early_checks.add(trigger)
        return self._evaluate(kinds)

    def _diverging(self, loss: float) -> bool:
        series = self.context.metrics.get(STEP_LOSS) or []
        k = self.context.data.classes if self.context.data is not None else None
        reference = math.log(k) if k and k > 1 else (series[0][1] if series else loss)
        return reference > 0 and loss > self.thresholds.loss_spike_factor * reference

    def _add(self, name: str, step: int, value: float) -> None:
        series: Series = self.context.metrics.setdefault(name, [])
        series.append((step, value))

    def _save(self) -> None:
        if self.folder is None:
            return
        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.folder / ARTIFACT, json.dumps(self.report().to_json(), indent=1, allow_nan=False))

    def save(self) -> Path | None:
        """Write ``coach.json`` now (also when nothing was found: "nothing found" is worth keeping)."""
        if self.folder is None:
            return None
        self._save()
        return self.folder / ARTIFACT


def saved_findings(folder: Path) -> list[Finding]:
    """The findings a run's live Coach reported (``coach.json`` in its folder); none when there is no file or
    it cannot be read."""
    try:
        data = json.loads((folder / ARTIFACT).read_text(encoding="utf-8"))
        return CoachReport.from_json(data).findings
    except (OSError, ValueError, KeyError, TypeError):
        return []


class CoachHook:
    """What the training engine holds: a :class:`LiveCoach` (or none, on the ranks of a data-parallel job that
    do not speak for it), turning new findings into ``coach`` events. Advice must never break training: an
    error inside the Coach is written to the worker's log and turns the Coach off for the rest of the run."""

    def __init__(self, coach: LiveCoach | None = None, emit: Callable[[Finding], None] = lambda finding: None,
                 store: Any = None, run_id: str = "") -> None:
        self.coach = coach
        self.emit = emit
        self.store = store
        self.run_id = run_id

    @classmethod
    def start(cls, trainer: Any, parts: Any, resumed: bool) -> CoachHook:
        from neuralforge_desktop.core.training.events import CoachEvent

        if not trainer.world.main:
            return cls()

        def emit(finding: Finding) -> None:
            trainer.sink(CoachEvent(run_id=trainer.run_id, finding=finding.to_json()))

        hook = cls(None, emit, trainer.store, trainer.run_id)
        hook._guarded(lambda: setattr(hook, "coach", LiveCoach.for_parts(
            trainer.graph, trainer.config, parts, lambda: getattr(trainer, "diagnostics", None), trainer.run_dir,
            resumed)))
        return hook

    def step(self, step: int, loss: float) -> None:
        self._say(lambda coach: coach.step(step, loss))

    def epoch_end(self, step: int, metrics: dict[str, float | None]) -> None:
        self._say(lambda coach: coach.epoch_end(step, metrics))

    def finish(self, status: str) -> None:
        """The run ended: the last evaluation, and ``coach.json`` written and logged as the run's artifact."""
        self._say(lambda coach: coach.finish(status))

        def keep() -> None:
            path = self.coach.save() if self.coach is not None else None
            if path is not None and self.store is not None:
                self.store.log_artifact(self.run_id, path, ARTIFACT, kind="coach")

        self._guarded(keep)

    def _say(self, call: Callable[[LiveCoach], list[Finding]]) -> None:
        coach = self.coach
        if coach is not None:
            for finding in self._guarded(lambda: call(coach)) or []:
                self.emit(finding)

    def _guarded(self, call: Callable[[], Any]) -> Any:
        import sys
        import traceback

        try:
            return call()
        except Exception:  # a bug in the Coach: reported in the log, never a failed run
            print("the training Coach stopped after an error:\n" + traceback.format_exc(), file=sys.stderr)
            self.coach = None
            return None
