"""The Sweep view: one sweep's trials as a live table and four plots (best so far, importance, parallel
coordinates, objective against cost with the Pareto front).

The sweep runs in its own process (``neuralforge sweep``, started by the Sweep dialog or from a terminal);
this view only reads what that process saves: a timer polls a :class:`SweepWatch`, which re-reads the study
journal only when it grew. Parameter importance (Optuna's evaluator loads scikit-learn: seconds the first
time) comes from ``neuralforge sweep show --json`` in a child process, asked again when another trial
completed. Double-clicking a trial asks for its run (``run_requested``) and writes its graph
for the editor (``graph_requested``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.sweeps.follow import SweepWatch, list_sweeps, stop_sweep
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors
from neuralforge_desktop.ui.training.sweep_plots import (
    COST_AXES,
    BestSoFarPlot,
    ImportancePlot,
    ParallelCoordinatesPlot,
    ParetoPlot,
)

POLL_MS = 1000
FIXED_COLUMNS = ["#", "state", "run"]
COST_COLUMNS = [("macs", "MACs"), ("params", "param count")]


def number_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return "" if value is None else str(value)


class SweepView(QWidget):
    """Follows sweep ``sweep_id`` of the store at ``store_path``; ``process`` (when this app started it) lets
    Stop end it as Ctrl+C would."""

    run_requested = Signal(str)  # a trial's run id
    graph_requested = Signal(str)  # a trial's graph file, written into the sweep's folder

    def __init__(self, store_path: str | os.PathLike[str], sweep_id: str,
                 process: subprocess.Popen[bytes] | None = None, theme: str = DEFAULT_THEME,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_view")
        self.setWindowTitle(f"Sweep {sweep_id}")
        self.watch = SweepWatch(store_path, sweep_id, with_importance=False)
        self.process = process
        self._importance_process: QProcess | None = None
        self._importance_for = -1  # the completed trials the importance shown (or asked for) counts
        self.summary: dict[str, Any] | None = None
        self._param_names: list[str] = []
        colors = plot_colors(theme)

        self.title = QLabel(f"<b>Sweep {sweep_id}</b>", self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("Waiting for the sweep to start …", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the sweep as Ctrl+C would: running trials stop at a checkpoint; "
                                    "`neuralforge sweep resume` continues it")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setVisible(process is not None)
        self.cost_choice = QComboBox(self)
        for key, text in COST_AXES.items():
            self.cost_choice.addItem(text, key)
        self.cost_choice.setToolTip("The cost the Pareto plot puts on its x axis")

        self.table = QTableWidget(0, 0, self)
        self.table.setObjectName("sweep_trials")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click a trial to open its run in the Runs panel and its graph in the editor")
        self.table.doubleClicked.connect(self._on_double_click)

        self.best_plot = BestSoFarPlot(self, colors)
        self.importance_plot = ImportancePlot(self, colors)
        self.parallel_plot = ParallelCoordinatesPlot(self, colors)
        self.pareto_plot = ParetoPlot(self, colors)
        self.cost_choice.currentIndexChanged.connect(
            lambda _i: self.pareto_plot.set_cost(self.cost_choice.currentData()))

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.status, 1)
        header.addWidget(QLabel("Pareto x axis", self))
        header.addWidget(self.cost_choice)
        header.addWidget(self.stop_button)
        plots = QWidget(self)
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.best_plot.widget, 0, 0)
        grid.addWidget(self.importance_plot.widget, 0, 1)
        grid.addWidget(self.parallel_plot.widget, 1, 0)
        grid.addWidget(self.pareto_plot.widget, 1, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(plots)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(split, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- public ------------------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Read what changed; True when the view was updated."""
        try:
            summary = self.watch.poll()
        except (UserError, OSError, ValueError, KeyError) as exc:  # a sweep folder half written or damaged
            self.status.setText(f"Cannot read the sweep: {exc}")
            return False
        ended = self.process is not None and self.process.poll() is not None
        if summary is None:
            if ended and self.summary is None:
                self._show_ended()
            elif ended:
                self._show_counts(self.summary)
            return False
        self.summary = summary
        self._show_table(summary)
        self._show_counts(summary)
        self.best_plot.update(summary)
        self.importance_plot.update(summary)
        self.parallel_plot.update(summary, self.watch.spec().space)
        self.pareto_plot.update(summary)
        self._ask_importance()
        return True

    def stop(self) -> None:
        if self.process is not None:
            stop_sweep(self.process)
            self.status.setText("Stopping: the running trials stop at a checkpoint …")

    def trial_row(self, number: int) -> int:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == number:
                return row
        return -1

    def open_trial(self, number: int) -> None:
        """Ask for trial ``number``'s run and graph (what a double-click does)."""
        if self.summary is None:
            return
        trial = next((t for t in self.summary["trials"] if t["number"] == number), None)
        if trial is None:
            return
        if trial["run_id"]:
            self.run_requested.emit(trial["run_id"])
        try:
            path = self.watch.trial_graph_file(number)
        except (UserError, OSError) as exc:
            self.status.setText(f"Cannot write trial {number}'s graph: {exc}")
            return
        self.graph_requested.emit(str(path))

    def set_theme(self, name: str) -> None:
        colors = plot_colors(name)
        for plot in (self.best_plot, self.importance_plot, self.parallel_plot, self.pareto_plot):
            plot.set_colors(colors)

    def closeEvent(self, event: Any) -> None:  # Qt names this method
        self.timer.stop()  # the sweep goes on without a viewer; Sweeps… opens it again
        if self._importance_process is not None:
            self._importance_process.finished.disconnect()  # its answer has no view to go to
            self._importance_process.kill()
            self._importance_process.waitForFinished(2000)
        super().closeEvent(event)

    def _ask_importance(self) -> None:
        complete = self.watch.complete
        if complete == self._importance_for or self._importance_process is not None:
            return
        self._importance_for = complete
        if complete < 2:
            self._take_importance(None, f"needs at least 2 completed trials ({complete} so far)")
            return
        process = QProcess(self)
        environment = QProcessEnvironment()
        for key, value in child_environment().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.finished.connect(lambda _code, _status: self._importance_done(process))
        program, *arguments = python_command(run_main_code("neuralforge_desktop.cli.main"), "sweep", "show",
                                             self.watch.sweep_id, "--json", "--store", str(self.watch.store_path))
        self._importance_process = process
        process.start(program, arguments)

    def _importance_done(self, process: QProcess) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(process):
            return  # the view was deleted while the process ran (Qt ends a child process as it deletes it)
        self._importance_process = None
        output = bytes(process.readAllStandardOutput().data()).decode("utf-8", errors="replace").strip()
        process.deleteLater()
        try:
            data = json.loads(output.splitlines()[-1])
            self._take_importance(data["importance"], data["importance_note"])
        except (IndexError, ValueError, KeyError, TypeError):
            error = bytes(process.readAllStandardError().data()).decode("utf-8", errors="replace").strip()
            self._take_importance(None, f"could not be computed: {error or 'no output'}")
        if self.watch.complete != self._importance_for:  # more trials completed meanwhile
            self._ask_importance()

    def _take_importance(self, importance: dict[str, float] | None, note: str | None) -> None:
        self.watch.set_importance(importance, note)
        self.summary = self.watch.summary
        if self.summary is not None:
            self.importance_plot.update(self.summary)

    # -- internals ---------------------------------------------------------------------------------------
    def _show_counts(self, summary: dict[str, Any] | None) -> None:
        if summary is None:
            return
        counts = ", ".join(f"{n} {state}" for state, n in sorted(summary["counts"].items())) or "no trials yet"
        best = summary["best"]
        best_text = (f"; best trial {best['number']}: {summary['objective']} {number_text(best['value'])}"
                     if best else "")
        running = self.process is not None and self.process.poll() is None
        ended = "" if running or self.process is None else (
            "; the sweep process has ended" if self.process.returncode == 0 else
            f"; the sweep process failed: {self.watch.log_tail(1)}")
        self.status.setText(f"{counts} of {summary['trials_wanted']} wanted{best_text}{ended}")
        self.stop_button.setEnabled(running)

    def _show_ended(self) -> None:
        self.stop_button.setEnabled(False)
        self.status.setText(f"The sweep process ended before it started: {self.watch.log_tail(3) or 'no output'}")

    def _show_table(self, summary: dict[str, Any]) -> None:
        names = list(self.watch.spec().space)
        objective = summary["objectives"][0]
        headers = [*FIXED_COLUMNS, *names, objective, *(text for _key, text in COST_COLUMNS)]
        if names != self._param_names or self.table.columnCount() != len(headers):
            self._param_names = names
            self.table.setColumnCount(len(headers))
            self.table.setHorizontalHeaderLabels(headers)
        trials = summary["trials"]
        self.table.setRowCount(len(trials))
        for row, trial in enumerate(trials):
            cost = trial["cost"] or {}
            cells = [trial["number"], trial["state"], trial["run_id"] or "",
                     *(trial["params"].get(n) for n in names), trial["value"],
                     *(cost.get(key) for key, _text in COST_COLUMNS)]
            for column, value in enumerate(cells):
                self._set_cell(row, column, number_text(value), trial)
            if trial["reason"]:
                self.table.item(row, 1).setToolTip(str(trial["reason"]))

    def _set_cell(self, row: int, column: int, text: str, trial: dict[str, Any]) -> None:
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, column, item)
        if item.text() != text:  # only what changed: an unchanged cell keeps its paint
            item.setText(text)
        if column == 0:
            item.setData(Qt.ItemDataRole.UserRole, trial["number"])
        if column >= len(FIXED_COLUMNS):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _on_double_click(self, index: QModelIndex) -> None:
        item = self.table.item(index.row(), 0)
        if item is not None:
            self.open_trial(int(item.data(Qt.ItemDataRole.UserRole)))


