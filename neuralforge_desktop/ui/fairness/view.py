"""The Fairness view (View ▸ Fairness…): pick a run or registry version, an evaluation table (or the bundled
example) and a sensitive column; the evaluation runs in a worker thread with its own Store (it trains
nothing, but scoring and 500 bootstrap resamples take seconds) and the view shows per-group bars with
bootstrap whiskers, reliability curves per group, the disparities, the plain-words reading and, with a
mitigation chosen, the threshold optimiser's before/after. The result is also kept as the run's
``fairness.json``, as ``neuralforge fairness`` keeps it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.ui.fairness.plots import RATE_TITLES, RatePlot, ReliabilityPlot
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors
from neuralforge_desktop.ui.ui_thread import emitter

EXAMPLE_DATA = "example:credit"
MITIGATIONS = (("No mitigation", None), ("Demographic parity", "demographic_parity"),
               ("Equalised odds", "equalized_odds"))


class FairnessWorker(QObject):
    """Runs one evaluation at a time in a daemon thread; the result arrives on the UI thread."""

    finished = Signal(object, object)  # (request, report dict | exception)

    def __init__(self, store_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store_path = store_path
        self.ran_in: set[int] = set()  # the threads evaluations ran in (tests check it is not the UI's)

    def start(self, request: dict[str, Any]) -> None:
        threading.Thread(target=_evaluate, args=(self.store_path, request, self.ran_in, emitter(self, "finished")),
                         name="fairness", daemon=True).start()


def _evaluate(store_path: Path, request: dict[str, Any], ran_in: set[int],
              deliver: Callable[[dict[str, Any], Any], None]) -> None:
    """The evaluation thread: it holds nothing of the worker's but ``deliver`` (an emitter, holding it weakly)."""
    from neuralforge_desktop.core.fairness import evaluate_fairness
    from neuralforge_desktop.core.store.sqlite_store import Store

    ran_in.add(threading.get_ident())
    result: Any
    try:
        with Store(store_path) as store:
            result = evaluate_fairness(store, request["model"], request["data"], [request["sensitive"]],
                                       label=request.get("label"), mitigation=request.get("mitigation"),
                                       resamples=request.get("resamples", 500))
    except Exception as exc:  # a UserError's message is the user's to read; anything else is shown too
        result = exc
    deliver(request, result)


def model_choices(store_path: Path) -> list[str]:
    """Finished runs (newest first) and registry versions, as the model box offers them."""
    from neuralforge_desktop.core.store.sqlite_store import Store

    if not store_path.exists():
        return []
    choices: list[str] = []
    with Store(store_path) as store:
        try:
            from neuralforge_desktop.core.registry import list_models

            for model in list_models(store):
                choices += [v.ref for v in model.versions]
        except Exception:  # a store without the registry tables lists runs only
            pass
        choices += [run.id for run in store.list_runs(status="finished", limit=50)]
    return choices


