"""The Portfolio view's pieces: sortable table items, the budget bar drawn in a cell, and the summary tiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.team.portfolio import ProjectRow
from neuralforge_desktop.ui.theme import Roles, roles

SORT_KEY = Qt.ItemDataRole.UserRole
PERCENT = Qt.ItemDataRole.UserRole + 1  # a budget cell's share used (None: no budget)
UNDER, NEAR, OVER = "#2e8b57", "#e69f00", "#c0392b"  # the report's colours: under 80 %, to 100 %, over
PROJECT_COLUMNS = ("Project", "Owner", "Status", "Best result", "Last activity", "Production", "Staging",
                   "GPU-h (month)", "Cost (month)", "Budget", "Used")
USER_COLUMNS = ("User", "Runs", "GPU-h (month)", "Cost (month)", "Projects")


def used_colour(percent: float) -> QColor:
    return QColor(OVER if percent > 100 else NEAR if percent >= 80 else UNDER)


class SortItem(QTableWidgetItem):
    """A cell shown as text and sorted by the key it carries (a number, or the text lowercased)."""

    def __init__(self, text: str, key: object = None, right: bool = False) -> None:
        super().__init__(text)
        self.setData(SORT_KEY, text.lower() if key is None else key)
        if right:
            self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_KEY), other.data(SORT_KEY)
        try:
            return bool(mine < theirs)
        except TypeError:
            return str(mine) < str(theirs)


def theme_roles(widget: QWidget) -> Roles:
    """The app theme's colour roles, told from the palette the widget is drawn with (dark or light)."""
    return roles("dark" if widget.palette().color(QPalette.ColorRole.Window).lightness() < 128 else "light")


class BudgetBarDelegate(QStyledItemDelegate):
    """Draws the share of the budget used as a bar (green, amber from 80 %, red over 100 %) with its figure."""

    def __init__(self, track: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track, self.text = QColor(track), QColor(text)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        percent = index.data(PERCENT)
        if percent is None:
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect.adjusted(4, 5, -4, -5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.track)
        painter.drawRoundedRect(rect, 3, 3)
        filled = QRect(rect)
        filled.setWidth(max(2, int(rect.width() * min(float(percent), 100.0) / 100.0)))
        painter.setBrush(used_colour(float(percent)))
        painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(QColor("#ffffff") if percent >= 45 else self.text)
        painter.drawText(rect.adjusted(6, 0, -6, 0), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         f"{percent:.0f}%")
        painter.restore()


def make_table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSortingEnabled(True)
    return table


def day(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d") if stamp else "—"


def project_cells(row: ProjectRow, active: str = UNDER) -> list[SortItem]:
    best = f"{row.best:.3f}  ({row.metric})" if row.metric and row.best is not None else "—"
    budget = row.budget
    cells = [SortItem(row.name), SortItem(row.owner), SortItem(row.status),
             SortItem(best, row.best if row.best is not None else -1.0),
             SortItem(day(row.last_activity), row.last_activity),
             SortItem(", ".join(row.production) or "—", len(row.production)),
             SortItem(", ".join(row.staging) or "—", len(row.staging)),
             SortItem(f"{row.gpu_hours:,.1f}", row.gpu_hours, right=True),
             SortItem(budget.money(row.cost) if budget else f"${row.cost:,.2f}", row.cost, right=True),
             SortItem(f"{budget.money(budget.monthly)}{'  (hard stop)' if budget.hard_stop else ''}" if budget else "—",
                      budget.monthly if budget else -1.0, right=True),
             SortItem("" if budget else "no budget", row.percent_used if row.percent_used is not None else -1.0)]
    cells[-1].setData(PERCENT, row.percent_used)
    if row.status == "active":
        cells[2].setForeground(QColor(active))
    return cells


class Tile(QFrame):
    """A summary figure with its caption."""

    def __init__(self, caption: str, name: str, colours: Roles, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"QFrame#{name} {{ background: {colours.raised}; border: 1px solid {colours.border}; "
                           "border-radius: 6px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.value = QLabel("—")
        self.value.setStyleSheet(f"font-size: 22px; font-weight: bold; color: {colours.text}; border: none;")
        self.caption = QLabel(caption)
        self.caption.setStyleSheet(f"color: {colours.muted}; border: none;")
        self.caption.setWordWrap(True)
        self.setMinimumHeight(84)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def show_value(self, value: str, caption: str | None = None) -> None:
        self.value.setText(value)
        if caption is not None:
            self.caption.setText(caption)
