"""Model summary: totals and a sortable per-node table from the document's cost report.

The report is cached per revision by the document; after an edit it is computed in the worker thread
(``ui/background.py``), so what must stay cheap on a 10,000-node graph is the view. Changes are coalesced
with a timer (a burst of edits recomputes once) and the table model is reset only when its rows differ.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.analysis.calibration import calibration_token
from neuralforge_desktop.core.analysis.cost import CostReport, CostRow
from neuralforge_desktop.core.analysis.devices import GPU_PROFILES, device_names, measured_when
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.measure import auto
from neuralforge_desktop.core.measure.results import format_ms, graph_fingerprint, load_result
from neuralforge_desktop.ui.bridge import DocumentBridge, SelectionModel
from neuralforge_desktop.ui.panels.measure import MeasureRunner
from neuralforge_desktop.ui.panels.timing import AFTER_CANVAS_MS, start_after_canvas
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles, section_style

SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # raw number (or text) the proxy sorts by
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Node", "Type", "Output shape", "Params", "MACs", "FLOPs", "Activations", "Latency")
NUMERIC = frozenset({3, 4, 5, 6, 7})
_Index = QModelIndex | QPersistentModelIndex
FINGERPRINT = "fingerprint"  # the document's derived value the Measured row is looked up by


def human(value: float, unit: str = "") -> str:
    """``11689512`` → ``11.69 M``; small values stay exact."""
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.2f} {suffix}{unit}"
    return f"{value:g} {unit}".strip() if unit else f"{value:g}"


def human_bytes(value: float) -> str:
    for size, suffix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= size:
            return f"{value / size:.1f} {suffix}"
    return f"{int(value)} B"


def human_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 1:
        return f"{value:.2f} ms"
    return f"{value * 1000:.0f} µs"


def _fingerprint(graph: Graph, _shapes: object) -> str:
    return graph_fingerprint(graph)


def top_level_id(path: str) -> str:
    """``layer2/block0/conv1`` or ``enc[3]/attn`` → the top-level node id (``layer2``, ``enc``)."""
    return path.split("/", 1)[0].split("[", 1)[0]


class CostTableModel(QAbstractTableModel):
    """Rows of a cost report; ``SORT_ROLE`` gives raw values so sorting is numeric, not by the text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CostRow] = []
        self._tree_names = True  # graph order: indent nested rows; sorted: full paths (order is lost)
        self._error_color = QColor(roles(DEFAULT_THEME).warning)

    def set_rows(self, rows: list[CostRow]) -> bool:
        """Replace the rows; returns False (and leaves the view alone) when nothing changed."""
        if rows == self._rows:
            return False
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
        return True

    def set_tree_names(self, on: bool) -> None:
        if on != self._tree_names:
            self._tree_names = on
            if self._rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))

    def set_warning_color(self, color: str) -> None:
        self._error_color = QColor(color)

    def rows(self) -> list[CostRow]:
        return list(self._rows)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # Qt names this method
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # Qt names this method
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # Qt names this method
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight if section in NUMERIC else Qt.AlignmentFlag.AlignLeft)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # Qt names this method
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SORT_ROLE:
            return (row.path, row.type, row.output_shape, row.params, row.macs, row.flops,
                    row.activation_bytes, row.latency_ms)[column]
        if role == PATH_ROLE:
            return row.path
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column in NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and not row.counted:
            return self._error_color
        return None

    def _display(self, row: CostRow, column: int) -> str:
        if column == 0:
            if not self._tree_names or not row.depth:
                return row.path
            return ("   " * row.depth) + row.path.rsplit("/", 1)[-1]
        if column == 1:
            return f"{row.type} ×{row.repeat}" if row.repeat > 1 else row.type
        if column == 2:
            return row.output_shape
        if not row.counted and column in (4, 5, 7):
            return "?"  # not costed: never show a zero that looks like a real figure
        return {3: lambda: human(row.params), 4: lambda: human(row.macs), 5: lambda: human(row.flops),
                6: lambda: human_bytes(row.activation_bytes), 7: lambda: human_ms(row.latency_ms)}[column]()

    def _tooltip(self, row: CostRow, column: int) -> str:
        if column == 0:
            return row.path + (f"\n{row.note}" if row.note else "")
        exact = {3: f"{row.params:,} params ({row.trainable_params:,} trainable)", 4: f"{row.macs:,} MACs",
                 5: f"{row.flops:,} FLOPs", 6: f"{row.activation_bytes:,} bytes of output; "
                 f"{human_bytes(row.saved_bytes)} kept for backward in training", 7: f"{row.latency_ms:.4f} ms"}
        text = exact.get(column, "")
        return text + (f"\nnot fully counted: {row.note}" if not row.counted and row.note else "")


