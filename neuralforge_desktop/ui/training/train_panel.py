"""Train the graph being edited: pick a dataset and hyperparameters, start a worker, steer it, watch it.

The panel does what ``neuralforge train`` does (see cli/train_cmds.py): build a TrainConfig, check the
dataset, ``prepare_run`` in the experiment store, start a ``TrainingProcess`` and follow its events. The
worker is a separate process, so a crash or a hung GPU cannot take the editor with it; its events reach the
UI thread through an :class:`EventPump`. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.edit.edits import Edit
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.entities import StoreError
from neuralforge_desktop.core.training.binding import training_problems
from neuralforge_desktop.core.training.coach.records import LEVELS
from neuralforge_desktop.core.training.config import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig
from neuralforge_desktop.core.training.events import (
    EpochEvent,
    Event,
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
)
from neuralforge_desktop.core.training.preflight import Finding, preflight
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors
from neuralforge_desktop.ui.training.curves import CurvesWidget
from neuralforge_desktop.ui.training.event_pump import EventPump
from neuralforge_desktop.ui.training.run_on import RunOnCombo, procs_spin, remote_run
from neuralforge_desktop.ui.training.train_form import DatasetCombo, DecadeSpinBox, DeviceCombo

STATUS_MS = 100  # the status line is rewritten at most this often, however fast step events arrive
ACTIVE = ("starting", "running", "pausing", "paused", "stopping")


def graph_problems(graph: Any, shapes: Any, dataset: Any = None) -> list[str]:
    """Why this graph cannot be trained (on ``dataset``, a DatasetInfo), one message each; empty if it can.

    The worker's own check (core.training.binding, which setup.bind_dataset runs), made here at once instead
    of after the worker has loaded torch and the data."""
    return training_problems(graph, shapes, dataset)


class TrainPanel(QWidget):
    """Dataset and hyperparameters, Start / Pause / Resume / Stop, a status line and live curves.

    Signals: ``run_started(run_id)`` once the worker is launched; ``run_finished(run_id, status)`` once it
    has exited (status: finished, stopped, failed or crashed; the store is final by then)."""

    run_started = Signal(str)
    run_finished = Signal(str, str)

    def __init__(self, bridge: DocumentBridge, store_path: str | Path | None = None,
                 parent: QWidget | None = None, push_edit: Callable[[Edit], Any] | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        # how a Fix changes the graph: the window's undo stack; without one, the document directly
        self._push_edit = push_edit or (lambda edit: self._bridge.document.apply(edit))
        self._told: set[str] = set()  # blocking findings already shown once: a second Start goes ahead
        self._store_path = Path(store_path) if store_path is not None else None
        self._store: Any = None  # opened on the first Start: constructing the panel touches no files
        self._theme = DEFAULT_THEME
        self._state = "idle"
        self._pump: EventPump | None = None
        self._run_id: str | None = None
        self._run_info: dict[str, Any] = {}
        self._last_error = ""
        # settings the form has no field for (a Coach fix's grad_clip, class_weights …), used by every Start
        self.extra_settings: dict[str, Any] = {}
        self.next_run_tags: dict[str, str] = {}  # tags of the next run only (a retrain's parent_run, coach_fix)
        self.amp: bool | None = None  # mixed precision (Preferences): None = on for CUDA, off on CPU; False = off

        self.dataset = DatasetCombo(self)
        self.epochs = self._spin(1, 100_000, 3)
        self.batch_size = self._spin(1, 1 << 20, 64)
        self.lr = DecadeSpinBox(1e-3, minimum=1e-7, maximum=10.0, parent=self)
        self.optimizer = QComboBox(self)
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setCurrentText("adam")
        self.schedule = QComboBox(self)
        self.schedule.addItems(list(SCHEDULES))
        self.weight_decay = DecadeSpinBox(0.0, minimum=1e-6, maximum=1.0, zero_ok=True, parent=self)
        self.seed = self._spin(0, 2**31 - 1, 0)
        self.device = DeviceCombo(self)
        self.limit = self._spin(0, 1 << 30, 0)
        self.limit.setSpecialValueText("all")  # 0 = use every training example
        self.limit.setToolTip("Use at most this many training examples (quick experiments on big datasets)")
        self.experiment = QLineEdit("default", self)
        self.run_name = QLineEdit(self)
        self.run_name.setPlaceholderText("automatic")
        self.run_on = RunOnCombo(self)
        self.procs = procs_spin(self)
        self.diagnostics = QComboBox(self)
        self.diagnostics.addItems(list(LEVELS))
        self.diagnostics.setCurrentText("basic")
        self.diagnostics.setToolTip("What the Coach records while training: off; basic (layer statistics a few "
                                    "times an epoch, about 1–4 % slower); full (also histograms, about 10 %)")

        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        rows: list[list[tuple[str, QWidget]]] = [
            [("Dataset", self.dataset), ("Limit", self.limit), ("Experiment", self.experiment),
             ("Run name", self.run_name)],
            [("Epochs", self.epochs), ("Batch size", self.batch_size), ("Learning rate", self.lr),
             ("Optimizer", self.optimizer)],
            [("Schedule", self.schedule), ("Weight decay", self.weight_decay), ("Seed", self.seed),
             ("Device", self.device)],
            [("Run on", self.run_on), ("Processes", self.procs), ("Diagnostics", self.diagnostics)],
        ]
        for r, row in enumerate(rows):
            for k, (text, widget) in enumerate(row):
                label = QLabel(text, self)
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                label.setBuddy(widget)
                form.addWidget(label, r, 2 * k)
                form.addWidget(widget, r, 2 * k + 1)
        for k in range(4):
            form.setColumnStretch(2 * k + 1, 2 if k == 0 else 1)  # dataset titles are the longest texts

        self.start_button = QPushButton("Start", self)
        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.stop_button = QPushButton("Stop", self)
        self.start_button.setDefault(True)
        self.start_button.setToolTip("Train the current graph in a worker process")
        self.stop_button.setToolTip("Stop after the current step; a checkpoint is written so the run can resume")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        self.state_label = QLabel(self)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.state_label, 1)

        self.message = QLabel(self)  # why Start refused, or why the run failed
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.fixes = QHBoxLayout()  # one "Fix: …" button per finding that has a fix, under the message
        self.status_line = QLabel("Not running", self)
        self.status_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = CurvesWidget(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(self.fixes)
        layout.addWidget(self.status_line)
        layout.addWidget(self.curves, 1)

        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_MS)
        self._status_timer.timeout.connect(self._show_status)
        self.set_theme(DEFAULT_THEME)
        self._set_state("idle")
        # The panel follows the open document: another file must not show the last file's curves or error.
        bridge.replaced.connect(self._on_document_replaced)

    # -- public ------------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """idle, starting, running, pausing, paused, stopping (then idle again once the worker exits)."""
        return self._state

    @property
    def run_id(self) -> str | None:
        """The run being trained, or the last one."""
        return self._run_id

    @property
    def pump(self) -> EventPump | None:
        return self._pump

    @property
    def last_error(self) -> str:
        return self._last_error

    def status_text(self) -> str:
        return self.status_line.text()

    def store(self) -> Any:
        if self._store is None:
            from neuralforge_desktop.core.store.sqlite_store import Store

            self._store = Store(self._store_path)
        return self._store

    def config(self) -> TrainConfig:
        """The settings as shown, with :attr:`extra_settings` (not yet validated)."""
        shown = TrainConfig(dataset=self.dataset.dataset(), epochs=self.epochs.value(),
                           batch_size=self.batch_size.value(), lr=self.lr.value(),
                           optimizer=self.optimizer.currentText(), schedule=self.schedule.currentText(),
                           weight_decay=self.weight_decay.value(), seed=self.seed.value(),
                           device=self.device.device(), limit=self.limit.value() or None,
                           procs=self.procs.value() if self.procs.value() > 1 else None,
                           diagnostics=self.diagnostics.currentText(), amp=self.amp)
        return dataclasses.replace(shown, **self.extra_settings) if self.extra_settings else shown

    def set_config(self, config: TrainConfig) -> None:
        """Show ``config``'s settings (e.g. to repeat an earlier run)."""
        if config.dataset:
            self.dataset.set_dataset(config.dataset)
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.lr.setValue(config.lr)
        self.optimizer.setCurrentText(config.optimizer)
        self.schedule.setCurrentText(config.schedule)
        self.weight_decay.setValue(config.weight_decay)
        self.seed.setValue(config.seed)
        self.device.set_device(config.device)
        self.limit.setValue(config.limit or 0)
        self.procs.setValue(config.procs or 1)
        self.diagnostics.setCurrentText(config.diagnostics)

    def start(self) -> bool:
        """Check graph and settings, create the run and launch its worker; False (with a message) if refused."""
        if self._state in ACTIVE:
            return False
        problems = self._problems()
        if problems:
            self._show_message("Cannot start training:\n" + "\n".join(f"• {p}" for p in problems))
            return False
        findings = self._findings()
        blocking = [f for f in findings if f.blocking and f.message not in self._told]
        if blocking:  # shown once with its fixes; pressing Start again trains the graph as it is
            self._told.update(f.message for f in blocking)
            self._show_message("Check before training (press Start again to train as it is):\n"
                               + "\n".join(f"• {f.message}" for f in findings))
            self._show_fixes(findings)
            return False
        config = self.config()
        from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

        document = self._bridge.document
        tags, self.next_run_tags = self.next_run_tags, {}
        try:
            run_id, folder = prepare_run(document.graph, config, self.store(),
                                         self.experiment.text().strip() or "default",
                                         self.run_name.text().strip() or None, tags=tags,
                                         source=document.path)
        except (OSError, ValueError, StoreError, UserError) as exc:  # tell the user; the panel stays usable
            self._show_message(f"Could not create the run: {exc}")
            return False
        try:
            host = self.run_on.host_name()
            # A host's run connects and uploads in the event reader's thread: the window stays responsive.
            process = remote_run(run_id, folder, host, self.store()) if host else TrainingProcess(folder).start()
        except OSError as exc:
            self._set_run_status(run_id, "failed")  # else it would stay "running", owned by this live process
            self._show_message(f"Could not start the training worker: {exc}")
            return False
        notes = [f.message for f in findings if not f.blocking]
        self._show_message("\n".join(f"Note: {m}" for m in notes))
        self._run_id = run_id
        self._run_info = {"run_id": run_id, "epochs": config.epochs, "dataset": config.dataset}
        self.curves.clear()
        if self._pump is not None:
            self._pump.deleteLater()  # the previous run's, finished (Start is only enabled when idle)
        self._pump = EventPump(process, self)
        self._pump.event.connect(self._on_event)
        self._pump.finished.connect(self._on_exit)
        self._pump.start()
        self._set_state("starting")
        self._show_status()
        self.run_started.emit(run_id)
        return True

    def pause(self) -> None:
        if self._pump is not None and self._state == "running":
            self._pump.process.pause()
            self._set_state("pausing")  # "paused" once the worker confirms between two steps

    def resume(self) -> None:
        if self._pump is not None and self._state in ("pausing", "paused"):
            self._pump.process.resume_training()
            self._set_state("running")

    def stop(self) -> None:
        if self._pump is not None and self._state in ACTIVE and self._state != "stopping":
            self._pump.process.stop()
            self._set_state("stopping")

    def shutdown(self, timeout: float = 10.0) -> None:
        """End a running worker (stop with a checkpoint, kill if it does not finish within ``timeout``) and
        join its reader. Call before the application quits."""
        self.device.shutdown()
        pump = self._pump
        if pump is None or pump.returncode is not None:
            return
        pump.process.stop()
        try:
            pump.process.wait(timeout)
        except subprocess.TimeoutExpired:  # the worker is stuck (in a data loader, a driver …)
            pump.process.kill()
        pump.wait(int(timeout * 1000))

    def set_theme(self, name: str) -> None:
        self._theme = name
        self.curves.set_theme(name)
        c = plot_colors(name)
        self.message.setStyleSheet(f"color: {c.error};")
        self.status_line.setStyleSheet("font-weight: 600;")
        self.state_label.setStyleSheet(f"color: {c.muted};")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- events ------------------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        info = self._run_info
        if isinstance(event, StartedEvent):
            info.update(device=event.device, params=event.params, dataset=event.dataset, epochs=event.epochs,
                        steps_per_epoch=event.steps_per_epoch)
            if self._state == "starting":
                self._set_state("running")
        elif isinstance(event, StepEvent):
            info.update(epoch=event.epoch, step=event.step, loss=event.loss, samples_per_s=event.samples_per_s)
        elif isinstance(event, EpochEvent):
            metrics = event.metrics
            info.update(epoch_done=event.epoch, step=event.step, best=event.best, best_epoch=event.best_epoch)
            if "train/loss" in metrics:
                info["epoch_loss"] = metrics["train/loss"]
            if metrics:  # the worker ranks epochs by val acc, else val loss, else train loss
                info["best_kind"] = ("val acc" if "val/acc" in metrics else
                                     "val loss" if "val/loss" in metrics else "train loss")
            if event.note:
                info["note"] = event.note
        elif isinstance(event, PausedEvent):
            self._set_state("paused")
            self._show_status()
        elif isinstance(event, ResumedEvent):
            if self._state in ("paused", "pausing"):
                self._set_state("running")
        elif event.TERMINAL:
            info["terminal"] = event.kind
            if isinstance(event, FinishedEvent):
                info.update(best=event.best, best_epoch=event.best_epoch, seconds=event.seconds, final=event.final)
            elif isinstance(event, FailedEvent):
                self._show_message(f"Training failed: {event.error}", event.traceback)
            self._set_state("ending")
        self.curves.add_event(event)
        if isinstance(event, PausedEvent) or event.TERMINAL:
            self.curves.flush()  # nothing more is coming for a while: show the last points now
        if not self._status_timer.isActive():
            self._status_timer.start()

    def _on_exit(self, code: int) -> None:
        pump = self._pump
        run_id = self._run_id or ""
        status = self._run_info.get("terminal")
        if status is None:
            # The worker died without reporting (killed, out of memory, an import error): record it as
            # crashed, since no process will ever finish this run.
            status = "crashed"
            tail = pump.process.stderr_tail() if pump is not None else ""
            self._show_message(f"The training worker exited ({code}) without finishing.", tail)
            self._set_run_status(run_id, "crashed")
        self._run_info["terminal"] = status
        self.curves.flush()
        self._set_state("idle")
        self._show_status()
        self.run_finished.emit(run_id, status)

    def _set_run_status(self, run_id: str, status: str) -> None:
        """End a run no worker will ever end (only if it still looks alive in the store)."""
        try:
            store = self.store()
            if store.get_run(run_id).status in ("running", "paused"):
                store.set_status(run_id, status)
        except (OSError, StoreError) as exc:  # the message shown already tells the user what happened
            self._last_error += f"\n(could not mark the run {status}: {exc})"

    def _on_document_replaced(self) -> None:
        """A new or opened graph: forget the previous document's finished run, its curves and its message.
        A run still in progress keeps being shown (it goes on training the graph it started with) until it
        ends; the next Start trains the open document."""
        if self._state in ACTIVE or self._state == "ending":
            return
        self.curves.clear()
        self._run_id = None
        self._run_info = {}
        self._told.clear()  # a new graph's findings are shown before its first run too
        self._show_message("")
        self._set_state("idle")
        self._show_status()

    # -- helpers -----------------------------------------------------------------------------------------
    def _problems(self) -> list[str]:
        spec = self.dataset.dataset()
        if not spec:
            return ["choose a dataset"]
        from neuralforge_desktop.core.training.datasets import list_datasets

        builtins = {d.name: d for d in list_datasets()}
        info = builtins.get(spec)
        problems: list[str] = []
        if info is not None and not info.available:
            problems.append(f"dataset {spec} is not available here: {info.how_to_get}")
        elif info is None and not Path(spec).expanduser().exists():
            problems.append(f"dataset {spec}: no such file or folder")
        try:
            self.config().validate()
        except ConfigError as exc:
            problems.append(str(exc))
        document = self._bridge.document
        return graph_problems(document.graph, document.shapes, info) + problems

    def _findings(self) -> list[Finding]:
        from neuralforge_desktop.core.training.datasets import list_datasets

        info = {d.name: d for d in list_datasets()}.get(self.dataset.dataset())
        document = self._bridge.document
        return preflight(document.graph, document.shapes, info)

    def _show_fixes(self, findings: list[Finding]) -> None:
        for finding in findings:
            if finding.fix is not None:
                button = QPushButton(finding.fix_label or "Fix", self)
                button.clicked.connect(lambda _=False, f=finding: self._apply_fix(f))
                self.fixes.addWidget(button)
        self.fixes.addStretch(1)

    def _apply_fix(self, finding: Finding) -> None:
        """Change the graph as the finding says (undoable), then show what is still left to tell."""
        assert finding.fix is not None
        self._push_edit(finding.fix)
        left = [f for f in self._findings() if f.blocking]
        self._show_message("\n".join(f"• {f.message}" for f in left) if left
                           else f"Done: {finding.fix_label.removeprefix('Fix: ')}. Press Start to train.")
        self._show_fixes([f for f in left if f.fix is not None])

    def _show_message(self, text: str, details: str = "") -> None:
        self._clear_fixes()
        self._last_error = text
        self.message.setText(text)
        self.message.setToolTip(details)
        self.message.setVisible(bool(text))

    def _clear_fixes(self) -> None:
        while (item := self.fixes.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()

    def _set_state(self, state: str) -> None:
        self._state = state
        active = state in ACTIVE or state == "ending"
        self.start_button.setEnabled(not active)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state in ("pausing", "paused"))
        self.stop_button.setEnabled(state in ("starting", "running", "pausing", "paused"))
        for widget in (self.dataset, self.epochs, self.batch_size, self.lr, self.optimizer, self.schedule,
                       self.weight_decay, self.seed, self.device, self.limit, self.experiment, self.run_name,
                       self.run_on, self.procs, self.diagnostics):
            widget.setEnabled(not active)
        words = {"idle": "", "starting": "starting the worker (loading torch and the data) …",
                 "running": "training", "pausing": "pausing after the current step …", "paused": "paused",
                 "stopping": "stopping after the current step (writing a checkpoint) …",
                 "ending": "finishing …"}
        run = f"run {self._run_id}" if self._run_id else ""
        self.state_label.setText(" · ".join(p for p in (run, words.get(state, state)) if p))

    def _show_status(self) -> None:
        self._status_timer.stop()
        self.status_line.setText(status_text(self._run_info, self._state))

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.setGroupSeparatorShown(True)
        return box


