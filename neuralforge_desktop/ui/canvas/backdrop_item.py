"""Backdrops: titled, coloured rectangles behind groups of nodes (saved in ``graph.meta["backdrops"]``).

Dragging the title bar moves the backdrop and the nodes inside it; the corner grip resizes it; a
double-click on the title edits it in place. The item only moves itself and the nodes visually: the view
turns the result into one edit when the mouse is released.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from neuralforge_desktop.ui.canvas.style import GRID, Style
from neuralforge_desktop.ui.theme import BACKDROP_COLORS

TITLE_H = 30.0
GRIP = 16.0
MIN_W, MIN_H = 120.0, 80.0


def backdrop_record(backdrop_id: str, title: str, color: str, rect: QRectF) -> dict[str, Any]:
    return {"id": backdrop_id, "title": title, "color": color,
            "rect": [round(rect.x(), 1), round(rect.y(), 1), round(rect.width(), 1), round(rect.height(), 1)]}


class _TitleEditor(QGraphicsTextItem):
    """In-place title editing; Enter or leaving the field commits, Escape restores."""

    def __init__(self, parent: BackdropItem, done: Callable[[str | None], None]) -> None:
        super().__init__(parent.title, parent)
        self._done = done
        self._finished = False
        self.setDefaultTextColor(parent.style.theme.text)
        self.setFont(parent.style.theme.fonts["backdrop"])
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.setPos(8.0, 2.0)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt names this
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish(self.toPlainText().strip())
        elif event.key() == Qt.Key.Key_Escape:
            self._finish(None)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # Qt names this
        super().focusOutEvent(event)
        self._finish(self.toPlainText().strip())

    def _finish(self, text: str | None) -> None:
        if not self._finished:
            self._finished = True
            self._done(text)


class BackdropItem(QGraphicsRectItem):
    def __init__(self, style: Style, record: dict[str, Any], nodes_inside: Callable[[QRectF], list[QGraphicsItem]],
                 retitle: Callable[[str, str], None]) -> None:
        super().__init__()
        self.style = style
        self.backdrop_id = str(record.get("id", "backdrop"))
        self.title = str(record.get("title", "Group"))
        self.color = str(record.get("color") or BACKDROP_COLORS[0])
        self._nodes_inside = nodes_inside
        self._retitle = retitle
        self._drag: tuple[str, QPointF, QRectF, list[tuple[QGraphicsItem, QPointF]]] | None = None
        self._editor: _TitleEditor | None = None
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setZValue(-10.0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.apply(record)

    def apply(self, record: dict[str, Any]) -> None:
        """Take the saved record (after undo, say)."""
        x, y, w, h = (float(v) for v in (list(record.get("rect", [0, 0, 300, 200])) + [0, 0, 0, 0])[:4])
        self.title = str(record.get("title", self.title))
        self.color = str(record.get("color") or self.color)
        self.prepareGeometryChange()
        self.setPos(x, y)
        self.setRect(QRectF(0.0, 0.0, max(w, MIN_W), max(h, MIN_H)))
        self._restyle()
        self.setToolTip(f"{self.title} — drag the title to move it with its nodes; drag the corner to resize; "
                        "double-click the title to rename")
        self.update()

    def _restyle(self) -> None:
        """Colours and pens for painting, prepared once per colour or theme change."""
        theme = self.style.theme
        base = QColor(self.color)
        self._fill, self._band, self._border = QColor(base), QColor(base), QColor(base)
        self._fill.setAlpha(theme.backdrop_alpha)
        self._band.setAlpha(min(255, theme.backdrop_alpha * 2 + 20))
        self._border.setAlpha(110)
        self._pens = {"normal": QPen(self._border, 1.0), "selected": QPen(theme.accent, 2.0),
                      "grip": QPen(self._border, 1.4)}
        self._theme = theme.name

    def scene_rect(self) -> QRectF:
        return self.rect().translated(self.pos())

    def record(self) -> dict[str, Any]:
        return backdrop_record(self.backdrop_id, self.title, self.color, self.scene_rect())

    # -- gestures ------------------------------------------------------------------------------------
    def _grip(self) -> QRectF:
        r = self.rect()
        return QRectF(r.right() - GRIP, r.bottom() - GRIP, GRIP, GRIP)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # Qt names this
        local = event.pos()
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        if self._grip().contains(local):
            self._drag = ("resize", event.scenePos(), QRectF(self.rect()), [])
        elif local.y() <= TITLE_H:
            inside = [(item, item.pos()) for item in self._nodes_inside(self.scene_rect())]
            self._drag = ("move", event.scenePos(), QRectF(self.scene_rect()), inside)
        else:
            event.ignore()  # the body stays transparent to clicks: rubber-band selection starts here
            return
        if not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            for item in self.scene().selectedItems():
                if item is not self:
                    item.setSelected(False)
        self.setSelected(True)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # Qt names this
        if self._drag is None:
            return
        kind, start, rect, inside = self._drag
        delta = event.scenePos() - start
        if self.style.snap:
            delta = QPointF(round(delta.x() / GRID) * GRID, round(delta.y() / GRID) * GRID)
        if kind == "resize":
            self.prepareGeometryChange()
            self.setRect(QRectF(0.0, 0.0, max(MIN_W, rect.width() + delta.x()), max(MIN_H, rect.height() + delta.y())))
        else:
            self.setPos(rect.topLeft() + delta)
            for item, origin in inside:
                item.setPos(origin + delta)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # Qt names this
        self._drag = None
        event.accept()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # Qt names this
        if event.pos().y() <= TITLE_H:
            self.edit_title()
            event.accept()
        else:
            event.ignore()

    def edit_title(self) -> _TitleEditor:
        if self._editor is None:
            self._editor = _TitleEditor(self, self._title_done)
            self._editor.setFocus(Qt.FocusReason.MouseFocusReason)
            self.update()
        return self._editor

    def _title_done(self, text: str | None) -> None:
        editor, self._editor = self._editor, None
        if editor is not None and editor.scene() is not None:
            editor.scene().removeItem(editor)
        self.update()
        if text and text != self.title:
            self._retitle(self.backdrop_id, text)

    # -- painting ------------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        theme = self.style.theme
        if self._theme != theme.name:
            self._restyle()
        r = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        selected = self.isSelected() and not self.style.exporting
        painter.setPen(self._pens["selected" if selected else "normal"])
        painter.setBrush(self._fill)
        painter.drawRoundedRect(r, 8.0, 8.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._band)
        painter.drawRoundedRect(QRectF(r.x() + 1, r.y() + 1, r.width() - 2, TITLE_H - 1), 7.0, 7.0)
        if self._editor is None:
            painter.setFont(theme.fonts["backdrop"])
            painter.setPen(theme.text)
            title = theme.elided("backdrop", self.title, r.width() - 24)
            painter.drawText(QRectF(12.0, 0.0, r.width() - 24.0, TITLE_H), Qt.AlignmentFlag.AlignVCenter, title)
        painter.setPen(self._pens["grip"])
        g = self._grip()
        for i in (4.0, 8.0, 12.0):
            painter.drawLine(QPointF(g.right() - i, g.bottom() - 2), QPointF(g.right() - 2, g.bottom() - i))
