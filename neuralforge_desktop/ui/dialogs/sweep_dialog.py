"""Train ▸ Sweep…: a search space over the open graph (rows of training settings and node fields, a node's
field picked from the canvas's selection with a range around its current value), a cost budget, the search
(trials, parallel, sampler, pruner, objective) and the fixed training settings. Start checks every row with
the space's own rules, writes the space into the sweep's folder and starts ``neuralforge sweep`` in its own
process; the Sweep view follows it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.sweeps.space import RANGE_KINDS
from neuralforge_desktop.core.training.config import OPTIMIZERS, TrainConfig
from neuralforge_desktop.ui.training.train_form import DatasetCombo, DecadeSpinBox

KINDS = ("choice", *RANGE_KINDS)
KEY, KIND, VALUES = range(3)
OBJECTIVES = ("val/acc:max", "val/loss:min", "train/loss:min")
LATENCY_DEVICES = ("cpu", "t4", "a10g", "a100", "h100")


def values_text(raw: Any) -> tuple[str, str]:
    """(kind, values as typed in the table) of a space entry: ``adam, sgd`` or ``0.001, 0.01``."""
    if isinstance(raw, list):
        return "choice", ", ".join(_scalar_text(v) for v in raw)
    (kind, bounds), = raw.items()
    return kind, ", ".join(_scalar_text(v) for v in bounds)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return "null" if value is None else str(value)


def parse_values(kind: str, text: str) -> Any:
    """A table row's values as the space file writes them: a list for a choice, ``{kind: [lo, hi]}`` else."""
    import yaml  # type: ignore[import-untyped]

    items = [part.strip() for part in text.split(",") if part.strip()]
    values = []
    for item in items:
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            values.append(item)
    return values if kind == "choice" else {kind: values}


