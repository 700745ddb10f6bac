"""The runs table: one row per store Run, and the filter the runs panel types into.

Filter syntax (terms separated by spaces; a row must match every term, case-insensitively):

- ``status:finished``, ``name:lr-sweep``, ``experiment:mnist``, ``id:89a``, ``tag:graph`` — that field
  contains the text (``tag:`` looks in tag keys and values);
- ``lr=0.001``, ``optimizer=adam``, ``graph=digits-mlp`` — a param or tag with that value; numbers compare
  as numbers, so ``lr=1e-3`` matches too; ``!=`` negates;
- ``val/acc>0.9``, ``epochs>=10``, ``train/loss<0.2`` — a metric's latest value (or a numeric param);
- anything else — free text, found in the id, name, experiment, status, params or tags.
"""

from __future__ import annotations

import math
import operator
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from neuralforge_desktop.core.store.usage import run_usage
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors, status_color

SORT_ROLE = Qt.ItemDataRole.UserRole
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("id", "name", "experiment", "status", "created", "val acc", "val loss", "train loss", "epochs", "host",
           "GPU-h", "cost", "checksum")
NUMERIC = {"val acc", "val loss", "train loss", "epochs", "created", "GPU-h", "cost"}
_Index = QModelIndex | QPersistentModelIndex


def _metric(run: Any, name: str) -> float | None:
    m = run.metrics.get(name)
    return None if m is None or m.value is None or math.isnan(m.value) else float(m.value)


def epochs_done(run: Any) -> int:
    # One "epoch_seconds" point is logged per completed epoch (see the engine), so its count is the progress.
    m = run.metrics.get("epoch_seconds")
    return int(m.count) if m is not None else 0


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
    """Runs as rows, COLUMNS as columns; ``SORT_ROLE`` gives sortable keys, ``RUN_ID_ROLE`` the run id."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._runs: list[Any] = []
        self._cells: list[list[tuple[str, Any]]] = []
        self._colors = plot_colors(DEFAULT_THEME)

    def set_runs(self, runs: Sequence[Any]) -> None:
        """Show ``runs``. Same ids in the same order (a periodic refresh) update in place, keeping selection and
        scroll position; anything else resets the model."""
        cells = [[cell(run, c) for c in COLUMNS] for run in runs]
        if [r.id for r in runs] == [r.id for r in self._runs]:
            self._runs, self._cells = list(runs), cells
            if runs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(runs) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._runs, self._cells = list(runs), cells
        self.endResetModel()

    def set_theme(self, name: str) -> None:
        self._colors = plot_colors(name)
        if self._runs:
            self.dataChanged.emit(self.index(0, 3), self.index(len(self._runs) - 1, 3))

    def run(self, row: int) -> Any:
        return self._runs[row]

    def runs(self) -> list[Any]:
        return list(self._runs)

    def row_of(self, run_id: str) -> int:
        return next((i for i, r in enumerate(self._runs) if r.id == run_id), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), COLUMNS[index.column()]
        text, key = self._cells[row][index.column()]
        run = self._runs[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return key
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC - {"created"}:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status":
            return QColor(status_color(run.status, self._colors))
        if role == Qt.ItemDataRole.ToolTipRole:
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


# -- filtering ---------------------------------------------------------------------------------------------
_FIELDS = ("status", "name", "experiment", "id", "tag")
_OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, "<=": operator.le, "!=": operator.ne,
                                               ">": operator.gt, "<": operator.lt, "=": operator.eq}
_COMPARE = re.compile(r"^([^<>=!]+?)(>=|<=|!=|>|<|=)(.*)$")


@dataclass(frozen=True)
class Term:
    kind: str  # "field", "compare" or "text"
    key: str
    op: str
    value: str


def parse_filter(text: str) -> list[Term]:
    terms: list[Term] = []
    for token in text.split():
        head, sep, rest = token.partition(":")
        if sep and head.lower() in _FIELDS and "=" not in head:
            terms.append(Term("field", head.lower(), ":", rest.lower()))
            continue
        match = _COMPARE.match(token)
        if match:
            terms.append(Term("compare", match.group(1), match.group(2), match.group(3)))
        else:
            terms.append(Term("text", "", "", token.lower()))
    return terms


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _values_for(run: Any, key: str) -> list[Any]:
    found = [run.params[key]] if key in run.params else []
    if key in run.tags:
        found.append(run.tags[key])
    metric = _metric(run, key)
    if metric is not None:
        found.append(metric)
    if key in ("epochs_done",):
        found.append(epochs_done(run))
    return found


def _compare(actual: Any, op: str, wanted: str) -> bool:
    a, w = _number(actual), _number(wanted)
    if a is not None and w is not None:
        if op in ("=", "!="):  # 0.001 written as 1e-3, or a float32 metric shown rounded
            same = math.isclose(a, w, rel_tol=1e-9, abs_tol=1e-12)
            return same if op == "=" else not same
        return _OPS[op](a, w)
    if op in ("=", "!="):
        same = str(actual).lower() == wanted.lower()
        return same if op == "=" else not same
    return False


def run_matches(run: Any, terms: Sequence[Term]) -> bool:
    for term in terms:
        if term.kind == "field":
            if term.key == "tag":
                hay = " ".join(f"{k}={v}" for k, v in run.tags.items()).lower()
            else:
                hay = str(getattr(run, term.key)).lower()
            if term.value not in hay:
                return False
        elif term.kind == "compare":
            values = _values_for(run, term.key)
            if term.op == "!=" and not values:
                continue  # a run without the key is "not equal" to anything
            if not any(_compare(v, term.op, term.value) for v in values):
                return False
        else:
            hay = " ".join([run.id, run.name, run.experiment, run.status,
                            *(f"{k}={v}" for k, v in run.params.items()),
                            *(f"{k}={v}" for k, v in run.tags.items())]).lower()
            if term.value not in hay:
                return False
    return True


class RunFilterProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` and keeps the rows matching the filter text (see the module docs)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._terms: list[Term] = []
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: the replacement of invalidateRowsFilter()
            self.beginFilterChange()
            self._text, self._terms = text, parse_filter(text)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._text, self._terms = text, parse_filter(text)
            self.invalidateRowsFilter()

    def filter_text(self) -> str:
        return self._text

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._terms:
            return True
        model = self.sourceModel()
        if not isinstance(model, RunsTableModel):
            return True
        return run_matches(model.run(source_row), self._terms)

    def lessThan(self, left: _Index, right: _Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:  # mixed types in one column: compare as text
            return str(a) < str(b)
