"""The stage diagram: a pipeline run's stages as boxes left to right, joined by arrows, each with its name, kind,
status (in its colour) and duration. Clicking a box selects that stage; the arrow keys move the selection."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from neuralforge_desktop.ui.theme import DEFAULT_THEME, PlotColors, plot_colors

BOX_WIDTH = 150
BOX_HEIGHT = 96
GAP = 46  # between boxes: room for the arrow
MARGIN = 16
STATUS_STRIP = 6  # the coloured band along a box's top


@dataclass(frozen=True)
class StageBox:
    """What one box shows (plain data, so the view can build it off the UI thread)."""

    name: str
    kind: str
    status: str  # pending | running | passed | failed | skipped
    seconds: float | None
    reused: bool = False


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def stage_color(status: str, colors: PlotColors) -> str:
    return {"passed": colors.ok, "failed": colors.error, "running": colors.accent, "skipped": colors.muted,
            "pending": colors.border}.get(status, colors.text)


class StageDiagram(QWidget):
    stage_selected = Signal(int)  # the position of the stage clicked

    def __init__(self, theme: str = DEFAULT_THEME, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pipeline_diagram")
        self.colors = plot_colors(theme)
        self.boxes: list[StageBox] = []
        self.selected: int | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.MinimumExpanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Click a stage to see its outputs, pass conditions and failure")

    def set_stages(self, boxes: list[StageBox]) -> None:
        if boxes == self.boxes:
            return
        self.boxes = list(boxes)
        if self.selected is not None and self.selected >= len(self.boxes):
            self.selected = None
        self.updateGeometry()
        self.update()

    def select(self, position: int | None) -> None:
        if position == self.selected:
            return
        self.selected = position
        self.update()
        if position is not None:
            self.stage_selected.emit(position)

    def box_rect(self, position: int) -> QRectF:
        return QRectF(MARGIN + position * (BOX_WIDTH + GAP), MARGIN, BOX_WIDTH, BOX_HEIGHT)

    def sizeHint(self) -> QSize:  # Qt names this method
        count = max(len(self.boxes), 1)
        return QSize(2 * MARGIN + count * BOX_WIDTH + (count - 1) * GAP, 2 * MARGIN + BOX_HEIGHT)

    def minimumSizeHint(self) -> QSize:  # Qt names this method
        return self.sizeHint()

    def position_at(self, point: QPointF) -> int | None:
        for position in range(len(self.boxes)):
            if self.box_rect(position).contains(point):
                return position
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt names this method
        position = self.position_at(event.position())
        if position is not None:
            self.select(position)
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt names this method
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step is None or not self.boxes:
            super().keyPressEvent(event)
            return
        current = self.selected if self.selected is not None else (-1 if step > 0 else len(self.boxes))
        self.select(min(max(current + step, 0), len(self.boxes) - 1))

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt names this method
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(self.colors.background))
        if not self.boxes:
            painter.setPen(QColor(self.colors.muted))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No pipeline run to show yet")
            return
        for position in range(len(self.boxes) - 1):
            self._arrow(painter, position)
        for position, box in enumerate(self.boxes):
            self._box(painter, position, box)

    def _arrow(self, painter: QPainter, position: int) -> None:
        left, right = self.box_rect(position), self.box_rect(position + 1)
        y = left.center().y()
        start, end = QPointF(left.right() + 4, y), QPointF(right.left() - 4, y)
        done = self.boxes[position].status in ("passed", "skipped")
        color = QColor(self.colors.text if done else self.colors.muted)
        painter.setPen(QPen(color, 2))
        painter.drawLine(start, end - QPointF(8, 0))
        painter.setBrush(color)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(QPolygonF([end, end + QPointF(-10, -6), end + QPointF(-10, 6)]))

    def _box(self, painter: QPainter, position: int, box: StageBox) -> None:
        rect = self.box_rect(position)
        color = QColor(stage_color(box.status, self.colors))
        path = QPainterPath()
        path.addRoundedRect(rect, 8, 8)
        painter.setPen(QPen(QColor(self.colors.accent if position == self.selected else color),
                            3 if position == self.selected else 1.5))
        painter.setBrush(QColor(self.colors.background).lighter(125))
        painter.drawPath(path)
        painter.save()
        painter.setClipPath(path)
        painter.fillRect(QRectF(rect.left(), rect.top(), rect.width(), STATUS_STRIP), color)
        painter.restore()
        inner = rect.adjusted(10, STATUS_STRIP + 6, -10, -8)
        bold = QFont(self.font())
        bold.setBold(True)
        bold.setPointSizeF(self.font().pointSizeF() * 1.1)
        painter.setFont(bold)
        painter.setPen(QColor(self.colors.text))
        metrics = painter.fontMetrics()
        painter.drawText(QRectF(inner.left(), inner.top(), inner.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignLeft, metrics.elidedText(box.name, Qt.TextElideMode.ElideRight,
                                                                        int(inner.width())))
        painter.setFont(self.font())
        line = painter.fontMetrics().height()
        top = inner.top() + metrics.height() + 2
        painter.setPen(QColor(self.colors.muted))
        painter.drawText(QRectF(inner.left(), top, inner.width(), line), Qt.AlignmentFlag.AlignLeft, box.kind)
        painter.setPen(color if box.status != "pending" else QColor(self.colors.muted))
        status = box.status + (" (reused)" if box.reused else "")
        painter.drawText(QRectF(inner.left(), top + line + 4, inner.width(), line), Qt.AlignmentFlag.AlignLeft,
                         status)
        painter.setPen(QColor(self.colors.text))
        painter.drawText(QRectF(inner.left(), top + line + 4, inner.width(), line), Qt.AlignmentFlag.AlignRight,
                         duration_text(box.seconds))
