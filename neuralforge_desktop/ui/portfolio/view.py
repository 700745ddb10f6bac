"""The Portfolio view (Team ▸ Portfolio…): summary tiles, every project with its owner, status, best result,
models in staging and production, and the month's GPU-hours and cost against its budget (a bar coloured at the
80 % and 100 % thresholds), the month per user, and the month's budget alerts.

The portfolio is computed by :func:`neuralforge_desktop.core.team.portfolio.compute_portfolio` in a background
thread with its own store connection, so a large store never freezes the window; the result is shown on the UI
thread when it arrives."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.team.budgets import money
from neuralforge_desktop.core.team.portfolio import Portfolio
from neuralforge_desktop.core.team.spend import Period, month_of
from neuralforge_desktop.ui.portfolio.tables import (
    PROJECT_COLUMNS,
    USER_COLUMNS,
    BudgetBarDelegate,
    SortItem,
    Tile,
    make_table,
    project_cells,
    theme_roles,
)
from neuralforge_desktop.ui.theme import section_style
from neuralforge_desktop.ui.ui_thread import emitter

MONTHS_OFFERED = 12


def recent_months(now: float, count: int = MONTHS_OFFERED) -> list[Period]:
    """This month and the ``count - 1`` before it, newest first."""
    months = [month_of(now)]
    while len(months) < count:
        months.append(month_of(months[-1].start - 1))
    return months


class PortfolioView(QWidget):
    loaded = Signal(object)  # a Portfolio, or the exception computing it raised

    def __init__(self, store_path: str | os.PathLike[str], parent: QWidget | None = None, *,
                 now: float | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("portfolio_view")
        self.setWindowTitle("Portfolio")
        self.store_path = Path(store_path)
        self.now = now  # None: the clock (a fixed moment for pictures and tests)
        self.portfolio: Portfolio | None = None
        self.busy = False
        self.read_in: set[int] = set()  # the threads the portfolio was computed in (a test checks it is not ours)
        self.loaded.connect(self._show)
        self._build()
        self.refresh()

    # -- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.colours = theme_roles(self)
        self.title = QLabel("Portfolio")
        self.title.setStyleSheet(f"font-size: 18px; font-weight: bold; color: {self.colours.text};")
        self.month_box = QComboBox()
        self.month_box.setObjectName("portfolio_month")
        for month in recent_months(self.now if self.now is not None else time.time()):
            self.month_box.addItem(month.label, month)
        self.month_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("portfolio_refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel()
        self.status.setObjectName("portfolio_status")
        self.status.setStyleSheet(f"color: {self.colours.muted};")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.status)
        header.addWidget(QLabel("Month:"))
        header.addWidget(self.month_box)
        header.addWidget(self.refresh_button)

        self.tiles = {key: Tile(caption, f"tile_{key}", self.colours) for key, caption in (
            ("projects", "projects"), ("active", "active (a run in the last 7 days)"),
            ("production", "models in production"), ("gpu_hours", "GPU-hours this month"),
            ("spend", "spent this month"))}
        tiles = QGridLayout()
        for column, tile in enumerate(self.tiles.values()):
            tiles.addWidget(tile, 0, column)

        self.projects = make_table(PROJECT_COLUMNS)
        self.projects.setObjectName("portfolio_projects")
        self.projects.setItemDelegateForColumn(PROJECT_COLUMNS.index("Used"), BudgetBarDelegate(
            self.colours.raised, self.colours.text, self.projects))
        # the costliest first until the user sorts by another column
        self.projects.horizontalHeader().setSortIndicator(PROJECT_COLUMNS.index("Cost (month)"),
                                                          Qt.SortOrder.DescendingOrder)
        self.users = make_table(USER_COLUMNS)
        self.users.setObjectName("portfolio_users")
        self.users.horizontalHeader().setSortIndicator(USER_COLUMNS.index("Cost (month)"), Qt.SortOrder.DescendingOrder)
        self.alerts = QListWidget()
        self.alerts.setObjectName("portfolio_alerts")

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self._titled("Per user this month", self.users))
        lower.addWidget(self._titled("Budget alerts this month", self.alerts))
        lower.setSizes([640, 560])
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self._titled("Projects", self.projects))
        body.addWidget(lower)
        body.setSizes([300, 300])

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(tiles)
        layout.addWidget(body, 1)

    def _titled(self, title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 6, 0, 0)
        label = QLabel(title)
        label.setStyleSheet(section_style(self.colours.name))
        layout.addWidget(label)
        layout.addWidget(widget)
        return box

    # -- reading ---------------------------------------------------------------------------------------------
    def selected_month(self) -> Period:
        month = self.month_box.currentData()
        assert isinstance(month, Period)
        return month

    def refresh(self) -> None:
        """Compute the portfolio of the chosen month in a background thread; :attr:`loaded` says when it is in."""
        if self.busy:
            return
        self.busy = True
        self.refresh_button.setEnabled(False)
        self.status.setText("reading…")
        threading.Thread(target=_read_portfolio, name="portfolio-reader", daemon=True,
                         args=(self.store_path, self.selected_month(), self.now, self.read_in,
                               emitter(self, "loaded"))).start()

    def _show(self, result: object) -> None:
        self.busy = False
        self.refresh_button.setEnabled(True)
        if isinstance(result, Exception):
            self.status.setText(f"could not read the portfolio: {result}")
            return
        assert isinstance(result, Portfolio)
        self.portfolio = result
        self.title.setText(f"Portfolio · {result.month.label}")
        self._fill_tiles(result)
        self._fill_projects(result)
        self._fill_users(result)
        self.alerts.clear()
        for alert in result.alerts:
            self.alerts.addItem(alert.describe())
            c = self.colours
            colour = c.error if alert.threshold >= 100 else c.warning if alert.threshold >= 80 else c.text
            self.alerts.item(self.alerts.count() - 1).setForeground(QColor(colour))
        if not result.alerts:
            self.alerts.addItem("no budget thresholds crossed this month")
        self.status.setText(f"{sum(p.runs for p in result.projects):,} runs read in {result.seconds * 1000:.0f} ms")

    def _fill_tiles(self, p: Portfolio) -> None:
        self.tiles["projects"].show_value(str(len(p.projects)))
        self.tiles["active"].show_value(str(p.active))
        self.tiles["production"].show_value(str(p.in_production))
        self.tiles["gpu_hours"].show_value(f"{p.gpu_hours:,.1f}", f"GPU-hours in {p.month.label}")
        budget = p.budgeted
        share = f"{100 * p.cost / budget:.0f}% of {money(budget)} budgeted" if budget else "no budgets set"
        self.tiles["spend"].show_value(money(p.cost), f"spent in {p.month.label}, {share}")

    def _fill_projects(self, p: Portfolio) -> None:
        self.projects.setSortingEnabled(False)  # rows filled while sorting would move under the loop
        self.projects.setRowCount(len(p.projects))
        for row, project in enumerate(p.projects):
            for column, cell in enumerate(project_cells(project, self.colours.ok)):
                self.projects.setItem(row, column, cell)
        self.projects.setSortingEnabled(True)
        self.projects.setColumnWidth(PROJECT_COLUMNS.index("Used"), 150)

    def _fill_users(self, p: Portfolio) -> None:
        self.users.setSortingEnabled(False)
        self.users.setRowCount(len(p.users))
        for row, user in enumerate(p.users):
            cells = [SortItem(user.user), SortItem(str(user.runs), user.runs, right=True),
                     SortItem(f"{user.gpu_hours:,.1f}", user.gpu_hours, right=True),
                     SortItem(money(user.cost), user.cost, right=True), SortItem(", ".join(sorted(user.projects)))]
            for column, cell in enumerate(cells):
                self.users.setItem(row, column, cell)
        self.users.setSortingEnabled(True)

    def project_row(self, name: str) -> dict[str, str]:
        """The cells of project ``name`` as shown (by column title), wherever sorting has put it."""
        for row in range(self.projects.rowCount()):
            cells = [self.projects.item(row, c) for c in range(len(PROJECT_COLUMNS))]
            if cells[0] is not None and cells[0].text() == name:
                return {title: cell.text() if cell else "" for title, cell in zip(PROJECT_COLUMNS, cells, strict=True)}
        raise KeyError(name)


def _read_portfolio(store_path: Path, month: Period, now: float | None, read_in: set[int],
                    deliver: Callable[[object], None]) -> None:
    """The reader thread: it holds nothing of the view's but ``deliver`` (an emitter, holding the view weakly)."""
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.portfolio import compute_portfolio

    read_in.add(threading.get_ident())
    result: object
    try:
        with Store(store_path) as store:
            result = compute_portfolio(store, month, now=now)
    except Exception as exc:  # shown in the status line; Refresh tries again
        result = exc
    deliver(result)


def open_portfolio_view(window: Any) -> PortfolioView:
    """The Portfolio view of ``window``'s store in its own window (Team ▸ Portfolio…)."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = PortfolioView(store_path, window)
    view.setWindowFlag(Qt.WindowType.Window)  # its own window, closed with the main one
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1280, 800)
    view.show()
    window.portfolio_view = view
    return view
