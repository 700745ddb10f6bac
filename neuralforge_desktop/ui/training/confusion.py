"""Confusion matrix of a finished run, as a heat map with the counts written in the cells.

The matrix is not a store metric (the store keeps scalars); the worker puts it in its ``finished`` event,
which it also appends to ``<store dir>/runs/<run id>/events.jsonl``. :func:`load_confusion` finds that
event by reading the log backwards (a long run's log is mostly step events), so opening a run costs a few
kilobytes of reading, not the whole file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from neuralforge_desktop.core.training.events import EventFormatError, FinishedEvent, decode_event
from neuralforge_desktop.ui.theme import DEFAULT_THEME, plot_colors

_FINISHED = '"event":"finished"'  # how encode_event writes it (no spaces)
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class Confusion:
    matrix: list[list[int]]  # rows: true class, columns: predicted class
    class_names: list[str]
    split: str  # which split it was measured on ("test" or "val")
    accuracy: float | None = None

    @property
    def size(self) -> int:
        return len(self.matrix)


def confusion_from_event(event: FinishedEvent) -> Confusion | None:
    """The matrix in a ``finished`` event's final report, if the run was a classification."""
    final = event.final
    matrix = final.get("confusion_matrix")
    if not matrix:
        return None
    count = len(matrix)
    names = final.get("class_names") or []
    names = [str(n) for n in names] if len(names) == count else [str(i) for i in range(count)]
    acc = final.get("acc")
    return Confusion([[int(v) for v in row] for row in matrix], names, str(final.get("split", "val")),
                     float(acc) if isinstance(acc, int | float) else None)


def _last_finished_line(path: Path) -> str | None:
    """The last line of ``path`` holding a finished event, reading from the end in blocks."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        tail = b""
        while end > 0:
            start = max(0, end - _BLOCK)
            handle.seek(start)
            tail = handle.read(end - start) + tail
            end = start
            lines = tail.split(b"\n")
            # The first piece may be the end of a line that started earlier: keep it for the next round.
            complete, tail = (lines[1:], lines[0]) if start > 0 else (lines, b"")
            for line in reversed(complete):
                if _FINISHED.encode() in line:
                    return line.decode("utf-8", errors="replace")
    return None


def load_confusion(store_path: str | os.PathLike[str], run_id: str) -> Confusion | None:
    """The confusion matrix the run's worker reported when it finished, or None (not finished, not a
    classification, or its folder is gone)."""
    from neuralforge_desktop.core.training.runner import runs_root

    log = runs_root(Path(store_path)) / run_id / "events.jsonl"
    if not log.is_file():
        return None
    try:
        line = _last_finished_line(log)
        event = decode_event(line) if line else None
    except (OSError, EventFormatError):
        return None
    return confusion_from_event(event) if isinstance(event, FinishedEvent) else None


class ConfusionMatrixWidget(QWidget):
    """Paints a square matrix: cell colour by share of its true-class row (so rare classes read as clearly
    as common ones), the count in each cell while cells are big enough, class names on both axes."""

    def __init__(self, parent: QWidget | None = None, theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self._confusion: Confusion | None = None
        self._message = "Select a finished classification run to see its confusion matrix."
        self._colors = plot_colors(theme)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)

    def sizeHint(self) -> QSize:
        return QSize(480, 420)

    @property
    def confusion(self) -> Confusion | None:
        return self._confusion

    def matrix_shape(self) -> tuple[int, int]:
        m = self._confusion.matrix if self._confusion else []
        return (len(m), len(m[0]) if m else 0)

    def set_confusion(self, confusion: Confusion | None, message: str | None = None) -> None:
        self._confusion = confusion
        if message is not None:
            self._message = message
        self.update()

    def set_matrix(self, matrix: list[list[int]], class_names: list[str] | None = None, split: str = "val") -> None:
        names = class_names if class_names and len(class_names) == len(matrix) else [str(i) for i in
                                                                                     range(len(matrix))]
        self.set_confusion(Confusion([list(map(int, row)) for row in matrix], list(names), split))

    def set_theme(self, name: str) -> None:
        self._colors = plot_colors(name)
        self.update()

    # -- painting ----------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        c = self._colors
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(c.background))
        conf = self._confusion
        if conf is None or conf.size == 0:
            painter.setPen(QColor(c.muted))
            painter.drawText(self.rect().adjusted(12, 12, -12, -12), Qt.AlignmentFlag.AlignCenter
                             | Qt.TextFlag.TextWordWrap, self._message)
            painter.end()
            return
        n = conf.size
        font = QFont(self.font())
        metrics = QFontMetrics(font)
        label_w = min(max(metrics.horizontalAdvance(name) for name in conf.class_names) + 8, 140)
        title_h = metrics.height() + 6
        left = title_h + label_w  # "true" title, then the row names
        top = title_h + 4
        bottom = title_h + label_w  # column names are written upwards, then the "predicted" title
        side = max(1.0, min(self.width() - left - 12, self.height() - top - bottom) / n)
        spare = max(0.0, (self.width() - left - 12 - side * n) / 2)  # centre the square when wider than tall
        left += spare
        grid = QRectF(left, top, side * n, side * n)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        low, high = QColor(c.heat_low), QColor(c.heat_high)
        text_font = QFont(font)
        text_font.setPointSizeF(max(6.0, min(font.pointSizeF(), side / 3.2)))
        painter.setFont(text_font)
        show_counts = side >= 16
        for i, row in enumerate(conf.matrix):
            total = sum(row) or 1
            for j, value in enumerate(row):
                share = value / total
                cell = QRectF(grid.left() + j * side, grid.top() + i * side, side, side)
                painter.fillRect(cell, _mix(low, high, math.sqrt(share)))  # sqrt: small confusions stay visible
                if show_counts and value:
                    painter.setPen(QColor(c.on_accent) if share > 0.35 else QColor(c.text))
                    painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, str(value))
        painter.setPen(QPen(QColor(c.border), 1))
        painter.drawRect(grid)
        painter.setFont(font)
        painter.setPen(QColor(c.text))
        step = max(1, math.ceil(metrics.height() / side))  # skip names when rows are thinner than the text
        for k in range(0, n, step):
            name = metrics.elidedText(conf.class_names[k], Qt.TextElideMode.ElideRight, label_w - 8)
            row_rect = QRectF(spare + title_h, grid.top() + k * side, label_w - 6, side)
            painter.drawText(row_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.save()
            painter.translate(grid.left() + (k + 0.5) * side, grid.bottom() + 6)
            painter.rotate(-90)
            painter.drawText(QRectF(-label_w + 6, -side / 2, label_w - 6, side),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.restore()
        painter.setPen(QColor(c.muted))
        acc = f" · accuracy {conf.accuracy:.2%}" if conf.accuracy is not None else ""
        painter.drawText(QRectF(left, 0, grid.width(), title_h), Qt.AlignmentFlag.AlignCenter,
                         f"{conf.split} split{acc}")
        painter.drawText(QRectF(left, grid.bottom() + label_w, grid.width(), title_h), Qt.AlignmentFlag.AlignCenter,
                         "predicted")
        painter.save()
        painter.translate(spare, grid.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-grid.height() / 2, 0, grid.height(), title_h), Qt.AlignmentFlag.AlignCenter, "true")
        painter.restore()
        painter.end()


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))
