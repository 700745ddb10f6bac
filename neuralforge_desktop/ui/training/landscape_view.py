"""The Loss Landscape window of a run (Runs dock ▸ right-click ▸ Loss Landscape…): choose a surface around a
checkpoint or a line between two, Compute, watch the progress, and read the contour plot.

The landscape is computed by the worker process (``core/training/coach/landscape_worker.py``) through a
``QProcess``: its JSON lines arrive as signals, so the UI thread never waits and a crash there leaves the app
standing. Cancel asks the worker to stop (SIGTERM) at the next point."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.measure.process import parse_event
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code
from neuralforge_desktop.core.training.coach.landscape import (
    DEFAULT_EXAMPLES,
    DEFAULT_GRID,
    DEFAULT_POINTS,
    MAX_GRID,
    LandscapeError,
    LandscapeRequest,
    LandscapeResult,
    checkpoint_tags,
)
from neuralforge_desktop.core.training.coach.landscape_worker import WORKER, request_args
from neuralforge_desktop.ui.theme import DEFAULT_THEME
from neuralforge_desktop.ui.training.landscape_plot import LandscapePlot

LATEST = "latest"


class LandscapeView(QDialog):
    """The landscape of run ``run_id`` (its folder ``run_dir``, in the store at ``store_path``).
    ``finished_computing(ok)`` when a computation ends (True with a result shown)."""

    finished_computing = Signal(bool)

    def __init__(self, store_path: str | Path, run_id: str, run_name: str, run_dir: Path,
                 parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Loss Landscape — {run_name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.store_path, self.run_id, self.run_name, self.run_dir = str(store_path), run_id, run_name, run_dir
        self._process: QProcess | None = None
        self._buffer = b""
        self._last: dict[str, Any] = {}
        self._scratch = tempfile.TemporaryDirectory(prefix="neuralforge-landscape-")
        self._out = Path(self._scratch.name) / "landscape.json"  # where the worker writes its result
        self.result: LandscapeResult | None = None
        tags = checkpoint_tags(run_dir)

        self.surface_mode = QRadioButton("Surface around a checkpoint", self)
        self.line_mode = QRadioButton("Line between two checkpoints", self)
        self.surface_mode.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.surface_mode)
        modes.addButton(self.line_mode)
        self.center_box = QComboBox(self)
        self.center_box.addItems([LATEST, *tags])
        self.center_box.setToolTip("the checkpoint at the centre of the surface (latest: the newest)")
        self.a_box = QComboBox(self)
        self.a_box.addItems(tags)
        self.b_box = QComboBox(self)
        self.b_box.addItems(tags)
        if tags:
            self.b_box.setCurrentIndex(len(tags) - 1)
        self.grid_spin = QSpinBox(self)
        self.grid_spin.setRange(3, MAX_GRID)
        self.grid_spin.setValue(DEFAULT_GRID)
        self.grid_spin.setToolTip("G × G points over [−1, 1]²; time grows with G²")
        self.points_spin = QSpinBox(self)
        self.points_spin.setRange(3, 10 * MAX_GRID)
        self.points_spin.setValue(DEFAULT_POINTS)
        self.examples_spin = QSpinBox(self)
        self.examples_spin.setRange(10, 100_000)
        self.examples_spin.setSingleStep(100)
        self.examples_spin.setValue(DEFAULT_EXAMPLES)
        self.examples_spin.setToolTip("training examples (a fixed, seeded subset) the loss is evaluated on")
        self.compute_button = QPushButton("Compute", self)
        self.compute_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m evaluations")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.plot = LandscapePlot(self, theme)

        form = QGridLayout()
        form.addWidget(self.surface_mode, 0, 0)
        form.addWidget(self.center_box, 0, 1)
        form.addWidget(QLabel("grid", self), 0, 2, Qt.AlignmentFlag.AlignRight)
        form.addWidget(self.grid_spin, 0, 3)
        form.addWidget(self.line_mode, 1, 0)
        between = QHBoxLayout()
        between.addWidget(QLabel("A", self))
        between.addWidget(self.a_box, 1)
        between.addWidget(QLabel("B", self))
        between.addWidget(self.b_box, 1)
        form.addLayout(between, 1, 1)
        form.addWidget(QLabel("points", self), 1, 2, Qt.AlignmentFlag.AlignRight)
        form.addWidget(self.points_spin, 1, 3)
        form.addWidget(QLabel("examples", self), 0, 4, Qt.AlignmentFlag.AlignRight)
        form.addWidget(self.examples_spin, 0, 5)
        form.setColumnStretch(1, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.resize(860, 900)

        self.surface_mode.toggled.connect(self._mode_changed)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self._mode_changed()
        if not tags:
            self.compute_button.setEnabled(False)
            self.status.setText(f"Run {run_name} has no checkpoints yet: train it for at least one epoch.")
        else:
            self.status.setText("Choose what to compute, then Compute. The loss is evaluated in a separate "
                                "process on a fixed, seeded subset of the training data.")

    # -- what to compute ---------------------------------------------------------------------------------
    def request(self) -> LandscapeRequest:
        if self.line_mode.isChecked():
            return LandscapeRequest(between=(self.a_box.currentText(), self.b_box.currentText()),
                                    points=self.points_spin.value(), examples=self.examples_spin.value())
        center = self.center_box.currentText()
        return LandscapeRequest(checkpoint=None if center == LATEST else center, grid=self.grid_spin.value(),
                                examples=self.examples_spin.value())

    def _mode_changed(self) -> None:
        surface = self.surface_mode.isChecked()
        for widget in (self.center_box, self.grid_spin):
            widget.setEnabled(surface)
        for widget in (self.a_box, self.b_box, self.points_spin):
            widget.setEnabled(not surface)

    @property
    def computing(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    # -- the worker ----------------------------------------------------------------------------------------
    def compute(self) -> None:
        if self.computing:
            return
        request = self.request()
        try:
            request.validate()
        except LandscapeError as exc:
            self.status.setText(str(exc))
            return
        self._out.unlink(missing_ok=True)
        self._buffer, self._last = b"", {}
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in {**child_environment(), "PYTHONUNBUFFERED": "1"}.items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._worker_finished)
        process.errorOccurred.connect(self._worker_error)
        self._process = process
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the worker says how many points
        self.status.setText("Starting the worker (loading the model and the data) …")
        program, *arguments = python_command(run_main_code(WORKER),
                                             *request_args(self.store_path, self.run_id, request, self._out))
        process.start(program, arguments)

    def cancel(self) -> None:
        if self.computing and self._process is not None:
            self.status.setText("Stopping …")
            self._process.terminate()  # the worker stops at the next point and says so

    def wait_until_done(self, msecs: int = 120_000) -> bool:
        """Block until the computation ends (tests, scripts); True if a result is shown."""
        if self._process is not None and self.computing:
            self._process.waitForFinished(msecs)
        return self.result is not None and not self.computing

    def _read_output(self) -> None:
        assert self._process is not None
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            event = parse_event(line.decode("utf-8", errors="replace"))
            if event is not None:
                self._on_event(event)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "progress":
            total = int(event["total"])
            if self.progress.maximum() != total:
                self.progress.setRange(0, total)
            self.progress.setValue(int(event["done"]))
        elif kind == "started":
            what = (f"the surface around {event['checkpoint']}" if event["kind"] == "surface"
                    else f"the line from {event['checkpoint']} to {event['checkpoint_b']}")
            self.status.setText(f"Computing {what} …")
        else:
            self._last = event

    def _worker_finished(self, code: int, _status: Any) -> None:
        self._read_output()
        self.compute_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        kind = self._last.get("event")
        ok = False
        if kind == "done":
            try:
                self.show_result(LandscapeResult.load(self._out))
                ok = True
            except LandscapeError as exc:
                self.status.setText(str(exc))
        elif kind == "cancelled":
            self.status.setText("Cancelled: nothing was computed to the end.")
        elif kind == "failed":
            self.status.setText(f"Could not compute the landscape: {self._last.get('error')}")
        else:
            self.status.setText(f"The worker stopped without a result (exit status {code}).")
        if not ok:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self.finished_computing.emit(ok)

    def _worker_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.status.setText("The worker process could not start.")
            self.compute_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.finished_computing.emit(False)

    # -- the result --------------------------------------------------------------------------------------------
    def show_result(self, result: LandscapeResult) -> None:
        self.result = result
        self.plot.show_result(result)
        points = len(result.losses) * (len(result.losses[0]) if result.kind == "surface" else 1)
        # The worker's count: the points, and the centre (a surface) or both ends (a line) on their own.
        evaluations = points + (1 if result.kind == "surface" else 2)
        self.progress.setRange(0, evaluations)
        self.progress.setValue(evaluations)
        self.status.setText(f"Done in {result.seconds:.1f} s: {points} points on {result.examples:,} examples.")

    def closeEvent(self, event: Any) -> None:
        if self._process is not None and self.computing:
            self._process.kill()
            self._process.waitForFinished(2000)
        super().closeEvent(event)