class FairnessView(QWidget):
    def __init__(self, store_path: str | Path, theme: str = DEFAULT_THEME, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FairnessView")
        self.setWindowTitle("Fairness")
        self.store_path = Path(store_path)
        self.colors = plot_colors(theme)
        self.report: dict[str, Any] | None = None
        self.worker = FairnessWorker(self.store_path, self)
        self.worker.finished.connect(self._finished)
        self.model = QComboBox(self)
        self.model.setEditable(True)
        self.model.setObjectName("fairness_model")
        self.model.setMinimumWidth(200)
        self.model.setToolTip("A run id, or a registry version NAME@V")
        self.data = QLineEdit(EXAMPLE_DATA, self)
        self.data.setObjectName("fairness_data")
        self.data.setToolTip("An evaluation table (.csv/.tsv/.parquet) with the model's feature columns, the "
                             "label and the sensitive columns; example:credit is the bundled synthetic set")
        self.browse = QPushButton("Browse…", self)
        self.browse.clicked.connect(self._browse)
        self.sensitive = QComboBox(self)
        self.sensitive.setEditable(True)
        self.sensitive.setObjectName("fairness_sensitive")
        self.sensitive.addItems(["group", "age_band"])
        self.mitigation = QComboBox(self)
        for text, value in MITIGATIONS:
            self.mitigation.addItem(text, value)
        self.evaluate_button = QPushButton("Evaluate", self)
        self.evaluate_button.setObjectName("fairness_evaluate")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.status = QLabel("Pick a model, an evaluation table and a sensitive column, then Evaluate.", self)
        self.status.setObjectName("fairness_status")
        self.reading = QLabel("", self)
        self.reading.setObjectName("fairness_reading")
        self.reading.setWordWrap(True)
        self.reading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rates = {rate: RatePlot(self, self.colors, rate) for rate in RATE_TITLES}
        self.reliability = ReliabilityPlot(self, self.colors)
        self.disparities = QTableWidget(0, 4, self)
        self.disparities.setObjectName("fairness_disparities")
        self.disparities.setHorizontalHeaderLabels(["disparity", "value", "95 % interval",
                                                    "mitigation (held-out half): before → after"])
        self.disparities.verticalHeader().setVisible(False)
        self.disparities.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.disparities.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.disparities.setMaximumHeight(120)
        self._layout()
        self.model.addItems(model_choices(self.store_path))

    def _layout(self) -> None:
        bar = QHBoxLayout()
        for label, widget in (("Model", self.model), ("Data", self.data)):
            bar.addWidget(QLabel(label, self))
            bar.addWidget(widget, 2 if widget is self.data else 1)
        bar.addWidget(self.browse)
        bar.addWidget(QLabel("Sensitive column", self))
        bar.addWidget(self.sensitive)
        bar.addWidget(self.mitigation)
        bar.addWidget(self.evaluate_button)
        grid = QGridLayout()
        for i, plot in enumerate(self.rates.values()):
            grid.addWidget(plot.widget, i // 3, i % 3)
        grid.addWidget(self.reliability.widget, 1, 1, 1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.reading)
        layout.addLayout(grid, 1)
        layout.addWidget(self.disparities)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluation table", "", "Tables (*.csv *.tsv *.parquet *.pq)")
        if path:
            self.data.setText(path)
            self._offer_columns(path)

    def _offer_columns(self, path: str) -> None:
        import pandas as pd

        try:
            columns = (list(pd.read_parquet(path).columns) if path.lower().endswith((".parquet", ".pq"))
                       else list(pd.read_csv(path, nrows=0).columns))
        except (OSError, ValueError):
            return
        self.sensitive.clear()
        self.sensitive.addItems([str(c) for c in columns])

    def request(self) -> dict[str, Any]:
        return {"model": self.model.currentText().strip(), "data": self.data.text().strip(),
                "sensitive": self.sensitive.currentText().strip(), "mitigation": self.mitigation.currentData()}

    def evaluate(self, resamples: int = 500) -> None:
        request = {**self.request(), "resamples": resamples}
        if not request["model"] or not request["data"] or not request["sensitive"]:
            self.status.setText("Give a model, an evaluation table and a sensitive column.")
            return
        self.evaluate_button.setEnabled(False)
        self.status.setText(f"Evaluating {request['model']} on {request['data']}…")
        self.worker.start(request)

    def _finished(self, request: dict[str, Any], result: Any) -> None:
        self.evaluate_button.setEnabled(True)
        if isinstance(result, Exception):
            self.status.setText(f"Could not evaluate: {result}")
            return
        self.show_report(result)

    def show_report(self, report: dict[str, Any]) -> None:
        self.report = report
        column = report["attributes"][0]
        mitigation = report.get("mitigation")
        after = mitigation["after"] if mitigation else None
        shown = mitigation["before"] if mitigation else column
        for plot in self.rates.values():
            plot.update(shown, after)
        self.reliability.update(column)
        where = (f" · bars: before/after {mitigation['constraint'].replace('_', ' ')} on the "
                 f"{mitigation['evaluated_rows']} rows it was not fitted on" if mitigation else "")
        self.status.setText(f"{report['model_description']} on {report['data']} · accuracy "
                            f"{report['overall']['accuracy']:.3f} · saved as the run's fairness.json{where}")
        lines = list(column["reading"])
        if mitigation:
            lines.append(f"After mitigation: {' '.join(mitigation['after']['reading'][:1])} Accuracy "
                         f"{mitigation['accuracy_before']:.3f} → {mitigation['accuracy_after']:.3f}.")
        self.reading.setText("\n".join(lines))
        figures = column["disparities"] or {}
        afters = (after or {}).get("disparities") or {}
        befores = (mitigation["before"].get("disparities") or {}) if mitigation else {}
        self.disparities.setRowCount(len(figures))
        for row, (name, figure) in enumerate(figures.items()):
            ci = figure["ci"]
            cells = (name.replace("_", " "), f"{figure['value']:.3f}",
                     f"{ci[0]:.3f} – {ci[1]:.3f}" if ci else "—",
                     f"{befores[name]['value']:.3f} → {afters[name]['value']:.3f}" if name in afters and name in befores
                     else "—")
            for col, text in enumerate(cells):
                self.disparities.setItem(row, col, QTableWidgetItem(text))


def open_fairness_view(window: Any) -> FairnessView:
    """The Fairness view of ``window``'s store in its own window, closed with the main one."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    view = FairnessView(store_path, window.theme, window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.resize(1400, 900)
    view.show()
    return view
