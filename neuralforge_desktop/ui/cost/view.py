"""The Cost & Capacity view (Team ▸ Cost & Capacity…): spend over time by project, user, host or experiment,
the totals, accuracy against compute with its Pareto front and the cost of the last 10 %, and each host's
weekly GPU-hours with a forecast and its utilisation.

The reports are read in a worker thread with its own Store (a Store is for one thread) and the forecasts fitted
there too: with statsmodels they take a second or more, which the window must not freeze for.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.cost.plots import CapacityPlot, RoiPlot, SpendPlot, UtilisationPlot
from neuralforge_desktop.ui.latest_request import LatestRequest
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors
from neuralforge_desktop.ui.ui_thread import emitter

GROUPS = (("Project", "project"), ("User", "user"), ("Host", "host"), ("Experiment", "experiment"))
BUCKETS = (("Weekly", "week"), ("Daily", "day"), ("Monthly", "month"))
MEASURES = (("Cost", "cost"), ("GPU-hours", "gpu_hours"))
AXES = (("Compute: auto", "auto"), ("Compute: cost", "cost"), ("Compute: GPU-hours", "gpu_hours"))


def load_reports(store_path: Path, hosts_path: Path | None, what: dict[str, Any]) -> dict[str, Any]:
    """Everything the view shows, from a Store opened (and closed) in the calling thread."""
    from neuralforge_desktop.core.remote.hosts import HostRegistry
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.capacity import capacity_report
    from neuralforge_desktop.core.team.costs import cost_report
    from neuralforge_desktop.core.team.roi import roi_report
    from neuralforge_desktop.core.team.spend import month_of, parse_period, spend_rows

    period = parse_period(what["period"]) if what.get("period") else None
    with Store(store_path) as store:
        months = sorted({month_of(r.when).label for r in spend_rows(store)})
        result: dict[str, Any] = {
            "cost": cost_report(store, by=what["by"], bucket=what["bucket"], period=period),
            "roi": roi_report(store, axis=what["axis"], period=period),
            "months": months,
        }
        if what.get("capacity", True):
            result["capacity"] = capacity_report(store, HostRegistry(hosts_path).all(), weeks=what["weeks"])
    return result


class ReportLoader(QObject):
    """Loads in a daemon thread, the newest request only; results arrive on the UI thread."""

    arrived = Signal(object, object)  # (request, result dict | exception)

    def __init__(self, store_path: Path, hosts_path: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store_path, self.hosts_path = store_path, hosts_path
        self._worker = LatestRequest("cost-reports", functools.partial(load_reports, store_path, hosts_path),
                                     emitter(self, "arrived"))
        self.read_in = self._worker.worked_in  # the threads reports were read in (tests check it is not the UI's)

    def request(self, **what: Any) -> None:
        self._worker.request(what)

    def stop(self) -> None:
        self._worker.stop()


def _combo(parent: QWidget, name: str, items: tuple[tuple[str, str], ...]) -> QComboBox:
    box = QComboBox(parent)
    box.setObjectName(name)
    for text, data in items:
        box.addItem(text, data)
    return box


def _number(value: float, digits: int = 1) -> QTableWidgetItem:
    cell = QTableWidgetItem(f"{value:,.{digits}f}")
    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return cell


class CostView(QWidget):
    """Cost, ROI and capacity of the store at ``store_path`` (hosts from ``hosts_path``, default the user's)."""

    TOTAL_COLUMNS = ("", "runs", "GPU-hours", "cost", "share")

    def __init__(self, store_path: str | Path, theme: str = DEFAULT_THEME, parent: QWidget | None = None, *,
                 hosts_path: str | Path | None = None, weeks: int = 8) -> None:
        super().__init__(parent)
        self.setObjectName("CostView")
        self.setWindowTitle("Cost & Capacity")
        self.store_path = Path(store_path)
        self.weeks = weeks
        self.colors = plot_colors(theme)
        self.reports: dict[str, Any] | None = None
        self.loader = ReportLoader(self.store_path, None if hosts_path is None else Path(hosts_path), self)
        self.loader.arrived.connect(self._arrived)
        self.period = QComboBox(self)
        self.period.setObjectName("cost_period")
        self.period.addItem("All time", "")
        self.period.setMinimumWidth(120)
        self.group = _combo(self, "cost_group", GROUPS)
        self.bucket = _combo(self, "cost_bucket", BUCKETS)
        self.measure = _combo(self, "cost_measure", MEASURES)
        self.axis = _combo(self, "cost_axis", AXES)
        self.roi_project = QComboBox(self)
        self.roi_project.setObjectName("cost_roi_project")
        self.roi_project.addItem("All projects", "")
        self.host = QComboBox(self)
        self.host.setObjectName("cost_host")
        self.host.setMinimumWidth(110)
        for box in (self.period, self.group, self.bucket, self.axis):
            box.activated.connect(lambda _i: self.refresh())
        self.measure.activated.connect(lambda _i: self._show_cost())
        self.roi_project.activated.connect(lambda _i: self._show_roi())
        self.host.activated.connect(lambda _i: self._show_capacity())
        self.reload = QPushButton("Reload", self)
        self.reload.clicked.connect(lambda: self.refresh(capacity=True))
        self.summary = QLabel("Reading the store…", self)
        self.summary.setObjectName("cost_summary")
        self.spend = SpendPlot(self, self.colors)
        self.roi = RoiPlot(self, self.colors)
        self.capacity = CapacityPlot(self, self.colors)
        self.utilisation = UtilisationPlot(self, self.colors)
        self.roi_note = QLabel("", self)
        self.roi_note.setObjectName("cost_roi_note")
        self.roi_note.setWordWrap(True)
        self.capacity_note = QLabel("", self)
        self.capacity_note.setObjectName("cost_capacity_note")
        self.capacity_note.setWordWrap(True)
        self.totals = QTableWidget(0, len(self.TOTAL_COLUMNS), self)
        self.totals.setObjectName("cost_totals")
        self.totals.verticalHeader().setVisible(False)
        self.totals.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.totals.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.totals.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._layout()
        self.refresh(capacity=True)

    def _layout(self) -> None:
        bar = QHBoxLayout()
        for label, box in (("Period", self.period), ("Group by", self.group), ("Buckets", self.bucket),
                           ("Show", self.measure)):
            bar.addWidget(QLabel(label, self))
            bar.addWidget(box)
        bar.addStretch(1)
        bar.addWidget(self.reload)
        roi_box = QVBoxLayout()
        roi_bar = QHBoxLayout()
        roi_bar.addWidget(self.roi_project, 1)
        roi_bar.addWidget(self.axis, 1)
        roi_box.addLayout(roi_bar)
        roi_box.addWidget(self.roi.widget, 1)
        roi_box.addWidget(self.roi_note)
        capacity_box = QVBoxLayout()
        capacity_bar = QHBoxLayout()
        capacity_bar.addWidget(QLabel("Host", self))
        capacity_bar.addWidget(self.host, 1)
        capacity_box.addLayout(capacity_bar)
        capacity_box.addWidget(self.capacity.widget, 1)
        capacity_box.addWidget(self.capacity_note)
        grid = QGridLayout()
        grid.addWidget(self.spend.widget, 0, 0, 1, 2)
        grid.addWidget(self.totals, 0, 2)
        grid.addLayout(roi_box, 1, 0)
        grid.addLayout(capacity_box, 1, 1)
        grid.addWidget(self.utilisation.widget, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 6)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)

    def refresh(self, capacity: bool = False) -> None:
        """Read the reports again for the chosen period, grouping and buckets (and the forecasts if asked or
        not read yet: they do not depend on those choices)."""
        self.summary.setText("Reading the store…")
        need = capacity or self.reports is None or "capacity" not in self.reports
        self.loader.request(period=self.period.currentData(), by=self.group.currentData(),
                            bucket=self.bucket.currentData(), axis=self.axis.currentData(), weeks=self.weeks,
                            capacity=need)

    def _arrived(self, what: dict[str, Any], result: Any) -> None:
        if isinstance(result, Exception):
            self.summary.setText(f"Could not read the store: {result}")
            return
        if self.reports is not None and "capacity" not in result and "capacity" in self.reports:
            result["capacity"] = self.reports["capacity"]
        self.reports = result
        self._fill_choices(result)
        self._show_cost()
        self._show_roi()
        self._show_capacity()

    def _fill_choices(self, result: dict[str, Any]) -> None:
        wanted = [""]
        quarters = sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in result["months"]}, reverse=True)
        wanted += quarters + sorted(result["months"], reverse=True)
        _refill(self.period, [("All time" if w == "" else w, w) for w in wanted])
        _refill(self.roi_project, [("All projects", "")] + [(p.project, p.project) for p in result["roi"].projects])
        capacity = result.get("capacity")
        hosts = capacity.hosts if capacity else ()
        busiest = sorted(hosts, key=lambda h: -sum(h.gpu_hours))
        together = [("All hosts", capacity.total.host)] if capacity and capacity.total else []
        _refill(self.host, together + [(h.host, h.host) for h in busiest])

    def _show_cost(self) -> None:
        if self.reports is None:
            return
        report = self.reports["cost"]
        measure = self.measure.currentData()
        self.spend.update(report, measure)
        self.totals.setRowCount(len(report.totals) + 1)
        self.totals.setHorizontalHeaderLabels([report.by, *self.TOTAL_COLUMNS[1:]])
        whole = report.total.cost if measure == "cost" else report.total.gpu_hours
        for row, total in enumerate([*report.totals, report.total]):
            share = (total.cost if measure == "cost" else total.gpu_hours) / whole if whole else 0.0
            cells = [QTableWidgetItem(total.key), _number(total.runs, 0), _number(total.gpu_hours),
                     _number(total.cost, 2), _number(100 * share, 0)]
            cells[-1].setText(f"{100 * share:.0f} %")
            for column, cell in enumerate(cells):
                self.totals.setItem(row, column, cell)
        for column in range(1, len(self.TOTAL_COLUMNS)):
            self.totals.resizeColumnToContents(column)
        where = f" in {report.period.label}" if report.period else ""
        self.summary.setText(f"{report.total.runs:,} runs{where}: {report.total.gpu_hours:,.1f} GPU-hours, "
                             f"cost {report.total.cost:,.2f} (GPU-hours × each host's rate; local runs cost 0). "
                             "A run counts when it started.")

    def _show_roi(self) -> None:
        if self.reports is None:
            return
        report = self.reports["roi"]
        project = self.roi_project.currentData() or None
        self.roi.update(report, project)
        unit = "" if report.axis == "cost" else " GPU-h"
        lines = []
        for p in report.projects:
            if project is not None and p.project != project:
                continue
            s = p.last_stretch
            if s is None:
                lines.append(f"{p.project}: — ({p.why_no_stretch})")
            else:
                lines.append(f"{p.project} {s.last_spend:,.0f}{unit} ({s.last_share:.0%})"
                             if project is None else
                             f"{s.last_spend:,.0f}{unit} of the {s.spend_to_best:,.0f}{unit} spent to reach the "
                             f"best {s.best:.3f} ({s.last_share:.0%}); 90 % of the gain was reached at "
                             f"{s.spend_to_target:,.0f}{unit}")
        head = "Last 10 % of the accuracy gain cost (share of the spend to best): " if project is None else \
            "Last 10 % of the accuracy gain cost "
        self.roi_note.setText(head + ", ".join(lines) if lines else "No runs with val/acc yet")
        self.roi_note.setToolTip("From the first run to reach baseline + 0.9 × (best − baseline) to the first to "
                                 "reach the best, in start order; baseline = the project's first run")

    def _show_capacity(self) -> None:
        from neuralforge_desktop.core.team.capacity import BAND_LEVEL

        report = self.reports.get("capacity") if self.reports else None
        if report is None:
            return
        chosen = next((h for h in (report.total, *report.hosts) if h is not None and h.host == self.host.currentData()),
                      None)
        self.capacity.update(chosen, BAND_LEVEL)
        start = dt.date.fromtimestamp(report.span_start)
        end = dt.date.fromtimestamp(report.span_end - 1)
        self.utilisation.update(report, f"{start:%d %b} – {end:%d %b}")
        if report.note:
            note = report.note
        elif chosen is None:
            note = "No complete week of runs yet."
        elif chosen.forecast is None:
            note = chosen.note
        else:
            f = chosen.forecast
            full = chosen.full_from
            reach = ("" if chosen.weekly_capacity is None else " Stays under capacity." if full is None else
                     f" Reaches capacity in the week of {dt.date.fromtimestamp(full):%d %b %Y}.")
            note = (f"Next {len(f.mean)} weeks: {sum(f.mean):,.0f} GPU-hours forecast ({f.model}; band: "
                    f"{BAND_LEVEL:.0%} of simulated paths).{reach}")
        self.capacity_note.setText(note)

    def closeEvent(self, event: Any) -> None:  # Qt names this method
        self.loader.stop()
        super().closeEvent(event)


def _refill(box: QComboBox, items: list[tuple[str, str]]) -> None:
    """Replace ``box``'s items, keeping the chosen one when it is still there."""
    current = box.currentData()
    if [(box.itemText(i), box.itemData(i)) for i in range(box.count())] == items:
        return
    box.blockSignals(True)
    box.clear()
    for text, data in items:
        box.addItem(text, data)
    index = box.findData(current)
    box.setCurrentIndex(index if index >= 0 else 0)
    box.blockSignals(False)


def open_cost_view(window: Any) -> CostView:
    """The Cost & Capacity view of ``window``'s store in its own window, closed with the main one."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = CostView(store_path, window.theme, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1280, 800)
    view.show()
    return view