class SweepDialog(QDialog):
    """``started(sweep id, process)`` once the sweep process is running."""

    started = Signal(str, object)

    def __init__(self, graph: Graph, store_path: str | os.PathLike[str], selected: list[str] | None = None,
                 base: TrainConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Sweep: {graph.name}")
        self.graph = graph
        self.store_path = Path(store_path)
        self.selected = [n for n in (selected or []) if n in graph.nodes]
        self.process: subprocess.Popen[bytes] | None = None
        self.sweep_id: str | None = None
        base = base or TrainConfig()

        self.rows = QTableWidget(0, 3, self)
        self.rows.setObjectName("sweep_space")
        self.rows.setHorizontalHeaderLabels(["Setting (name or node.field)", "Kind", "Values, or lo, hi"])
        self.rows.horizontalHeader().setSectionResizeMode(KEY, QHeaderView.ResizeMode.ResizeToContents)
        self.rows.horizontalHeader().setSectionResizeMode(VALUES, QHeaderView.ResizeMode.Stretch)
        self.rows.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows.setMinimumHeight(170)
        self.setting_choice = QComboBox(self)
        from neuralforge_desktop.core.sweeps.suggest import searchable_settings

        self.setting_choice.addItems(searchable_settings())
        self.setting_choice.setCurrentText("lr")
        add_setting = QPushButton("Add training setting", self)
        add_setting.clicked.connect(lambda: self.add_setting_row(self.setting_choice.currentText()))
        self.add_field_button = QPushButton("Add selected node's field…", self)
        self.add_field_button.setToolTip("A field of the node selected on the canvas, with a range around its "
                                         "current value" if self.selected else "Select a node on the canvas first")
        self.add_field_button.setEnabled(bool(self.selected))
        self.add_field_button.clicked.connect(self._ask_node_field)
        remove = QPushButton("Remove row", self)
        remove.clicked.connect(self._remove_selected_row)
        row_buttons = QHBoxLayout()
        for widget in (self.setting_choice, add_setting, self.add_field_button, remove):
            row_buttons.addWidget(widget)
        row_buttons.addStretch(1)

        self.trials = _spin(1, 10_000, 8)
        self.parallel = _spin(1, max(1, os.cpu_count() or 1), min(2, os.cpu_count() or 1))
        self.sampler = QComboBox(self)
        self.sampler.addItems(["auto", "tpe", "random", "grid", "nsga2"])
        self.sampler.setToolTip("auto: TPE, or NSGA-II under a cost budget")
        self.pruner = QComboBox(self)
        self.pruner.addItems(["median", "none"])
        self.objective = QComboBox(self)
        self.objective.setEditable(True)
        self.objective.addItems(list(OBJECTIVES))
        self.experiment = QLineEdit(self)
        self.experiment.setPlaceholderText("sweep-ID")
        self.max_params = _spin(0, 2**31 - 1, 0)
        self.max_params.setSpecialValueText("none")
        self.max_macs = QLineEdit(self)
        self.max_macs.setPlaceholderText("none (e.g. 5e6)")
        self.max_latency = QDoubleSpinBox(self)
        self.max_latency.setRange(0.0, 1e6)
        self.max_latency.setDecimals(3)
        self.max_latency.setSpecialValueText("none")
        self.latency_device = QComboBox(self)
        self.latency_device.addItems(list(LATENCY_DEVICES))

        self.dataset = DatasetCombo(self)
        if base.dataset:
            self.dataset.set_dataset(base.dataset)
        self.epochs = _spin(1, 100_000, base.epochs)
        self.batch_size = _spin(1, 1 << 20, base.batch_size)
        self.lr = DecadeSpinBox(base.lr, minimum=1e-7, maximum=10.0, parent=self)
        self.optimizer = QComboBox(self)
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setCurrentText(base.optimizer)
        self.limit = _spin(0, 1 << 30, base.limit or 0)
        self.limit.setSpecialValueText("all")
        self.seed = _spin(0, 2**31 - 1, base.seed)
        self.device = QComboBox(self)
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(base.device)

        search = _form_box(self, "Search", [("Trials", self.trials), ("Parallel", self.parallel),
                                            ("Sampler", self.sampler), ("Pruner", self.pruner),
                                            ("Objective", self.objective), ("Experiment", self.experiment)])
        budget = _form_box(self, "Budget (an architecture search when any is set)",
                           [("Max params", self.max_params), ("Max MACs", self.max_macs),
                            ("Max latency ms", self.max_latency), ("Latency device", self.latency_device)])
        fixed = _form_box(self, "Every trial (unless searched)",
                          [("Dataset", self.dataset), ("Epochs", self.epochs), ("Batch size", self.batch_size),
                           ("Learning rate", self.lr), ("Optimizer", self.optimizer), ("Limit", self.limit),
                           ("Seed", self.seed), ("Device", self.device)])
        boxes = QGridLayout()
        boxes.addWidget(search, 0, 0)
        boxes.addWidget(budget, 0, 1)
        boxes.addWidget(fixed, 0, 2)

        self.message = QLabel(self)
        self.message.setObjectName("sweep_errors")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("color: #e06c75")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.start_button = buttons.addButton("Start Sweep", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Search space over <b>{graph.name}</b>: a training setting by name, a node's "
                                "field as node.field; values are a list for a choice, lo, hi for a range", self))
        layout.addWidget(self.rows, 1)
        layout.addLayout(row_buttons)
        layout.addLayout(boxes)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.add_setting_row("lr")
        self.resize(1100, 640)

    # -- rows --------------------------------------------------------------------------------------------
    def add_row(self, key: str, raw: Any) -> int:
        kind, text = values_text(raw)
        row = self.rows.rowCount()
        self.rows.insertRow(row)
        self.rows.setItem(row, KEY, QTableWidgetItem(key))
        combo = QComboBox(self.rows)
        combo.addItems(list(KINDS))
        combo.setCurrentText(kind)
        self.rows.setCellWidget(row, KIND, combo)
        self.rows.setItem(row, VALUES, QTableWidgetItem(text))
        return row

    def add_setting_row(self, name: str) -> int:
        from neuralforge_desktop.core.sweeps.suggest import suggest_setting_range

        return self.add_row(name, suggest_setting_range(name, self.base_config()))

    def node_fields(self) -> list[str]:
        """``node.field`` of every searchable field of the nodes selected on the canvas."""
        from neuralforge_desktop.core.sweeps.suggest import searchable_fields

        return [f"{node}.{name}" for node in self.selected for name in searchable_fields(self.graph, node)]

    def add_node_field_row(self, key: str) -> int:
        """A row for ``node.field`` with a range around the field's current value."""
        from neuralforge_desktop.core.sweeps.suggest import suggest_node_range

        node, _, name = key.partition(".")
        return self.add_row(key, suggest_node_range(self.graph, node, name))

    def row_values(self) -> list[tuple[str, Any]]:
        rows = []
        for row in range(self.rows.rowCount()):
            key_item, values_item = self.rows.item(row, KEY), self.rows.item(row, VALUES)
            combo = self.rows.cellWidget(row, KIND)
            kind = combo.currentText() if isinstance(combo, QComboBox) else "choice"
            rows.append(((key_item.text().strip() if key_item else ""),
                         parse_values(kind, values_item.text() if values_item else "")))
        return rows

    # -- the sweep ---------------------------------------------------------------------------------------
    def base_config(self) -> TrainConfig:
        """The fixed settings of every trial, as shown."""
        return TrainConfig(dataset=self.dataset.dataset(), epochs=self.epochs.value(),
                           batch_size=self.batch_size.value(), lr=self.lr.value(),
                           optimizer=self.optimizer.currentText(), seed=self.seed.value(),
                           device=self.device.currentText(), limit=self.limit.value() or None)

    def space(self) -> tuple[dict[str, Any], list[str]]:
        """The space the rows make and every row's problem (``row N (key): why``), checked as the CLI checks a
        space file."""
        from neuralforge_desktop.core.sweeps.space import space_from_json

        space: dict[str, Any] = {}
        errors: list[str] = []
        base = self.base_config()
        for number, (key, raw) in enumerate(self.row_values(), start=1):
            where = f"row {number} ({key or 'no name'})"
            if not key:
                errors.append(f"{where}: give a training setting or node.field")
                continue
            if key in space:
                errors.append(f"{where}: {key} is searched by an earlier row already")
                continue
            try:
                space_from_json({key: raw}, self.graph, base)
            except UserError as exc:
                message = str(exc)
                errors.append(f"{where}: {message[len(key) + 2:] if message.startswith(key + ':') else message}")
                continue
            space[key] = raw
        if not space and not errors:
            errors.append("add at least one row: a setting to search")
        return space, errors

    def launch(self, sweep_id: str) -> Any:
        from neuralforge_desktop.core.sweeps.follow import SweepLaunch

        base = self.base_config()
        train_args = ["--epochs", str(base.epochs), "--batch-size", str(base.batch_size), "--lr", f"{base.lr:g}",
                      "--optimizer", base.optimizer, "--seed", str(base.seed), "--device", base.device]
        if base.limit:
            train_args += ["--limit", str(base.limit)]
        macs = self.max_macs.text().strip()
        return SweepLaunch(self.store_path, sweep_id, base.dataset, self.trials.value(), self.parallel.value(),
                           sampler=None if self.sampler.currentText() == "auto" else self.sampler.currentText(),
                           pruner=self.pruner.currentText(), objective=self.objective.currentText().strip(),
                           max_params=self.max_params.value() or None, max_macs=float(macs) if macs else None,
                           max_latency_ms=self.max_latency.value() or None,
                           latency_device=self.latency_device.currentText(),
                           experiment=self.experiment.text().strip() or None, train_args=train_args)

    def check(self) -> tuple[str, Any] | None:
        """(space YAML, launch) when everything is valid; else None, with the problems shown."""
        import yaml

        from neuralforge_desktop.core.sweeps.sweep_file import Objective, new_sweep_id

        space, errors = self.space()
        if not self.dataset.dataset():
            errors.append("choose a dataset")
        try:
            Objective.parse(self.objective.currentText().strip())
        except UserError as exc:
            errors.append(str(exc))
        try:
            launch = self.launch(new_sweep_id())
        except ValueError:
            errors.append(f"Max MACs {self.max_macs.text()!r}: not a number")
            launch = None
        self.message.setText("\n".join(errors))
        if errors:
            return None
        return yaml.safe_dump(space, sort_keys=False, default_flow_style=None), launch

    def start(self) -> bool:
        """Check the rows and settings, then start the sweep process; False (problems shown) if refused."""
        from neuralforge_desktop.core.ir.serialize import dumps
        from neuralforge_desktop.core.sweeps.follow import start_sweep

        checked = self.check()
        if checked is None:
            return False
        text, launch = checked
        try:
            self.process = start_sweep(launch, dumps(self.graph), text)
        except OSError as exc:
            self.message.setText(f"Cannot start the sweep: {exc.strerror or exc}")
            return False
        self.sweep_id = launch.sweep_id
        self.started.emit(launch.sweep_id, self.process)
        self.accept()
        return True

    def _ask_node_field(self) -> None:
        fields = self.node_fields()
        if not fields:
            self.message.setText(f"{', '.join(self.selected)}: no field a sweep can search")
            return
        key, ok = QInputDialog.getItem(self, "Add a node's field", "Field of the selected node", fields, 0, False)
        if ok and key:
            self.add_node_field_row(key)

    def _remove_selected_row(self) -> None:
        rows = sorted({index.row() for index in self.rows.selectedIndexes()}, reverse=True)
        for row in rows or [self.rows.rowCount() - 1]:
            if row >= 0:
                self.rows.removeRow(row)


def _spin(low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _form_box(parent: QWidget, title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
    box = QGroupBox(title, parent)
    form = QFormLayout(box)
    for text, widget in rows:
        form.addRow(text, widget)
    return box


def open_sweep_dialog(window: Any) -> SweepDialog:
    """Train ▸ Sweep… on ``window``'s open graph and selection; the started sweep opens in a Sweep view."""
    from neuralforge_desktop.core.store.sqlite_store import default_store_path
    from neuralforge_desktop.ui.training.sweep_view import open_sweep_view

    store_path = Path(window.store_path) if window.store_path is not None else default_store_path()
    base = window.train_panel.config() if window.train_host.built else None
    dialog = SweepDialog(window.bridge.document.graph, store_path, window.selection.ids, base, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.started.connect(lambda sweep_id, process: open_sweep_view(window, sweep_id, process))
    dialog.show()
    return dialog