class SweepChooser(QDialog):
    """The sweeps beside the store (newest first), to open one in a Sweep view."""

    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweeps")
        self.list = QListWidget(self)
        for row in reversed(list_sweeps(store_path)):
            space = ", ".join(row["space"])
            item = QListWidgetItem(f"{row['sweep']}  ·  {row['graph']}  ·  {row['trials']} trials  ·  "
                                   f"{row['objective']}  ·  {space}")
            item.setData(Qt.ItemDataRole.UserRole, row["sweep"])
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(self.list.count() > 0)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Sweeps beside {Path(store_path)}" if self.list.count() else
                                "No sweeps yet: Train ▸ Sweep… starts one", self))
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(720, 360)

    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))


def open_sweep_view(window: Any, sweep_id: str | None = None,
                    process: subprocess.Popen[bytes] | None = None) -> SweepView | None:
    """A Sweep view of ``window``'s store in its own window (Train ▸ Sweeps… asks which sweep when
    ``sweep_id`` is None): a trial's run opens in the window's Runs dock, its graph in the editor."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    if sweep_id is None:
        chooser = SweepChooser(store_path, window)
        if chooser.exec() != QDialog.DialogCode.Accepted or chooser.chosen() is None:
            return None
        sweep_id = chooser.chosen()
        assert sweep_id is not None
    view = SweepView(store_path, sweep_id, process, window.theme, window)
    view.setWindowFlag(Qt.WindowType.Window)  # its own window, closed with the main one
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.run_requested.connect(lambda run_id: window.compare_runs([run_id]))
    view.graph_requested.connect(window.files.open)
    view.resize(1400, 900)
    view.show()
    return view
