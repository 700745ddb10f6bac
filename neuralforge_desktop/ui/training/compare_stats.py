"""The Compare window's Statistics tab: the compared runs (and the seed runs started from them) grouped by a
param, each group's mean ± 95 % CI of a metric, the test between the two best groups in words, and "Run N more
seeds" of a group to tighten its interval."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

GROUP_COLUMNS = ("Group", "Runs", "Mean", "Std", "95 % CI")
DEFAULT_MORE_SEEDS = 3


def _seeds(n: int) -> str:
    return f"{n} more seed{'' if n == 1 else 's'}"


class StatsTab(QWidget):
    """Statistics over ``run_ids`` of ``store``. ``seeds_started(list of new run ids)`` after "Run N more seeds"."""

    seeds_started = Signal(list)

    def __init__(self, store: Any, run_ids: list[str], params: list[str], metrics: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store, self._run_ids = store, list(run_ids)
        self.trainers: list[Any] = []  # seed runs training in the background (kept so their threads are owned)
        self.groups: list[Any] = []
        self.result: Any = None
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.group_by, self.metric, self.test = QComboBox(), QComboBox(), QComboBox()
        self.group_by.addItems(params)
        self.metric.addItems(metrics)
        if "val/acc" in metrics:
            self.metric.setCurrentText("val/acc")
        self.test.addItem("Welch's t-test", "welch")
        self.test.addItem("Mann–Whitney U", "mannwhitney")
        for label, combo in (("Group by", self.group_by), ("Metric", self.metric), ("Test", self.test)):
            bar.addWidget(QLabel(label))
            bar.addWidget(combo, 1)
            combo.currentIndexChanged.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the runs again (seed runs that finished since are counted)")
        refresh.clicked.connect(self.refresh)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.table = QTableWidget(0, len(GROUP_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(GROUP_COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        layout.addWidget(self.table, 1)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)
        seeds = QHBoxLayout()
        self.more = QSpinBox()
        self.more.setRange(1, 20)
        self.more.setValue(DEFAULT_MORE_SEEDS)
        self.seeds_button = QPushButton("Run N more seeds")
        self.seeds_button.setToolTip("Train the selected group's first run again with new seeds, one after another")
        self.seeds_button.clicked.connect(self.run_more_seeds)
        self.seeds_note = QLabel()
        self.seeds_note.setWordWrap(True)
        seeds.addWidget(QLabel("More seeds of the selected group:"))
        seeds.addWidget(self.more)
        seeds.addWidget(self.seeds_button)
        seeds.addWidget(self.seeds_note, 1)
        layout.addLayout(seeds)
        self.more.valueChanged.connect(lambda n: self.seeds_button.setText(f"Run {_seeds(n)}"))
        self.seeds_button.setText(f"Run {_seeds(self.more.value())}")
        self.refresh()

    def _runs(self) -> list[Any]:
        """The compared runs and the finished seed runs started from any of them."""
        runs = {r.id: r for r in self._store.list_runs(limit=None) if r.id in self._run_ids
                or r.tags.get("seed_of") in self._run_ids}
        return [r for r in runs.values() if r.status == "finished" or r.id in self._run_ids]

    def refresh(self) -> None:
        from neuralforge_desktop.core.compare.stats import (
            StatsError,
            best_pair,
            compare_groups,
            format_value,
            group_runs,
        )

        param, metric = self.group_by.currentText(), self.metric.currentText()
        self.groups = group_runs(self._runs(), param, metric) if param and metric else []
        self.table.setRowCount(len(self.groups))
        for row, g in enumerate(self.groups):
            ci = "" if g.n < 2 else f"{format_value(metric, g.ci_low)} – {format_value(metric, g.ci_high)}"
            cells = (g.key, str(g.n), format_value(metric, g.mean), format_value(metric, g.std), ci)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        if self.groups and not self.table.selectedItems():
            self.table.selectRow(0)
        self.table.resizeColumnsToContents()
        self.result = None
        try:
            pair = best_pair(self.groups, metric)
            if pair is None:
                self.verdict.setText(f"No test yet: it needs two {param} groups of at least 2 runs each. "
                                     "Run more seeds of a group to get there.")
                return
            self.result = compare_groups(pair[0], pair[1], metric, self.test.currentData())
        except StatsError as exc:
            self.verdict.setText(str(exc))
            return
        r = self.result
        self.verdict.setText(f"<b>{r.verdict}</b><br>{self.test.currentText()}: statistic {r.statistic:.3g}, "
                             f"p = {r.p_value:.3g}; {r.effect_name} = {r.effect_size:.2f} ({r.effect_words})")

    def selected_group(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.groups[rows[0].row()] if rows and rows[0].row() < len(self.groups) else None

    def run_more_seeds(self) -> list[str]:
        """Start N more seeds of the selected group's first run; returns the new run ids."""
        from neuralforge_desktop.core.compare.seeds import SeedTrainer, prepare_seed_runs
        from neuralforge_desktop.core.errors import UserError

        group = self.selected_group()
        if group is None:
            self.seeds_note.setText("Select a group first.")
            return []
        try:
            prepared = prepare_seed_runs(self._store, group.run_ids[0], self.more.value())
        except UserError as exc:
            self.seeds_note.setText(str(exc))
            return []
        self.trainers.append(SeedTrainer(prepared).start())
        ids = [p.run_id for p in prepared]
        self.seeds_note.setText(f"Training {_seeds(len(ids))} of {group.key} one after another (seeds "
                                f"{', '.join(str(p.seed) for p in prepared)}); Refresh when they finish.")
        self.seeds_started.emit(ids)
        return ids
