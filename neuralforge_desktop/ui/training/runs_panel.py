"""Browse the experiment store: a sortable, filterable runs table; the selected runs' curves overlaid; the
confusion matrix of the current finished run.

The panel has its own Store on the file (a Store is for one thread; SQLite's WAL lets it read while a worker
writes). While any run is active or queued the table refreshes itself every ``AUTO_REFRESH_MS``; otherwise
only on Refresh or :meth:`refresh`, so an idle panel costs nothing. A refresh reads only the runs written since
the last one, and the table builds rows only as they are scrolled to (see :mod:`.runs_model`), so a store of
10,000 runs shows as fast as one of 10, with its true count.

The curves show the metrics ticked in the list beside them (by default accuracy, perplexity and training
loss): every series the selected runs logged is offered there.
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
    QListWidget,
    QListWidgetItem,
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
from neuralforge_desktop.ui.training.runs_model import COLUMNS, RUN_ID_ROLE, RunsTableModel

AUTO_REFRESH_MS = 2000
OVERLAY_METRICS = ("val/acc", "val/perplexity", "train/loss")  # perplexity: a language model's quality curve
MAX_OVERLAID = 10  # more runs than colours stop being told apart
WIDTH_SAMPLE_ROWS = 50  # columns are sized to the header and these first rows, not by measuring every cell


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
        self._chosen_metrics: list[str] = list(OVERLAY_METRICS)  # ticked, in the order they were ticked

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

        self.model = RunsTableModel(self._store, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.sortByColumn(COLUMNS.index("created"), Qt.SortOrder.DescendingOrder)  # before the first read
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)

        self.curves = CurvesWidget(self)
        self.confusion = ConfusionMatrixWidget(self)
        self.tabs = QTabWidget(self)
        self.metric_list = QListWidget(self)
        self.metric_list.setToolTip("The series drawn for the selected runs: every metric they logged")
        self.metric_list.setMaximumWidth(190)
        curves_box = QWidget(self)
        curves_row = QHBoxLayout(curves_box)
        curves_row.setContentsMargins(0, 0, 0, 0)
        curves_row.addWidget(self.curves, 1)
        curves_row.addWidget(self.metric_list)
        self.tabs.addTab(curves_box, "Curves")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        from neuralforge_desktop.ui.comments import CommentThreadPanel

        self.comments = CommentThreadPanel(self._store.path, self)  # the current run's comments
        self.tabs.addTab(self.comments, "Comments")
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
        self.metric_list.itemChanged.connect(self._metric_ticked)
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
        """Re-read the runs written since the last refresh (keeping selection, sort and filter) and redraw the
        curves of those that logged something new."""
        self._store.mark_crashed_runs()  # a run whose worker died is shown as crashed, not running forever
        if self.model.refresh() == "same":
            return
        self._update_count()
        active = self._store.has_active_runs()  # queued too: to see it start
        if active and not self._timer.isActive():
            self._timer.start()
        elif not active:
            self._timer.stop()
        self._update_overlays(force=False)  # only runs that logged something new are re-read
        run = self.model.run_by_id(self._current) if self._current else None
        if run is not None and run.status != self._current_status:
            self._show_confusion()  # e.g. the current run has just finished

    def follow(self, run_id: str) -> None:
        """A run was started elsewhere (the train panel): list it and keep refreshing while it is active."""
        self.refresh()
        self._timer.start()

    def open_diagnostics(self) -> QWidget | None:
        """A window on the current run's diagnostics (it says so plainly when the run has none)."""
        from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics
        from neuralforge_desktop.ui.training.diagnostics_views import DiagnosticsDialog

        run = self.model.run_by_id(self._current) if self._current else None
        if run is None:
            return None
        dialog = DiagnosticsDialog(load_run_diagnostics(self._store, run.id), run_label(run), self, self._theme)
        dialog.show()
        return dialog

    def set_filter(self, text: str) -> None:
        self.filter_edit.setText(text)

    def visible_run_ids(self) -> list[str]:
        """Every run the filter lets through, in table order (including rows not scrolled to yet)."""
        return self.model.matching_ids()

    def selected_run_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [i.data(RUN_ID_ROLE) for i in sorted(rows, key=lambda i: i.row())]

    def select_runs(self, run_ids: list[str]) -> None:
        self._select(run_ids, run_ids[-1] if run_ids else None, notify=True)

    def metric_choices(self) -> list[str]:
        """The series offered beside the curves: every metric of the selected runs (and the defaults)."""
        return [self.metric_list.item(i).text() for i in range(self.metric_list.count())]

    def chosen_metrics(self) -> list[str]:
        return list(self._chosen_metrics)

    def choose_metrics(self, names: list[str]) -> None:
        """Draw these series of the selected runs (as ticking them in the list does)."""
        self._chosen_metrics = list(dict.fromkeys(names))
        self._fill_metric_list()
        self._update_overlays(force=True)

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
            row = self.model.row_of(run_id)  # fetches the rows down to it
            if row >= 0:
                selection.select(self.model.index(row, 0), self.model.index(row, last_col))
        model.blockSignals(True)  # one overlay update below, not one per restored row
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if current is not None and (row := self.model.row_of(current)) >= 0:
            model.setCurrentIndex(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        model.blockSignals(False)
        self.table.viewport().update()
        if notify:
            self._selection_changed()
        elif current is not None and self.model.row_of(current) >= 0:
            self._current = current
        self.diagnostics_button.setEnabled(self._current is not None)

    def _filter_changed(self, text: str) -> None:
        self.model.set_filter(text)
        self._update_count()

    def _update_count(self) -> None:
        shown, total = len(self.model.matching_ids()), self.model.total()  # the store's true numbers
        text = f"{shown:,} of {total:,} runs" if shown != total else f"{total:,} runs"
        gpu_seconds, cost = self._store.run_usage_total(self.model.filter_text())
        if gpu_seconds > 0:  # what the runs shown took and cost (runs usage prints the same sums)
            text += f" · {gpu_seconds / 3600:,.2f} GPU-h" + (f" · cost {cost:,.2f}" if cost > 0 else "")
        self.count_label.setText(text)

    def _selection_changed(self, *_: Any) -> None:
        ids = self.selected_run_ids()
        index = self.table.selectionModel().currentIndex()
        current = index.data(RUN_ID_ROLE) if index.isValid() else None
        self._current = current if current in ids else (ids[-1] if ids else None)
        self.diagnostics_button.setEnabled(self._current is not None)
        self._fill_metric_list()
        self._update_overlays(force=True)
        self._show_confusion()
        self.comments.show_run(self.model.run_by_id(self._current) if self._current else None)
        self.runs_selected.emit(ids)

    def _fill_metric_list(self) -> None:
        """List the selected runs' metrics (the ticked ones first, then the rest by name), ticked as chosen."""
        names: set[str] = set()
        for run_id in self.selected_run_ids()[:MAX_OVERLAID]:
            run = self.model.run_by_id(run_id)
            names.update(run.metrics if run is not None else ())
        ordered = [n for n in self._chosen_metrics if n in names or n in OVERLAY_METRICS]
        ordered += sorted(names - set(ordered))
        if ordered == self.metric_choices() and all(
                (self.metric_list.item(i).checkState() == Qt.CheckState.Checked) == (n in self._chosen_metrics)
                for i, n in enumerate(ordered)):
            return
        self.metric_list.blockSignals(True)
        self.metric_list.clear()
        for name in ordered:
            item = QListWidgetItem(name, self.metric_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in self._chosen_metrics else Qt.CheckState.Unchecked)
        self.metric_list.blockSignals(False)

    def _metric_ticked(self, item: QListWidgetItem) -> None:
        name, ticked = item.text(), item.checkState() == Qt.CheckState.Checked
        chosen = [n for n in self._chosen_metrics if n != name]
        self._chosen_metrics = [*chosen, name] if ticked else chosen
        self._update_overlays(force=True)

    def _update_overlays(self, force: bool) -> None:
        ids = self.selected_run_ids()[:MAX_OVERLAID]
        runs = {run_id: run for run_id in ids if (run := self.model.run_by_id(run_id)) is not None}
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
            for name in self._chosen_metrics:
                series = self._store.metric_history(run_id, name)
                if len(series):
                    self.curves.add_series(label, name, series.steps, series.values)
            self._overlaid[run_id] = stamp
        self.curves.flush()

    def _show_confusion(self) -> None:
        run_id = self._current
        run = self.model.run_by_id(run_id) if run_id else None
        self._current_status = run.status if run is not None else None
        if run is None:
            self.confusion.set_confusion(None, "Select a finished classification run to see its confusion matrix.")
            return
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
        run = self.model.run_by_id(run_id) if run_id else None
        if run_id is None or run is None:
            return None
        view = self._landscapes.get(run_id)
        if view is None:
            view = LandscapeView(self._store.path, run.id, run.name, runs_root(Path(self._store.path)) / run.id,
                                 self.window(), self._theme)
            self._landscapes[run_id] = view
        view.show()
        view.raise_()
        return view

    def _fit_columns(self) -> None:
        # Sized to the header and a sample of rows: resizeColumnsToContents would build every row of the store
        # and ask Qt to measure each cell.
        header = self.table.horizontalHeader()
        cell_metrics, header_metrics = self.table.fontMetrics(), header.fontMetrics()
        for column, name in enumerate(COLUMNS):
            texts = self.model.sample_texts(column, WIDTH_SAMPLE_ROWS)
            width = max([header_metrics.horizontalAdvance(name) + 28,  # room for the sort arrow
                         *(cell_metrics.horizontalAdvance(text) + 14 for text in texts)])
            header.resizeSection(column, max(56, min(width, 320)))
