"""The runs table: one row per store run, over a store of any size.

The model holds the ids of every run that matches the filter, in the sort order, both computed by SQLite
(:meth:`Store.run_ids`; the filter syntax is :mod:`neuralforge_desktop.core.store.run_filter`'s). Rows are
offered to the view a page at a time (``canFetchMore``/``fetchMore``), and a row's run is read from the store
only when the view first asks for its data (with the rest of its page), so a row scrolled past or jumped over
(a selected run that a sort moved far down) costs nothing until it is seen. :meth:`refresh` reads
only the runs written since its last look (the store's run revisions): a change that leaves the order alone
updates those rows in place; one that moves rows re-lays the table out, keeping selection and current row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from neuralforge_desktop.core.store.run_filter import Term, epochs_done, parse_filter, run_matches
from neuralforge_desktop.core.store.usage import run_usage
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors, status_color

SORT_ROLE = Qt.ItemDataRole.UserRole
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("id", "name", "experiment", "status", "created", "val acc", "val loss", "train loss", "epochs", "host",
           "GPU-h", "cost", "checksum")
NUMERIC = {"val acc", "val loss", "train loss", "epochs", "created", "GPU-h", "cost"}
_Index = QModelIndex | QPersistentModelIndex
PAGE_ROWS = 200  # rows offered to the view per fetch
LOAD_ROWS = 50  # runs read from the store at once when the view first asks for one of them: about a screenful
__all__ = ["COLUMNS", "LOAD_ROWS", "PAGE_ROWS", "RUN_ID_ROLE", "SORT_ROLE", "RunsTableModel", "Term", "cell",
           "epochs_done", "parse_filter", "run_matches"]


def _metric(run: Any, name: str) -> float | None:
    m = run.metrics.get(name)
    return None if m is None or m.value is None or math.isnan(m.value) else float(m.value)


def cell(run: Any, column: str) -> tuple[str, Any]:
    """(text shown, sort key) of one cell; missing numbers sort last in ascending order."""
    if column == "created":
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)), run.created
    if column in ("val acc", "val loss", "train loss"):
        value = _metric(run, column.replace(" ", "/"))
        if value is None:
            return "", math.inf
        return (f"{value:.2%}" if column == "val acc" else f"{value:.4f}"), value
    if column == "epochs":
        done, total = epochs_done(run), run.params.get("epochs")
        return (f"{done}/{total}" if total is not None else str(done)), done
    if column == "checksum":
        text = (run.checksum or "")[:12]
        return text, text
    if column in ("host", "GPU-h", "cost"):
        usage = run_usage(run)
        if column == "host":
            return usage.host, usage.host.lower()
        value = usage.gpu_hours if column == "GPU-h" else usage.cost
        return ("" if value <= 0 else "<0.01" if value < 0.01 else f"{value:,.2f}"), value
    value = str(getattr(run, column))
    return value, value.lower()


class RunsTableModel(QAbstractTableModel):
    """The runs of ``store`` matching :meth:`filter_text`, as rows, COLUMNS as columns; ``SORT_ROLE`` gives
    each cell's sort key, ``RUN_ID_ROLE`` the run id. Sorting (:meth:`sort`, called by the view's header) and
    filtering run in SQL; see the module docs for paging and refresh."""

    def __init__(self, store: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._store = store
        self._filter = ""
        self._sort_column, self._descending = "created", True
        self._ids: list[str] = []  # every matching run, in order
        self._position: dict[str, int] = {}
        self._shown = 0  # rows offered to the view so far: the first _shown of _ids
        self._runs: dict[str, Any] = {}  # run id → Run, for rows whose data the view has asked for
        self._cells: dict[str, list[tuple[str, Any]]] = {}
        self._revision, self._total = -1, 0
        self._colors = plot_colors(DEFAULT_THEME)

    # -- what the panel asks -------------------------------------------------------------------------------
    def total(self) -> int:
        """Every run in the store, whatever the filter."""
        return self._total

    def matching_ids(self) -> list[str]:
        """Every run that matches the filter, in table order (fetched as rows or not)."""
        return list(self._ids)

    def filter_text(self) -> str:
        return self._filter

    def sort_key(self) -> tuple[str, bool]:
        return self._sort_column, self._descending

    def set_filter(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._relayout(self._store.run_ids(text, self._sort_column, self._descending), keep_fetched=False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        name, descending = COLUMNS[column], order == Qt.SortOrder.DescendingOrder
        if (name, descending) == (self._sort_column, self._descending) and self._revision >= 0:
            return
        self._sort_column, self._descending = name, descending
        if self._store is not None and self._revision >= 0:
            self._relayout(self._store.run_ids(self._filter, name, descending), keep_fetched=False)

    def refresh(self) -> str:
        """Re-read what changed since the last call: "same" (nothing did), "updated" (rows changed in place) or
        "moved" (rows came, went or changed places)."""
        revision, total = self._store.run_revision()
        if (revision, total) == (self._revision, self._total):
            return "same"
        changed = self._store.runs_changed_since(self._revision) if self._revision >= 0 else list(self._runs)
        for run_id in changed:
            self._runs.pop(run_id, None)
            self._cells.pop(run_id, None)
        first = self._revision < 0
        self._revision, self._total = revision, total
        ids = self._store.run_ids(self._filter, self._sort_column, self._descending)
        shown = self._shown
        if not first and len(ids) >= shown and ids[:shown] == self._ids[:shown]:
            showed_all = shown == len(self._ids)
            self._set_ids(ids)
            rows = sorted(self._position[run_id] for run_id in changed
                          if run_id in self._position and self._position[run_id] < shown)
            self._load([self._ids[row] for row in rows])  # one read for all, not one per row as they repaint
            for row in rows:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            if showed_all:
                self._fetch(PAGE_ROWS)  # runs that now sort after every shown row: the table showed them all
            return "updated"
        self._relayout(ids, keep_fetched=True)
        return "moved"

    def run(self, row: int) -> Any:
        self._ensure_loaded(row)
        return self._runs[self._ids[row]]

    def run_by_id(self, run_id: str) -> Any:
        """The run if it is in the table (its row fetched and read now if need be), else None."""
        row = self.row_of(run_id)
        if row >= 0:
            self._ensure_loaded(row)
        return self._runs.get(run_id)

    def runs(self) -> list[Any]:
        """The runs read so far (the rows the view has shown), in table order."""
        return [self._runs[run_id] for run_id in self._ids[:self._shown] if run_id in self._runs]

    def row_of(self, run_id: str) -> int:
        """The row of ``run_id`` (fetching rows down to it), or -1 when it is not in the table."""
        row = self._position.get(run_id, -1)
        if row >= self._shown:
            self._fetch(row + 1 - self._shown)
        return row

    def sample_texts(self, column: int, rows: int) -> list[str]:
        """The texts of ``column`` in the first ``rows`` fetched rows (to size the column without asking Qt to
        measure every cell)."""
        rows = min(rows, self._shown)
        self._load(self._ids[:rows])
        return [self._cells[run_id][column][0] for run_id in self._ids[:rows] if run_id in self._cells]

    def set_theme(self, name: str) -> None:
        self._colors = plot_colors(name)
        if self._shown:
            self.dataChanged.emit(self.index(0, 3), self.index(self._shown - 1, 3))

    # -- Qt's model interface ------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and self._shown < len(self._ids)

    def fetchMore(self, parent: _Index) -> None:
        if not parent.isValid():
            self._fetch(PAGE_ROWS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self._shown:
            return None
        run_id = self._ids[index.row()]
        if role == RUN_ID_ROLE:
            return run_id
        if run_id not in self._cells:
            self._ensure_loaded(index.row())
        cells, run = self._cells.get(run_id), self._runs.get(run_id)
        if cells is None or run is None:  # deleted between the id list and the row's read: gone at next refresh
            return None
        column = COLUMNS[index.column()]
        text, key = cells[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return key
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC - {"created"}:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status":
            return QColor(status_color(run.status, self._colors))
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(run, column)
        return None

    # -- internals -----------------------------------------------------------------------------------------
    def _set_ids(self, ids: list[str]) -> None:
        self._ids = ids
        self._position = {run_id: i for i, run_id in enumerate(ids)}

    def _load(self, run_ids: Sequence[str]) -> None:
        missing = [run_id for run_id in run_ids if run_id not in self._runs]
        if missing:
            for run in self._store.get_runs(missing):
                self._runs[run.id] = run
                self._cells[run.id] = [cell(run, c) for c in COLUMNS]

    def _ensure_loaded(self, row: int) -> None:
        if self._ids[row] not in self._runs:
            start = row - row % LOAD_ROWS  # its neighbours too: the view asks for them next
            self._load(self._ids[start:min(start + LOAD_ROWS, self._shown)])

    def _fetch(self, count: int) -> None:
        count = min(count, len(self._ids) - self._shown)
        if count <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + count - 1)
        self._shown += count
        self.endInsertRows()

    def _relayout(self, ids: list[str], keep_fetched: bool) -> None:
        """Show ``ids`` in place of the current rows, keeping the selection and current row (Qt's persistent
        indexes) on the same runs wherever they moved; their rows are fetched if they moved beyond the page."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        kept = [self._ids[i.row()] if 0 <= i.row() < self._shown else None for i in old]
        self._set_ids(ids)
        wanted = [self._position[k] + 1 for k in kept if k is not None and k in self._position]
        fetched = min(self._shown, len(ids)) if keep_fetched else 0
        self._shown = min(len(ids), max(fetched, PAGE_ROWS, *wanted))  # rows are read when first painted
        if not keep_fetched:  # bound the cache to what is offered
            shown = set(ids[:self._shown])
            for run_id in [r for r in self._runs if r not in shown]:
                del self._runs[run_id], self._cells[run_id]
        new = [self.index(self._position[k], i.column()) if k is not None and k in self._position else QModelIndex()
               for i, k in zip(old, kept, strict=True)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()


def _tooltip(run: Any, column: str) -> str | None:
    if column == "checksum":
        return run.checksum or "no checksum yet (recorded once the worker has loaded the data)"
    if column in ("GPU-h", "cost"):
        usage = run_usage(run)
        return (f"{usage.gpu_seconds:,.0f} GPU-seconds = {usage.gpu_hours:.3f} GPU-hours × "
                f"{usage.rate:g} per GPU-hour (the host's rate when the run was dispatched) = "
                f"{usage.cost:.2f}")
    if column in ("id", "name"):
        params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
        tags = ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items()))
        return f"{run.id} · {run.name}\nparams: {params}\ntags: {tags}"
    return None
