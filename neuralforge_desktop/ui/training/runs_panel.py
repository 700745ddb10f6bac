"""Browse the experiment store: a sortable, filterable runs table; the selected runs' curves overlaid; the
confusion matrix of the current finished run.

The panel has its own Store on the file (a Store is for one thread; SQLite's WAL lets it read while a worker
writes). While any listed run is active or queued the table refreshes itself every ``AUTO_REFRESH_MS``; otherwise
only on Refresh or :meth:`refresh`, so an idle panel costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.theme import DEFAULT_THEME
from neuralforge_desktop.ui.training.compare_view import open_compare
from neuralforge_desktop.ui.training.confusion import ConfusionMatrixWidget, load_confusion
from neuralforge_desktop.ui.training.curves import CurvesWidget
from neuralforge_desktop.ui.training.runs_model import COLUMNS, RUN_ID_ROLE, RunFilterProxy, RunsTableModel

AUTO_REFRESH_MS = 2000
OVERLAY_METRICS = ("val/acc", "val/perplexity", "train/loss")  # perplexity: a language model's quality curve
MAX_OVERLAID = 10  # more runs than colours stop being told apart
LIST_LIMIT = 5000


def run_label(run: Any) -> str:
    return f"{run.name} ({run.id[:6]})"


class RunsPanel(QWidget):
    """Runs of the store at ``store_path`` (default: the user's store). ``runs_selected(list of ids)`` when the
    selection changes."""

    runs_selected = Signal(list)

    def __init__(self, store_path: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from neuralforge_desktop.core.store.sqlite_store import Store

        self._store = Store(store_path)
        self._theme = DEFAULT_THEME
        self._overlaid: dict[str, tuple[str, int]] = {}  # run id → (status, last step) when last drawn
        self._current: str | None = None
        self._current_status: str | None = None

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: status:finished  lr=0.001  val/acc>0.9  free text")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip(
            "Terms separated by spaces; a run must match all of them.\n"
            "status:, name:, experiment:, id:, tag: — the field contains the text\n"
            "key=value, key!=value — a param or tag (numbers compare as numbers: lr=1e-3)\n"
            "metric>x, <, >=, <= — a metric's latest value (val/acc>0.9) or a numeric param\n"
            "anything else — found in id, name, experiment, status, params or tags")
        self.refresh_button = QPushButton("Refresh", self)
        self.diagnostics_button = QPushButton("Diagnostics…", self)
        self.diagnostics_button.setToolTip("Gradient flow, histograms, update/weight ratios and activation health "
                                           "of the current run, as its training captured them")
        self.diagnostics_button.setEnabled(False)  # until a run is selected
        self.count_label = QLabel(self)
        head = QHBoxLayout()
        head.addWidget(self.filter_edit, 1)
        head.addWidget(self.count_label)
        head.addWidget(self.diagnostics_button)
        head.addWidget(self.refresh_button)

        self.model = RunsTableModel(self)
        self.proxy = RunFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)

        self.curves = CurvesWidget(self)
        self.confusion = ConfusionMatrixWidget(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.tabs.setDocumentMode(True)

        table_box = QWidget(self)
        box = QVBoxLayout(table_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        box.addLayout(head)
        box.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(table_box)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(AUTO_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.refresh_button.clicked.connect(self.refresh)
        self.diagnostics_button.clicked.connect(self.open_diagnostics)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_confusion())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self._landscapes: dict[str, Any] = {}  # run id → its open Loss Landscape window
        self.refresh()
        self._fit_columns()

    # -- public ------------------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        return self._store

    @property
    def auto_refreshing(self) -> bool:
        return self._timer.isActive()

    def refresh(self) -> None:
        """Re-read the runs (keeping selection, sort and filter) and redraw the curves of active runs."""
        self._store.mark_crashed_runs()  # a run whose worker died is shown as crashed, not running forever
        runs = self._store.list_runs(order_by="-created", limit=LIST_LIMIT)
        selected = self.selected_run_ids()
        current = self._current
        self.model.set_runs(runs)
        self._select(selected, current, notify=False)
        self._update_count()
        active = any(r.status in ("running", "paused", "queued") for r in runs)  # queued: to see it start
        if active and not self._timer.isActive():
            self._timer.start()
        elif not active:
            self._timer.stop()
        self._update_overlays(force=False)  # only runs that logged something new are re-read
        row = self.model.row_of(self._current) if self._current else -1
        if row >= 0 and self.model.run(row).status != self._current_status:
            self._show_confusion()  # e.g. the current run has just finished

    def follow(self, run_id: str) -> None:
        """A run was started elsewhere (the train panel): list it and keep refreshing while it is active."""
        self.refresh()
        self._timer.start()

    def open_diagnostics(self) -> QWidget | None:
        """A window on the current run's diagnostics (it says so plainly when the run has none)."""
        from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics
        from neuralforge_desktop.ui.training.diagnostics_views import DiagnosticsDialog

        row = self.model.row_of(self._current) if self._current else -1
        if row < 0:
            return None
        run = self.model.run(row)
        dialog = DiagnosticsDialog(load_run_diagnostics(self._store, run.id), run_label(run), self, self._theme)
        dialog.show()
        return dialog

    def set_filter(self, text: str) -> None:
        self.filter_edit.setText(text)

    def visible_run_ids(self) -> list[str]:
        return [self.proxy.index(r, 0).data(RUN_ID_ROLE) for r in range(self.proxy.rowCount())]

    def selected_run_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [i.data(RUN_ID_ROLE) for i in sorted(rows, key=lambda i: i.row())]

    def select_runs(self, run_ids: list[str]) -> None:
        self._select(run_ids, run_ids[-1] if run_ids else None, notify=True)

    def cell_text(self, run_id: str, column: str) -> str:
        row = self.model.row_of(run_id)
        if row < 0:
            return ""
        return str(self.model.index(row, COLUMNS.index(column)).data())

    def set_theme(self, name: str) -> None:
        self._theme = name
        self.curves.set_theme(name)
        self.confusion.set_theme(name)
        self.model.set_theme(name)
        for view in self._landscapes.values():
            view.plot.set_theme(name)

    # -- internals ---------------------------------------------------------------------------------------
    def _select(self, run_ids: list[str], current: str | None, notify: bool) -> None:
        model = self.table.selectionModel()
        selection = QItemSelection()
        last_col = len(COLUMNS) - 1
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row < 0:
                continue
            proxy_row = self.proxy.mapFromSource(self.model.index(row, 0)).row()
            if proxy_row >= 0:
                selection.select(self.proxy.index(proxy_row, 0), self.proxy.index(proxy_row, last_col))
        model.blockSignals(True)  # one overlay update below, not one per restored row
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if current is not None and (row := self.model.row_of(current)) >= 0:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        model.blockSignals(False)
        self.table.viewport().update()
        if notify:
            self._selection_changed()
        elif current is not None and self.model.row_of(current) >= 0:
            self._current = current
        self.diagnostics_button.setEnabled(self._current is not None)

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_count()

    def _update_count(self) -> None:
        from neuralforge_desktop.core.store.usage import usage_sums

        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = f"{shown} of {total} runs" if shown != total else f"{total} runs"
        visible = set(self.visible_run_ids())
        _, used = usage_sums(r for r in self.model.runs() if r.id in visible)
        if used.gpu_seconds > 0:  # what the runs shown took and cost (runs usage prints the same sums)
            text += f" · {used.gpu_hours:,.2f} GPU-h" + (f" · cost {used.cost:,.2f}" if used.cost > 0 else "")
        self.count_label.setText(text)

    def _selection_changed(self, *_: Any) -> None:
        ids = self.selected_run_ids()
        index = self.table.selectionModel().currentIndex()
        current = index.data(RUN_ID_ROLE) if index.isValid() else None
        self._current = current if current in ids else (ids[-1] if ids else None)
        self.diagnostics_button.setEnabled(self._current is not None)
        self._update_overlays(force=True)
        self._show_confusion()
        self.runs_selected.emit(ids)

    def _update_overlays(self, force: bool) -> None:
        ids = self.selected_run_ids()[:MAX_OVERLAID]
        runs = {r.id: r for r in self.model.runs() if r.id in ids}
        if force or set(ids) != set(self._overlaid):
            self.curves.clear()
            self._overlaid.clear()
        for run_id in ids:
            run = runs.get(run_id)
            if run is None:
                continue
            stamp = (run.status, max((m.step for m in run.metrics.values()), default=-1))
            if self._overlaid.get(run_id) == stamp:
                continue  # unchanged since drawn: a refresh of a finished run reads nothing
            label = run_label(run)
            for name in OVERLAY_METRICS:
                series = self._store.metric_history(run_id, name)
                if len(series):
                    self.curves.add_series(label, name, series.steps, series.values)
            self._overlaid[run_id] = stamp
        self.curves.flush()

    def _show_confusion(self) -> None:
        run_id = self._current
        row = self.model.row_of(run_id) if run_id else -1
        self._current_status = self.model.run(row).status if row >= 0 else None
        if row < 0:
            self.confusion.set_confusion(None, "Select a finished classification run to see its confusion matrix.")
            return
        run = self.model.run(row)
        if run.status != "finished":
            self.confusion.set_confusion(None, f"Run {run.name} is {run.status}: the confusion matrix is "
                                               "computed when a run finishes.")
            return
        conf = load_confusion(self._store.path, run.id)
        self.confusion.set_confusion(conf, None if conf else f"Run {run.name} recorded no confusion matrix "
                                                               "(a regression task, or its events log is gone).")
        if conf is not None:
            self.tabs.setTabToolTip(1, f"{run.name}: {conf.split} split, {conf.size} classes")

    def _context_menu(self, pos: Any) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.run_menu(index.data(RUN_ID_ROLE)).exec(self.table.viewport().mapToGlobal(pos))

    def run_menu(self, run_id: str) -> QMenu:
        """What a right click on run ``run_id`` offers."""
        menu = QMenu(self)
        menu.addAction("Loss Landscape…", lambda: self.open_landscape(run_id))
        menu.addAction("Compare selected runs…",
                       lambda: open_compare(self.store, self.selected_run_ids(), self._theme, self.window()))
        return menu

    def open_landscape(self, run_id: str | None = None) -> Any:
        """The Loss Landscape window of ``run_id`` (default: the current run), shown; one per run."""
        from neuralforge_desktop.core.training.runner import runs_root
        from neuralforge_desktop.ui.training.landscape_view import LandscapeView

        run_id = run_id or self._current
        row = self.model.row_of(run_id) if run_id else -1
        if run_id is None or row < 0:
            return None
        view = self._landscapes.get(run_id)
        if view is None:
            run = self.model.run(row)
            view = LandscapeView(self._store.path, run.id, run.name, runs_root(Path(self._store.path)) / run.id,
                                 self.window(), self._theme)
            self._landscapes[run_id] = view
        view.show()
        view.raise_()
        return view

    def _fit_columns(self) -> None:
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.resizeSection(column, max(header.sectionSize(column), 56))
