"""The Coach under the Train panel: what the Coach found about the run being trained, as it finds it.

Findings arrive as ``coach`` events from the training worker (each carries the Finding's JSON in its field
``finding``; a worker newer than this build's event types sends it as an unknown event, handled the same).
Selecting one shows its explanation, the numbers behind it and a small plot of its evidence series. "Fix"
applies its fix: a graph fix as one undo step on the document, a settings fix on the train form (settings the
form has no field for are kept for the next Start and listed here). "Retrain" starts a new run as the Train
button does, tagged with the run it retrains (``parent_run``), the fix (``coach_fix``, its action) and the
finding it addressed (``coach_finding``); once it ends,
"Compare with parent" selects both runs in the Runs dock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.edit.edits import Edit
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.training.coach.findings import SEVERITIES, Finding
from neuralforge_desktop.core.training.coach.fixes import config_changes, describe, fix_edit
from neuralforge_desktop.core.training.events import Event
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.theme import DEFAULT_THEME, PlotColors, plot_colors

SERIES_PENS = ("train", "error", "muted", "val", "ok")  # PlotColors fields, one per evidence series in turn
FINDING_ROLE = Qt.ItemDataRole.UserRole


def finding_of(event: Event) -> Finding | None:
    """The Finding a ``coach`` event carries (as a typed field or among an unknown event's fields), else None."""
    if event.kind != "coach":
        return None
    data = getattr(event, "finding", None)
    if data is None:
        fields = {**(getattr(event, "extra", None) or {}), **(getattr(event, "fields", None) or {})}
        data = fields.get("finding")
    if isinstance(data, Finding):
        return data
    if not isinstance(data, dict):
        return None
    try:
        return Finding.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None  # a finding this build cannot read (a newer kind): nothing to show for it


class CoachPanel(QWidget):
    """Findings of the run the train panel trains. ``compare_requested([parent, child])`` asks the window to
    compare a retrain with the run it came from."""

    compare_requested = Signal(list)
    fixed = Signal(str)  # what a fix did, in words

    def __init__(self, train_panel: Any, bridge: DocumentBridge, push_edit: Callable[[Edit], Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._train = train_panel
        self._bridge = bridge
        # how a graph fix is applied: the window's undo stack (one step per fix); without one, the document
        self._push_edit = push_edit or (lambda edit: bridge.document.apply(edit))
        self._colors: PlotColors = plot_colors(DEFAULT_THEME)
        self._run_id: str | None = None  # the run whose findings are listed
        self._retrain: tuple[str, str] | None = None  # (parent run, child run) of the last retrain started here
        self._compare: list[str] = []
        self._applied: Finding | None = None  # the last finding fixed here for the listed run (tags its retrain)

        self.heading = QLabel("Coach", self)
        self.heading.setStyleSheet("font-weight: 600;")
        self.findings = QListWidget(self)
        self.findings.setMinimumWidth(220)
        self.findings.setWordWrap(True)  # titles are sentences: wrapped, never cut off
        self.findings.currentItemChanged.connect(lambda *_: self._show_selected())
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: 600;")
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numbers = QLabel(self)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = pg.PlotWidget(self)
        self.plot.setMinimumHeight(120)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self._legend = self.plot.getPlotItem().addLegend(offset=(8, 4), labelTextSize="8pt")
        self.fix_button = QPushButton("Fix", self)
        self.fix_button.clicked.connect(self.apply_fix)
        self.retrain_button = QPushButton("Retrain", self)
        self.retrain_button.setToolTip("Train the graph as it is now, as a new run linked to this one")
        self.retrain_button.clicked.connect(self.retrain)
        self.compare_button = QPushButton("Compare with parent", self)
        self.compare_button.setToolTip("Select the retrain and the run it came from in the Runs dock")
        self.compare_button.clicked.connect(lambda: self.compare_requested.emit(list(self._compare)))
        self.settings_line = QLabel(self)  # settings kept for the next Start that the form does not show
        self.settings_line.setWordWrap(True)
        self.clear_settings = QPushButton("Clear", self)
        self.clear_settings.setToolTip("Forget these settings: the next run uses the form's alone")
        self.clear_settings.clicked.connect(self._clear_extra_settings)
        self.status = QLabel(self)
        self.status.setWordWrap(True)

        detail = QWidget(self)
        right = QVBoxLayout(detail)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.title)
        right.addWidget(self.explanation)
        right.addWidget(self.numbers)
        right.addWidget(self.plot, 1)
        buttons = QHBoxLayout()
        for button in (self.fix_button, self.retrain_button, self.compare_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.findings)
        split.addWidget(detail)
        split.setStretchFactor(1, 2)
        settings = QHBoxLayout()
        settings.addWidget(self.settings_line, 1)
        settings.addWidget(self.clear_settings)
        self.thresholds_button = QPushButton("Thresholds…", self)
        self.thresholds_button.setToolTip("The numbers the Coach's rules compare against, and why each has its value")
        self.thresholds_button.clicked.connect(self.edit_thresholds)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.thresholds_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(settings)
        layout.addWidget(self.status)

        train_panel.run_started.connect(self._on_run_started)
        train_panel.run_finished.connect(self._on_run_finished)
        self.set_theme(DEFAULT_THEME)
        self._show_selected()
        self._show_extra_settings()

    # -- public ------------------------------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        return self._run_id

    def finding_list(self) -> list[Finding]:
        return [self.findings.item(i).data(FINDING_ROLE) for i in range(self.findings.count())]

    def selected(self) -> Finding | None:
        item = self.findings.currentItem()
        return item.data(FINDING_ROLE) if item is not None else None

    def add_event(self, event: Event) -> None:
        """Take a worker event: a ``coach`` event's finding is listed; other events are not the Coach's."""
        finding = finding_of(event)
        if finding is not None:
            self.add_finding(finding)

    def add_finding(self, finding: Finding) -> None:
        """List ``finding`` (replacing an earlier report of the same finding); the first one is selected."""
        for i in range(self.findings.count()):
            if self.findings.item(i).data(FINDING_ROLE).key == finding.key:
                self._fill(self.findings.item(i), finding)
                if self.findings.currentRow() == i:
                    self._show_selected()
                return
        item = QListWidgetItem()
        self._fill(item, finding)
        rank = SEVERITIES.index(finding.severity)  # most severe first, then in the order found
        row = next((i for i in range(self.findings.count())
                    if SEVERITIES.index(self.findings.item(i).data(FINDING_ROLE).severity) < rank),
                   self.findings.count())
        self.findings.insertItem(row, item)
        if self.findings.currentItem() is None:
            self.findings.setCurrentItem(item)
        self._update_heading()

    def show_findings(self, run_id: str | None, findings: list[Finding]) -> None:
        """Show a run's findings (e.g. the saved ones of a finished run), replacing what was listed."""
        if run_id != self._run_id:
            self._applied = None
        self._run_id = run_id
        self.findings.clear()
        for finding in findings:
            self.add_finding(finding)
        self._update_heading()
        self._show_selected()

    def edit_thresholds(self) -> None:
        from neuralforge_desktop.ui.dialogs.coach_thresholds import CoachThresholdsDialog

        CoachThresholdsDialog(self).exec()

    def apply_fix(self) -> bool:
        """Apply the selected finding's fix; False (with the reason shown) when it cannot apply."""
        finding = self.selected()
        if finding is None or finding.fix is None:
            return False
        fix = finding.fix
        try:
            if fix.kind == "config":
                self._apply_settings(config_changes(fix, self._train.config()), dict(fix.args))
                done = describe(fix, self._bridge.document.graph)
            else:
                graph = self._bridge.document.graph
                done = describe(fix, graph)
                edit = fix_edit(fix, graph)
                if edit is not None:
                    self._push_edit(edit)
        except UserError as exc:
            self.status.setText(f"Could not apply the fix: {exc}")
            return False
        self._applied = finding
        self.status.setText(f"Fixed: {done}. Press Retrain to train it as a new run linked to this one.")
        self.fixed.emit(done)
        return True

    def retrain(self) -> bool:
        """Start a new run of the graph and settings as they are now, linked to the listed run."""
        if self._train.state != "idle":
            self.status.setText("A run is still training: wait for it to end (or stop it), then retrain.")
            return False
        parent = self._run_id
        finding = self._applied  # only a fix applied here is what the retrain changed
        tags = {"parent_run": parent} if parent else {}
        if parent and finding is not None and finding.fix is not None:
            tags["coach_fix"] = finding.fix.action
            tags["coach_finding"] = finding.kind
        self._train.next_run_tags = tags
        try:
            started = bool(self._train.start())
        finally:
            self._train.next_run_tags = {}
        if started and parent:
            self._retrain = (parent, self._train.run_id)
            self.status.setText(f"Retraining as run {self._train.run_id} (from run {parent}) …")
        elif not started:
            self.status.setText("Could not start the retrain: " + (self._train.last_error or "see the Train panel"))
        return started

    def set_theme(self, name: str) -> None:
        self._colors = c = plot_colors(name)
        self.plot.setBackground(c.background)
        for side in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(side)
            axis.setPen(pg.mkPen(c.muted))
            axis.setTextPen(pg.mkPen(c.text))
        self.status.setStyleSheet(f"color: {c.muted};")
        self.settings_line.setStyleSheet(f"color: {c.warning};")
        for i in range(self.findings.count()):
            item = self.findings.item(i)
            self._fill(item, item.data(FINDING_ROLE))
        self._show_selected()

    # -- the train panel's runs --------------------------------------------------------------------------
    def _on_run_started(self, run_id: str) -> None:
        self.show_findings(run_id, [])
        pump = self._train.pump
        if pump is not None:
            pump.event.connect(self.add_event)
        self.compare_button.setEnabled(False)

    def _on_run_finished(self, run_id: str, status: str) -> None:
        if self._retrain is not None and self._retrain[1] == run_id:
            self._compare = [self._retrain[0], run_id]
            self.compare_button.setEnabled(True)
            self.status.setText(f"Retrain {run_id} {status}: compare it with run {self._retrain[0]}.")
        self._show_selected()

    # -- showing -----------------------------------------------------------------------------------------
    def _fill(self, item: QListWidgetItem, finding: Finding) -> None:
        layer = finding.evidence.get("layer")
        item.setText(f"{finding.title}" + (f"  ·  {layer}" if layer else ""))
        item.setIcon(self._severity_icon(finding.severity))
        item.setToolTip(f"{finding.severity}: {finding.kind}" + (f" (step {finding.step})" if finding.step else ""))
        item.setData(FINDING_ROLE, finding)

    def _severity_icon(self, severity: str) -> QIcon:
        color = {"error": self._colors.error, "warning": self._colors.warning}.get(severity, self._colors.accent)
        pixmap = QPixmap(14, 14)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(color))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(1, 1, 12, 12)
        painter.end()
        return QIcon(pixmap)

    def _update_heading(self) -> None:
        count = self.findings.count()
        run = f" · run {self._run_id}" if self._run_id else ""
        self.heading.setText(f"Coach{run} · " + (f"{count} finding{'s' if count != 1 else ''}" if count else
                                                "no findings yet"))

    def _show_selected(self) -> None:
        finding = self.selected()
        self.plot.clear()
        self._legend.clear()
        self.retrain_button.setEnabled(self._run_id is not None)
        self.compare_button.setVisible(bool(self._compare))
        if finding is None:
            self.title.setText("")
            self.explanation.setText("The Coach reports here what it finds while a run trains: a learning rate "
                                     "that is too high, dead ReLUs, overfitting … with a one-click fix.")
            self.numbers.setText("")
            self.fix_button.setEnabled(False)
            self.fix_button.setText("Fix")
            self.plot.setVisible(False)
            return
        step = f" (step {finding.step})" if finding.step is not None else ""
        self.title.setText(f"{finding.severity.capitalize()}: {finding.title}{step}")
        self.explanation.setText(finding.explanation)
        numbers = finding.evidence.get("numbers") or {}
        layer = finding.evidence.get("layer")
        lines = ([f"layer: {layer}"] if layer else []) + [f"{k}: {_number(v)}" for k, v in numbers.items()]
        self.numbers.setText("   ·   ".join(lines))
        self.numbers.setWordWrap(True)
        self.fix_button.setEnabled(finding.fix is not None)
        self.fix_button.setText(f"Fix: {finding.fix.label}" if finding.fix is not None else "No one-click fix")
        series = finding.evidence.get("series") or {}
        self.plot.setVisible(bool(series))
        finite = {name: [(float(p[0]), float(p[1])) for p in points if p[1] is not None and math.isfinite(p[1])]
                  for name, points in series.items()}
        values = [y for points in finite.values() for _, y in points]
        # A loss that went from 2 to 600 and back: on a log axis both the spike and the rest stay readable.
        self.plot.setLogMode(y=bool(values) and min(values) > 0 and max(values) > 100 * min(values))
        for i, (name, points) in enumerate(finite.items()):
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            color = getattr(self._colors, SERIES_PENS[i % len(SERIES_PENS)])
            # A series of a few points (one per epoch) gets markers: two points joined alone read as a trend.
            marks = {"symbol": "o", "symbolSize": 7, "symbolBrush": color, "symbolPen": None} if len(xs) <= 12 else {}
            self.plot.plot(xs, ys, pen=pg.mkPen(color, width=2), name=name, **marks)
        self.plot.getPlotItem().setLabel("bottom", "step")

    # -- settings ----------------------------------------------------------------------------------------
    def _apply_settings(self, config: Any, changed: dict[str, Any]) -> None:
        """Show ``config`` on the form; the changed settings the form has no field for are kept aside."""
        train = self._train
        extras = {k: v for k, v in train.extra_settings.items() if k not in changed}
        train.extra_settings = {}
        train.set_config(config)
        shown = train.config()
        extras.update({k: v for k, v in changed.items() if getattr(shown, k) != v})
        train.extra_settings = extras
        self._show_extra_settings()

    def _clear_extra_settings(self) -> None:
        self._train.extra_settings = {}
        self._show_extra_settings()

    def _show_extra_settings(self) -> None:
        extras = self._train.extra_settings
        self.settings_line.setText("Next run also uses: " + ", ".join(f"{k} = {v}" for k, v in extras.items())
                                   if extras else "")
        self.settings_line.setVisible(bool(extras))
        self.clear_settings.setVisible(bool(extras))


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


__all__ = ["CoachPanel", "finding_of"]

