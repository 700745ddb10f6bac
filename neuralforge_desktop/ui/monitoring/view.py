"""The Monitoring view: how a served model is doing, refreshed every few seconds.

Latency p50/p95/p99, throughput and errors, traffic per version and input drift over time (the largest
shifted feature's PSI of each stored drift report, with the alert threshold), the figures of the window in
one line, and the alerts table. Serving replicas write the store from other processes
(:class:`~neuralforge_desktop.core.monitoring.recorder.RequestRecorder`); the view only reads it, in a
worker thread with its own Store (a Store is for one thread, and WAL lets it read while replicas write), so
a large history never freezes the window. "Check now" computes drift against the training data and judges
the alert thresholds, as ``neuralforge monitor`` does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.latest_request import LatestRequest
from neuralforge_desktop.ui.monitoring.plots import (
    LatencyPlot,
    PerVersionPlot,
    ThroughputPlot,
    drift_series,
    traffic_series,
)
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors
from neuralforge_desktop.ui.ui_thread import emitter

REFRESH_MS = 5000
WINDOWS = (("Last 15 minutes", 900.0), ("Last hour", 3600.0), ("Last 6 hours", 21600.0),
           ("Last 24 hours", 86400.0), ("Everything", None))
DRIFT_ALERT_PSI = 0.25


class _MonitorReads:
    """The worker's side: one Store, opened on the worker thread at its first request and closed there."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self._store: Any = None

    def __call__(self, what: dict[str, Any]) -> dict[str, Any]:
        from neuralforge_desktop.core.monitoring import known_models, monitor_report
        from neuralforge_desktop.core.store.sqlite_store import Store

        if self._store is None:
            self._store = Store(self.store_path)
        models = known_models(self._store)
        model = what.get("model") or (models[0] if models else None)
        result: dict[str, Any] = {"models": models, "report": None}
        if model is not None:
            since = None if what.get("window") is None else time.time() - what["window"]
            result["report"] = monitor_report(self._store, model, since=since,
                                              refresh_drift=bool(what.get("check")), evaluate=bool(what.get("check")))
        return result

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class ReportReader(QObject):
    """Reads reports in a daemon thread, the newest request only; results arrive on the UI thread."""

    arrived = Signal(object, object)  # (request, report dict | exception)

    def __init__(self, store_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store_path = store_path
        reads = _MonitorReads(store_path)
        self._worker = LatestRequest("monitor-reader", reads, emitter(self, "arrived"), close=reads.close)
        self.read_in = self._worker.worked_in  # the threads reports were read in (tests check it is not the UI's)

    @property
    def busy(self) -> bool:
        return self._worker.busy

    def request(self, **what: Any) -> None:
        self._worker.request(what)

    def stop(self) -> None:
        self._worker.stop()


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


class MonitoringView(QWidget):
    """Served models of the store at ``store_path``: pick one and a window; refreshed every ``refresh_ms``."""

    ALERT_COLUMNS = ("since", "version", "alert", "state")

    def __init__(self, store_path: str | Path, theme: str = DEFAULT_THEME, parent: QWidget | None = None,
                 *, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.setObjectName("MonitoringView")
        self.setWindowTitle("Model Monitoring")
        self.store_path = Path(store_path)
        self.colors = plot_colors(theme)
        self.report: dict[str, Any] | None = None
        self.reader = ReportReader(self.store_path, self)
        self.reader.arrived.connect(self._arrived)
        self.model = QComboBox(self)
        self.model.setObjectName("monitor_model")
        self.model.setMinimumWidth(180)
        self.model.activated.connect(lambda _i: self.refresh())
        self.window_choice = QComboBox(self)
        for text, seconds in WINDOWS:
            self.window_choice.addItem(text, seconds)
        self.window_choice.setCurrentIndex(1)
        self.window_choice.activated.connect(lambda _i: self.refresh())
        self.check_button = QPushButton("Check drift && alerts now", self)
        self.check_button.setToolTip("Compare the sampled inputs with the training data and judge the alert "
                                     "thresholds (as `neuralforge monitor` does)")
        self.check_button.clicked.connect(lambda: self.refresh(check=True))
        self.summary = QLabel("Reading the store…", self)
        self.summary.setObjectName("monitor_summary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.latency = LatencyPlot(self, self.colors)
        self.throughput = ThroughputPlot(self, self.colors)
        self.traffic = PerVersionPlot(self, self.colors, "Traffic per version", "requests/s", "monitor_traffic")
        self.drift = PerVersionPlot(self, self.colors, "Input drift (largest shifted feature)", "PSI",
                                    "monitor_drift", threshold=DRIFT_ALERT_PSI)
        self.alerts = QTableWidget(0, len(self.ALERT_COLUMNS), self)
        self.alerts.setObjectName("monitor_alerts")
        self.alerts.setHorizontalHeaderLabels(self.ALERT_COLUMNS)
        self.alerts.verticalHeader().setVisible(False)
        self.alerts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.alerts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.alerts.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self._layout()
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Model", self))
        bar.addWidget(self.model)
        bar.addWidget(self.window_choice)
        bar.addStretch(1)
        bar.addWidget(self.check_button)
        plots = QWidget(self)
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.latency.widget, 0, 0)
        grid.addWidget(self.throughput.widget, 0, 1)
        grid.addWidget(self.traffic.widget, 1, 0)
        grid.addWidget(self.drift.widget, 1, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(plots)
        split.addWidget(self.alerts)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    def refresh(self, check: bool = False) -> None:
        self.reader.request(model=self.model.currentText() or None, window=self.window_choice.currentData(),
                            check=check)

    def _arrived(self, what: dict[str, Any], result: Any) -> None:
        if isinstance(result, Exception):
            self.summary.setText(f"Could not read the store: {result}")
            return
        models: list[str] = result["models"]
        if [self.model.itemText(i) for i in range(self.model.count())] != models:
            current = self.model.currentText()
            self.model.clear()
            self.model.addItems(models)
            if current in models:
                self.model.setCurrentText(current)
        report = result["report"]
        if report is None:
            self.summary.setText(f"No served requests in {self.store_path} yet: `neuralforge serve` records every "
                                 "request it answers")
            return
        self.show_report(report)

    def show_report(self, report: dict[str, Any]) -> None:
        self.report = report
        if self.model.currentText() != report["model"]:
            self.model.setCurrentText(report["model"])
        s = report["summary"]
        scored = report["accuracy"]
        shares = ", ".join(f"v{v} {f['share'] * 100:.0f} %" for v, f in report["versions"].items())
        accuracy = "—" if scored["accuracy"] is None else f"{scored['accuracy'] * 100:.1f} % of {scored['labelled']:,}"
        error_rate = "—" if s["error_rate"] is None else f"{s['error_rate'] * 100:.2f} %"
        self.summary.setText(f"{s['count']:,} requests  ·  p50 {_ms(s['p50'])}  p95 {_ms(s['p95'])}  "
                             f"p99 {_ms(s['p99'])}  ·  {s['throughput']:.2f} req/s  ·  errors {error_rate}  ·  "
                             f"traffic {shares or '—'}  ·  accuracy from feedback {accuracy}"
                             + "".join(f"\n{note}" for note in report["notes"]))
        self.latency.update(report)
        self.throughput.update(report)
        self.traffic.set_series(traffic_series(report))
        self.drift.set_series(drift_series(report))
        open_alerts = report["alerts"]["open"]
        self.alerts.setRowCount(len(open_alerts))
        for row, alert in enumerate(open_alerts):
            cells = (_clock(alert["time"]), alert["version"], alert["text"],
                     "acknowledged" if alert["acknowledged"] else "open")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3 and not alert["acknowledged"]:
                    item.setForeground(QBrush(QColor(self.colors.error)))
                self.alerts.setItem(row, column, item)
        self.alerts.resizeColumnToContents(0)
        self.alerts.resizeColumnToContents(1)

    def closeEvent(self, event: Any) -> None:  # Qt names this method
        self.timer.stop()
        self.reader.stop()
        super().closeEvent(event)


def open_monitoring_view(window: Any) -> MonitoringView:
    """The Monitoring view of ``window``'s store in its own window, closed with the main one."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = MonitoringView(store_path, window.theme, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1400, 900)
    view.show()
    return view
