"""The Pipeline view: a pipeline run's stages as a left-to-right diagram with live status, and the selected stage's
outputs, pass conditions and failure below.

A pipeline runs in its own process (``neuralforge pipeline run FILE --json``, started here by Run File… or from a
terminal); this view only reads the store, off the UI thread (:class:`.poller.PipelinePoller`), once a second.
It follows the newest run unless one is chosen in the list."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.pipeline.diagram import StageBox, StageDiagram, duration_text, stage_color
from neuralforge_desktop.ui.pipeline.poller import PipelinePoller, PipelineSnapshot
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors

POLL_MS = 1000
LATEST = "__latest__"


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _time_text(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "—"


class PipelineView(QWidget):
    """Pipeline runs of the store at ``store_path``."""

    def __init__(self, store_path: str | os.PathLike[str], theme: str = DEFAULT_THEME,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pipeline_view")
        self.setWindowTitle("Pipelines")
        self.store_path = Path(store_path)
        self.colors = plot_colors(theme)
        self.record: Any | None = None  # the PipelineRun shown
        self.process: subprocess.Popen[bytes] | None = None  # a pipeline this view started
        self._pinned: str | None = None  # a run chosen in the list; None follows the newest
        self._selected_by_user = False

        self.chooser = QComboBox(self)
        self.chooser.setObjectName("pipeline_runs")
        self.chooser.setMinimumContentsLength(40)
        self.chooser.setToolTip("Which pipeline run to show; “Newest” follows each new run")
        self.chooser.activated.connect(self._on_chosen)
        self.run_button = QPushButton("Run File…", self)
        self.run_button.setToolTip("Run a pipeline YAML file in its own process (`neuralforge pipeline run`); "
                                   "a file whose last run failed continues from the failed stage")
        self.run_button.clicked.connect(self._ask_file)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the pipeline this view started: the running stage is recorded as "
                                    "interrupted")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.title = QLabel(self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)

        self.diagram = StageDiagram(theme, self)
        self.diagram.stage_selected.connect(self._on_stage_selected)
        scroll = QScrollArea(self)
        scroll.setWidget(self.diagram)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(self.diagram.sizeHint().height() + 24)
        self.details = QTextBrowser(self)
        self.details.setObjectName("pipeline_stage_details")
        self.details.setOpenLinks(False)

        header = QHBoxLayout()
        header.addWidget(QLabel("Run", self))
        header.addWidget(self.chooser, 1)
        header.addWidget(self.run_button)
        header.addWidget(self.stop_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(scroll)
        split.addWidget(self.details)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

        self.poller = PipelinePoller(self.store_path, self)
        self.poller.snapshot.connect(self.show_snapshot)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- reading --------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for a new read (answered by :meth:`show_snapshot` on this thread)."""
        self.poller.request(self._pinned)
        if self.process is not None and self.process.poll() is not None:
            self.process = None
            self.stop_button.setEnabled(False)

    def show_snapshot(self, snapshot: PipelineSnapshot) -> None:
        if snapshot.error is not None:
            self.title.setText(f"Cannot read the store {self.store_path}: {snapshot.error}")
            return
        self._fill_chooser(snapshot.runs)
        self.record = snapshot.shown
        if self.record is None:
            self.title.setText(f"No pipeline runs in {self.store_path} yet: Run File… starts one "
                               "(see docs/examples/pipeline.yaml)")
            self.diagram.set_stages([])
            self.details.clear()
            return
        record = self.record
        color = stage_color({"running": "running", "passed": "passed"}.get(record.status, "failed"), self.colors)
        resumed = f" · continues run {record.resumed_from}" if record.resumed_from else ""
        self.title.setText(f"<b>{html.escape(record.name)}</b> · run {record.id} · "
                           f"<span style='color:{color}'>{record.status}</span>{resumed} · "
                           f"{html.escape(record.file)}")
        self.diagram.set_stages([StageBox(s.name, s.kind, s.status, s.seconds, s.reused_from is not None)
                                 for s in record.stages])
        if not self._selected_by_user:  # follow what matters: the failed stage, else the running, else the last
            focus = next((s.position for s in record.stages if s.status == "failed"), None)
            focus = focus if focus is not None else next((s.position for s in record.stages
                                                          if s.status == "running"), None)
            if focus is None:
                done = [s.position for s in record.stages if s.status != "pending"]
                focus = done[-1] if done else 0
            self.diagram.select(focus)
        self._show_stage(self.diagram.selected)

    def _fill_chooser(self, runs: list[Any]) -> None:
        items = [(LATEST, "Newest run")] + [
            (r.id, f"{r.id} · {r.name} · {r.status} · {_time_text(r.created)}") for r in runs]
        current = [(self.chooser.itemData(i), self.chooser.itemText(i)) for i in range(self.chooser.count())]
        if items == current:
            return
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for key, text in items:
            self.chooser.addItem(text, key)
        index = self.chooser.findData(self._pinned or LATEST)
        self.chooser.setCurrentIndex(max(index, 0))
        self.chooser.blockSignals(False)

    def _on_chosen(self, index: int) -> None:
        key = self.chooser.itemData(index)
        self._pinned = None if key in (None, LATEST) else str(key)
        self._selected_by_user = False
        self.refresh()

    def _on_stage_selected(self, position: int) -> None:
        if self.diagram.hasFocus() or self.diagram.underMouse():
            self._selected_by_user = True
        self._show_stage(position)

    def _show_stage(self, position: int | None) -> None:
        if self.record is None or position is None or position >= len(self.record.stages):
            self.details.clear()
            return
        self.details.setHtml(stage_html(self.record.stages[position], self.colors))

    # -- running --------------------------------------------------------------------------------------------
    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Run a pipeline file", "", "Pipeline files (*.yaml *.yml)")
        if path:
            self.run_file(path)

    def run_file(self, path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Start ``neuralforge pipeline run PATH`` in its own process and follow the newest run."""
        from neuralforge_desktop.core.pipeline.deploy_stages import cli_command
        from neuralforge_desktop.core.training.child_python import child_environment

        log = self.store_path.parent / "pipelines" / "app-started.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                cli_command("pipeline", "run", str(Path(path).resolve()), "--json", "--store", str(self.store_path)),
                stdout=subprocess.DEVNULL, stderr=out, stdin=subprocess.DEVNULL,
                env={**child_environment(), "PYTHONUNBUFFERED": "1"})
        self._pinned = None
        self._selected_by_user = False
        self.stop_button.setEnabled(True)
        self.refresh()
        return self.process

    def stop(self) -> None:
        """Stop the pipeline this view started, as Ctrl+C would (it records the running stage as interrupted)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def closeEvent(self, event: Any) -> None:  # Qt names this method
        self.timer.stop()
        self.poller.stop()
        super().closeEvent(event)


def stage_html(stage: Any, colors: Any) -> str:
    """The selected stage: status, times, failure, pass conditions, outputs and artifacts."""
    from neuralforge_desktop.core.pipeline.runner import condition_text

    color = stage_color(stage.status, colors)
    parts = [f"<h3>{html.escape(stage.name)} <span style='color:{colors.muted}'>({html.escape(stage.kind)})</span> "
             f"<span style='color:{color}'>{stage.status}</span></h3>",
             f"<p>started {_time_text(stage.started)} · ended {_time_text(stage.ended)}"
             + (f" · {duration_text(stage.seconds)}" if stage.seconds is not None else "") + "</p>"]
    if stage.reused_from:
        parts.append(f"<p>Reused from pipeline run {html.escape(stage.reused_from)} (unchanged since it passed "
                     "there).</p>")
    if stage.message and stage.status == "failed" and all(c["passed"] for c in stage.checks):  # else listed below
        parts.append(f"<p style='color:{colors.error}'><b>Failed:</b> "
                     f"{html.escape(stage.message).replace(chr(10), '<br>')}</p>")
    if stage.checks:
        rows = "".join(f"<li style='color:{colors.ok if c['passed'] else colors.error}'>"
                       f"{'✓' if c['passed'] else '✗'} {html.escape(condition_text(c))}</li>" for c in stage.checks)
        parts.append(f"<p><b>Pass conditions</b></p><ul>{rows}</ul>")
    if stage.outputs:
        rows = "".join(f"<tr><td style='padding-right:16px'>{html.escape(k)}</td>"
                       f"<td><code>{html.escape(_value_text(v))}</code></td></tr>" for k, v in stage.outputs.items())
        parts.append(f"<p><b>Outputs</b></p><table>{rows}</table>")
    if stage.artifacts:
        items = "".join(f"<li><code>{html.escape(a)}</code></li>" for a in stage.artifacts)
        parts.append(f"<p><b>Artifacts</b></p><ul>{items}</ul>")
    if stage.status == "pending":
        parts.append(f"<p style='color:{colors.muted}'>Not run yet.</p>")
    return "".join(parts)


def open_pipeline_view(window: Any) -> PipelineView:
    """A Pipeline view of ``window``'s store in its own window (Train ▸ Pipelines…)."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = PipelineView(store_path, window.theme, window)
    view.setWindowFlag(Qt.WindowType.Window)  # its own window, closed with the main one
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1300, 760)
    view.show()
    return view