class SummaryPanel(QWidget):
    """Totals, device and batch size, and the per-node table; clicking a row selects the node."""

    def __init__(self, bridge: DocumentBridge, selection: SelectionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._selection = selection
        self._theme = DEFAULT_THEME
        self._report: CostReport | None = None
        self._syncing = False  # true while we move the table's selection to follow the canvas

        self._device = QComboBox(self)
        for name in device_names():
            profile = GPU_PROFILES.get(name)
            self._device.addItem(name.upper() if name != "cpu" else "CPU (this computer)", name)
            self._device.setItemData(self._device.count() - 1, f"{profile.title}: a spec-sheet roofline, no GPU "
                                     "is measured here" if profile else "calibrated on this machine from real "
                                     "torch ops", Qt.ItemDataRole.ToolTipRole)
        self._device.currentIndexChanged.connect(lambda _: self.refresh())
        self._batch = QSpinBox(self)
        self._batch.setRange(1, 1 << 20)
        self._batch.setKeyboardTracking(False)
        self._batch.setToolTip("Batch size: MACs, memory and latency scale with it; parameters do not.")
        self._batch.valueChanged.connect(lambda _: self.refresh())
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Device"))
        controls.addWidget(self._device, 1)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Batch"))
        controls.addWidget(self._batch)
        self._measure = QPushButton("Measure", self)
        self._measure.setToolTip("Time this graph on this computer's CPU (in a separate process: the editor stays "
                                 "responsive) and show the measurement beside the estimate.")
        self._measure.clicked.connect(self._measure_clicked)
        self._runner = MeasureRunner(self)
        self._runner.progress.connect(self._measure_progress)
        self._runner.finished.connect(self._measure_finished)
        self._measure_error = ""

        self._totals: dict[str, QLabel] = {}
        self._captions: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(3)
        names = [("params", "Parameters"), ("trainable", "Trainable"), ("frozen", "Frozen"),
                 ("macs", "MACs"), ("flops", "FLOPs"), ("saved", "Activations kept (training)"),
                 ("peak", "Activations peak (inference)"), ("training", "Training memory"), ("latency", "Latency"),
                 ("measured", "Measured")]
        for i, (key, title) in enumerate(names):
            caption = QLabel(title, self)
            value = QLabel("–", self)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(caption, i, 0)
            grid.addWidget(value, i, 1)
            self._totals[key] = value
            self._captions[key] = caption
        grid.setColumnStretch(1, 1)
        self._device_note = QLabel(self)
        self._device_note.setWordWrap(True)
        self._uncounted = QLabel(self)
        self._uncounted.setWordWrap(True)
        self._uncounted.hide()

        self._nested = QCheckBox("inside blocks", self)
        self._nested.setToolTip("Also list the layers inside blocks (indented under their block).")
        self._nested.toggled.connect(lambda _: self.refresh())
        self._model = CostTableModel(self)
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.setSortRole(SORT_ROLE)
        self._table = QTableView(self)
        self._table.setModel(self._proxy)
        self._table.setSortingEnabled(True)
        self._table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # graph order until a header is clicked
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.verticalHeader().hide()
        self._table.verticalHeader().setDefaultSectionSize(22)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.sortIndicatorChanged.connect(lambda column, _order: self._model.set_tree_names(column < 0))
        for column, width in enumerate((96, 92, 112, 68, 64, 64, 72, 64)):
            self._table.setColumnWidth(column, width)
        self._table.clicked.connect(self._row_clicked)

        self._totals_heading = QLabel("TOTALS", self)
        self._nodes_heading = QLabel("PER NODE", self)
        table_head = QHBoxLayout()
        table_head.addWidget(self._nodes_heading)
        table_head.addStretch(1)
        table_head.addWidget(self._nested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(controls)
        totals_head = QHBoxLayout()  # the heading, and Measure at its right: it fills the Measured total
        totals_head.addWidget(self._totals_heading)
        totals_head.addStretch(1)
        totals_head.addWidget(self._measure)
        layout.addLayout(totals_head)
        layout.addLayout(grid)
        layout.addWidget(self._device_note)
        layout.addWidget(self._uncounted)
        layout.addLayout(table_head)
        layout.addWidget(self._table, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Coalesce a burst of edits into one rebuild, and let the canvas paint the edit first: on a big graph
        # this refresh takes longer than a frame, and the canvas is what the user is looking at.
        self._timer.setInterval(AFTER_CANVAS_MS)
        self._timer.timeout.connect(self._refresh_in_background)
        bridge.changed.connect(lambda _change: start_after_canvas(self._timer))
        bridge.replaced.connect(lambda: start_after_canvas(self._timer))
        selection.changed.connect(self._follow_selection)
        # a calibration made in the background (none yet, or one taken on a busy machine) refreshes the estimate
        self._calibration = calibration_token()
        self._calibration_watch = QTimer(self)
        self._calibration_watch.setInterval(3000)
        self._calibration_watch.timeout.connect(self._check_calibration)
        if auto.recheck_in_background():
            self._calibration_watch.start()
        self.set_theme(self._theme)
        self.refresh()

    # -- public ------------------------------------------------------------------------------------------
    def report(self) -> CostReport | None:
        return self._report

    def device(self) -> str:
        return str(self._device.currentData())

    def set_device(self, name: str) -> None:
        index = self._device.findData(name.lower())
        if index < 0:
            raise ValueError(f"unknown device {name!r}; expected one of {', '.join(device_names())}")
        self._device.setCurrentIndex(index)

    def batch_size(self) -> int:
        return self._batch.value()

    def set_batch_size(self, value: int) -> None:
        self._batch.setValue(value)

    def set_show_nested(self, on: bool) -> None:
        self._nested.setChecked(on)

    def table(self) -> QTableView:
        return self._table

    def total_text(self, key: str) -> str:
        """Text of one total (``params``, ``trainable``, ``frozen``, ``macs``, ``flops``, ``saved``, ``peak``,
        ``training``, ``latency``, ``measured``)."""
        return self._totals[key].text()

    def measure_button(self) -> QPushButton:
        return self._measure

    def measure_runner(self) -> MeasureRunner:
        return self._runner

    def set_theme(self, name: str) -> None:
        self._theme = name
        c = roles(name)
        for heading in (self._totals_heading, self._nodes_heading):
            heading.setStyleSheet(section_style(name) + " font-size: 10px;")
        self._device_note.setStyleSheet(f"color: {c.muted};")
        self._uncounted.setStyleSheet(f"color: {c.warning};")
        self._model.set_warning_color(c.warning)
        for label in self._totals.values():
            label.setStyleSheet("font-weight: 600;")
        self._warning_color = c.warning

    def refresh(self) -> None:
        """Recompute now (the document caches the report per revision, device and batch size); after an edit
        the timer has the report computed in the background instead."""
        self._timer.stop()
        self._show_report(self._bridge.document.cost(self.batch_size(), self.device()))

    # -- internals ---------------------------------------------------------------------------------------
    def _refresh_in_background(self) -> None:
        self._bridge.background.request(self._bridge.document.cost_job(self.batch_size(), self.device()),
                                        self._report_arrived)

    def _report_arrived(self, report: CostReport) -> None:
        if (report.batch_size, report.profile.name) != (self.batch_size(), self.device()):
            return  # the batch size or device changed meanwhile: refresh() showed the new one already
        if self.device() == "cpu" and self._bridge.document.shapes.ok:
            # The measured time is looked up by the graph's fingerprint: hashing 10,000 nodes takes a while too.
            self._bridge.background.request(self._bridge.document.job(FINGERPRINT, _fingerprint),
                                            lambda _value: self._report_arrived_measured(report))
        else:
            self._show_report(report)

    def _report_arrived_measured(self, report: CostReport) -> None:
        if (report.batch_size, report.profile.name) == (self.batch_size(), self.device()):
            self._show_report(report)

    def _show_report(self, report: CostReport) -> None:
        self._report = report
        self._show_totals(report)
        rows = report.rows if self._nested.isChecked() else [r for r in report.rows if r.depth == 0]
        if self._model.set_rows(rows):
            self._follow_selection(self._selection.ids)
        self._show_measured(report)

    def _show_totals(self, report: CostReport) -> None:
        partial = "≥ " if report.uncounted else ""  # a lower bound, never a silent zero
        t = self._totals
        t["params"].setText(f"{report.params:,}  ({human(report.params)})")
        t["trainable"].setText(f"{report.trainable_params:,}")
        t["frozen"].setText(f"{report.non_trainable_params:,}")
        t["macs"].setText(partial + human(report.macs))
        t["flops"].setText(partial + human(report.flops))
        t["saved"].setText(partial + human_bytes(report.saved_activation_bytes))
        t["peak"].setText(partial + human_bytes(report.peak_inference_activation_bytes))
        t["training"].setText(partial + human_bytes(report.training_memory_bytes))
        t["latency"].setText(partial + human_ms(report.latency_ms))
        t["params"].setToolTip(f"{human(report.params)} parameters, {report.buffers:,} buffer values")
        t["macs"].setToolTip(f"{report.macs:,} multiply-accumulates at batch {report.batch_size}")
        t["flops"].setToolTip(f"{report.flops:,} FLOPs (2 × MACs + elementwise work)")
        for key, convention in (("saved", "saved_activation_bytes"), ("peak", "peak_inference_activation_bytes")):
            t[key].setToolTip(report.conventions.get(convention, ""))
        t["training"].setToolTip(
            f"weights {human_bytes(report.weight_bytes)} + gradients {human_bytes(report.gradient_bytes)} + "
            f"optimizer state ({report.optimizer}) {human_bytes(report.optimizer_bytes)} + activations kept "
            f"{human_bytes(report.saved_activation_bytes)}\n\n" + report.conventions.get("training_memory_bytes", ""))
        t["latency"].setToolTip(report.conventions.get("latency_ms", ""))
        profile = report.profile
        when = measured_when(profile)
        if profile.calibration is not None:
            how = f" (calibrated {when})"
        elif profile.kind == "cpu":
            how = (f" (measured {when}" if when else " (") + ": a rough roofline until this CPU is calibrated"
            how += ", calibrating in the background)" if self._calibration_watch.isActive() else ")"
        else:
            how = " (its spec sheet: a roofline, no GPU is measured here)"
        self._device_note.setText(f"Latency estimated for {profile.title}{how}, batch {report.batch_size}, "
                                  f"{report.precision}; training memory assumes {report.optimizer}.")
        self._device_note.setToolTip(profile.latency_model + "\n" + profile.source)
        if report.uncounted:
            shown = ", ".join(report.uncounted[:8]) + (" …" if len(report.uncounted) > 8 else "")
            self._uncounted.setText(f"Not counted ({len(report.uncounted)}): {shown}. Totals are lower bounds.")
            self._uncounted.setToolTip("\n".join(report.uncounted))
        self._uncounted.setVisible(bool(report.uncounted))

    # -- measuring ---------------------------------------------------------------------------------------
    def _measurable(self) -> str:
        """Why Measure cannot run now ("" when it can)."""
        if self.device() != "cpu":
            return "Measure times the graph on this computer's CPU: choose the CPU device."
        if not self._bridge.document.shapes.ok:
            return "Fix the graph's errors first: a graph with errors cannot be built."
        return ""

    def _show_measured(self, report: CostReport) -> None:
        label = self._totals["measured"]
        document = self._bridge.document
        shown = False  # the Measured row appears once there is something in it: room for the per-node table
        result = None
        if self.device() == "cpu" and document.shapes.ok:
            fingerprint = document.run(document.job(FINGERPRINT, _fingerprint))
            result = load_result(document.graph, report.batch_size, "cpu", fingerprint=fingerprint)
        if self._runner.running():
            shown = True  # the progress text stays until the worker finishes
        elif result is not None:
            shown = True
            forward = result["forward_ms"]
            measured = float(forward["median"])
            label.setText(f"{format_ms(measured)}  (estimate ×{report.latency_ms / measured:.2f})")
            label.setStyleSheet("font-weight: 600;")
            step = result.get("training_step_ms")
            label.setToolTip(
                f"Median of the quietest round of forward passes on this CPU ({forward['reps']} runs; best "
                f"{format_ms(forward['min'])}, 90 % "
                f"under {format_ms(forward['p90'])}), batch {result['batch_size']}, torch {result['torch']}, "
                f"{result['threads']} threads"
                + (f"; one training step {format_ms(step['median'])}" if step else "")
                + (".\nOther programs kept the CPU busy meanwhile: the times are likely high." if forward.get("busy")
                   else "."))
        elif self._measure_error:
            shown = True
            label.setText(self._measure_error)
            label.setStyleSheet(f"color: {self._warning_color};")
        else:
            label.setText("–")
            label.setStyleSheet("font-weight: 600;")
            label.setToolTip("Not measured at this batch size yet: Measure times it on this CPU.")
        label.setVisible(shown)
        self._captions["measured"].setVisible(shown)
        why = self._measurable()
        self._measure.setEnabled(self._runner.running() or not why)
        self._measure.setToolTip(why or "Time this graph on this computer's CPU (in a separate process: the editor "
                                 "stays responsive) and show the measurement beside the estimate.")

    def _measure_clicked(self) -> None:
        if self._runner.running():
            self._runner.stop()
            return
        if self._measurable():
            return
        self._measure_error = ""
        self._measure.setText("Stop")
        self._runner.start(self._bridge.document.graph.copy(), self.batch_size())

    def _measure_progress(self, text: str) -> None:
        label = self._totals["measured"]
        label.show()
        self._captions["measured"].show()
        label.setStyleSheet("")
        label.setText(text if len(text) <= 32 else text[:31] + "…")

    def _measure_finished(self, event: dict) -> None:
        self._measure.setText("Measure")
        if event.get("event") != "measured":
            error = str(event.get("error", "failed"))
            self._measure_error = "stopped" if error == "stopped" else "not measured (see the tooltip)"
            self._totals["measured"].setToolTip(error)
        self.refresh()

    def _check_calibration(self) -> None:
        token = calibration_token()
        if token != self._calibration:
            self._calibration = token
            self._calibration_watch.stop()
            self.refresh()

    def _row_clicked(self, index: QModelIndex) -> None:
        if self._syncing or not index.isValid():
            return
        path = self._proxy.data(index, PATH_ROLE)
        if path:
            nid = top_level_id(path)
            if nid in self._bridge.document.graph.nodes:
                self._selection.set([nid])

    def _follow_selection(self, ids: list[str]) -> None:
        """Highlight the selected node's row without feeding the selection back."""
        current = ids[-1] if ids else None
        selection = self._table.selectionModel()
        self._syncing = True
        try:
            if current is None:
                selection.clearSelection()
                return
            for source_row, row in enumerate(self._model.rows()):
                if row.path == current:
                    index = self._proxy.mapFromSource(self._model.index(source_row, 0))
                    selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                     | QItemSelectionModel.SelectionFlag.Rows)
                    self._table.scrollTo(index)
                    return
            selection.clearSelection()
        finally:
            self._syncing = False