def status_text(info: dict[str, Any], state: str) -> str:
    """One line: epoch x/y, loss, samples/s and the best validation metric so far (or the outcome)."""
    if not info:
        return "Not running"
    parts: list[str] = []
    epochs = info.get("epochs") or "?"
    terminal = info.get("terminal")
    if terminal:
        parts.append(terminal.capitalize())
        parts.append(f"{info.get('epoch_done', 0)}/{epochs} epochs")
    elif state == "starting":
        parts.append(f"Starting · {info.get('dataset')} · {epochs} epochs")
    else:
        epoch = info.get("epoch") or (info.get("epoch_done") or 0) + 1
        parts.append(f"Epoch {min(epoch, int(epochs)) if isinstance(epochs, int) else epoch}/{epochs}")
        if info.get("step") is not None and info.get("steps_per_epoch"):
            parts.append(f"step {info['step']:,}/{info['steps_per_epoch'] * info.get('epochs', 1):,}")
    loss = info.get("loss") if not terminal else info.get("epoch_loss", info.get("loss"))
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    if info.get("samples_per_s") and not terminal:
        parts.append(f"{info['samples_per_s']:,.0f} samples/s")
    best = info.get("best")
    if best is not None:
        kind = info.get("best_kind", "val acc")
        value = f"{best:.2%}" if kind == "val acc" else f"{best:.4g}"
        epoch_note = f" (epoch {info['best_epoch']})" if info.get("best_epoch") else ""
        dataset = info.get("dataset")
        if isinstance(dataset, dict) and dataset.get("task") == "language-modeling" and kind != "val acc":
            value += f", perplexity {math.exp(best):.4g}" if best < 700 else ", perplexity ∞"
        parts.append(f"best {kind} {value}{epoch_note}")
    final = info.get("final") or {}
    if terminal == "finished" and final.get("acc") is not None and final.get("split") == "test":
        parts.append(f"test acc {final['acc']:.2%}")
    if terminal and info.get("seconds"):
        parts.append(f"{info['seconds']:.1f} s")
    if info.get("note"):
        parts.append(str(info["note"]))
    return " · ".join(parts)


__all__ = ["TrainPanel", "graph_problems", "status_text"]
