"""The Registry view's read-only tables: models, a model's versions, and a version's approvals and history."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from neuralforge_desktop.core.registry import ModelVersion, RegisteredModel

STAGE_COLORS = {"production": "#2e7d32", "staging": "#ef6c00", "archived": "#757575", "none": "#546e7a"}
VERSION_COLUMNS = ("Version", "Stage", "Run", "Val acc", "Val loss", "Approvals", "Latest gate", "Registered", "By")
HISTORY_COLUMNS = ("When", "Who", "What", "Comment")


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def make_table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _item(text: str, right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _metric(version: ModelVersion, name: str) -> str:
    value = version.metrics.get(name)
    if value is None:
        return ""
    return f"{value:.2%}" if name.endswith("acc") else f"{value:.4g}"


def _gate(version: ModelVersion) -> str:
    if not version.gates:
        return "not run"
    last = version.gates[-1]
    failed = [c["check"] for c in last.checks if not c["passed"]]
    return "passed" if last.passed else "failed: " + ", ".join(failed)


def model_label(model: RegisteredModel) -> str:
    production = f", production @{model.production.version}" if model.production else ""
    return f"{model.name}  ({len(model.versions)} version{'s' if len(model.versions) != 1 else ''}{production})"


def fill_versions(table: QTableWidget, versions: Sequence[ModelVersion]) -> None:
    """Newest first, the stage in its colour."""
    table.setRowCount(0)
    for version in reversed(versions):
        row = table.rowCount()
        table.insertRow(row)
        cells = [_item(f"@{version.version}", True), _item(version.stage), _item(version.run_id),
                 _item(_metric(version, "val/acc"), True), _item(_metric(version, "val/loss"), True),
                 _item(str(len(version.approvals)), True), _item(_gate(version)), _item(when(version.created)),
                 _item(version.created_by)]
        cells[1].setForeground(QColor(STAGE_COLORS.get(version.stage, "#000000")))
        font = cells[1].font()
        font.setBold(version.stage == "production")
        cells[1].setFont(font)
        cells[0].setData(Qt.ItemDataRole.UserRole, version.version)
        for column, cell in enumerate(cells):
            table.setItem(row, column, cell)


def fill_history(table: QTableWidget, version: ModelVersion | None) -> None:
    """The version's approvals and stage transitions, newest first, in one list."""
    table.setRowCount(0)
    if version is None:
        return
    entries = [(a.when, a.who, "approved", a.comment) for a in version.approvals]
    entries += [(t.when, t.who, f"{t.from_stage} → {t.to_stage}" if t.from_stage else "registered", t.comment)
                for t in version.transitions]
    entries += [(g.when, g.who, "gates passed" if g.passed else "gates failed",
                 "; ".join(c["check"] for c in g.checks if not c["passed"])) for g in version.gates]
    for stamp, who, what, comment in sorted(entries, key=lambda e: e[0], reverse=True):
        row = table.rowCount()
        table.insertRow(row)
        for column, text in enumerate((when(stamp), who, what, comment)):
            table.setItem(row, column, _item(text))
