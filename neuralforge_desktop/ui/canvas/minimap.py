"""The minimap: the whole graph, small, in the canvas's corner, with the visible area outlined.

It draws an overview picture of the scene (one coloured card per node, a line per wire) into a pixmap
when the graph changes, and on screen only blits that pixmap and the outline. A live second view of the
scene would redraw every item whenever the canvas repaints underneath it: 47 ms a frame at a thousand
nodes, three times the frame budget. Click or drag in it to move the main view there. It shows itself only
when the graph does not fit on screen; its size follows the canvas (at most :data:`SIZE`, at most
:data:`MAX_SHARE` of each side).

Whether it is switched on is the user's choice (View ▸ Minimap), and until they make one it is on only where the
canvas has a corner to spare (:data:`ROOMY`). On a laptop-sized window the canvas is too small for that: a
minimap in its corner would sit on the graph's last row, just where a template opens. There it stays off until
the user turns it on, as they would expect of an overlay they can summon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView

SIZE = (240, 150)  # the largest it gets
MIN_SIZE = (120, 75)  # below this the overview is unreadable: the minimap hides instead
MAX_SHARE = 0.3  # of the canvas's width and of its height, so it covers at most ~9 % of the canvas
ROOMY = (900, 600)  # a canvas at least this big has a corner to spare (the canvas of a 1600×1000 window has)
MARGIN = 12
PAD = 8.0


def roomy(viewport_width: int, viewport_height: int) -> bool:
    """Whether a canvas this big keeps the minimap on when the user has not said either way."""
    return viewport_width >= ROOMY[0] and viewport_height >= ROOMY[1]


def size_for(viewport_width: int, viewport_height: int) -> tuple[int, int] | None:
    """The minimap's size for a canvas of this size (aspect kept), or None when it would be too small."""
    scale = min(1.0, viewport_width * MAX_SHARE / SIZE[0], viewport_height * MAX_SHARE / SIZE[1])
    width, height = int(SIZE[0] * scale), int(SIZE[1] * scale)
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return None
    return width, height


class Minimap(QWidget):
    switched = Signal(bool)  # whether it is switched on changed (the canvas grew or shrank past ROOMY)

    def __init__(self, view: GraphView) -> None:
        super().__init__(view)
        self.main = view
        self.choice: bool | None = None  # the user's switch; None: on where the canvas is roomy
        self._switched_on: bool | None = None
        self.setFixedSize(*SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._visible_rect = QRectF()
        self._picture = QPixmap()
        self._to_map = QTransform()  # scene → minimap pixels
        self._stale = True
        self._drawn: tuple | None = None  # what the picture shows (see _drawing): an edit that changes none of it
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(200)  # edits and drags arrive in bursts; redraw once they settle
        self._redraw.timeout.connect(self.refit)
        self.hide()

    # -- the overview picture ------------------------------------------------------------------------
    def schedule_refit(self) -> None:
        self._stale = True
        if self.isVisible():
            self._redraw.start()

    def _drawing(self, content: QRectF) -> tuple:
        """Everything the overview picture is drawn from, cheap to compare: the size, the theme, the extent, the
        backdrops, every node's rectangle and every wire's ends (the placement index's arrays) and the built
        nodes' colours and error marks. Equal to the last picture's: nothing to redraw."""
        scene = self.main.graph_scene
        placement = scene.placement
        if placement.stale:
            placement.rebuild(scene)
        looks = tuple((nid, item.x(), item.y(), look.width, look.height, look.color, bool(look.errors))
                      for nid, item in scene.nodes.built.items() if (look := item.look) is not None)
        backdrops = tuple((tuple(b.scene_rect().getRect()), str(b.color)) for b in scene.backdrops.values())
        return (self.width(), self.height(), self.devicePixelRatioF(), scene.style.theme.name, id(scene.style.theme),
                tuple(content.getRect()), backdrops, placement.ids, placement.rects.tobytes(),
                placement.wire_ends.tobytes(), looks)

    def refit(self) -> None:
        """Redraw the overview picture from the scene's items, unless what it shows is unchanged (an edit of a
        param that moves and recolours nothing: redrawing 10,000 nodes' cards and wires takes ~100 ms)."""
        self._stale = False
        content = self.main.content_rect()
        drawing = self._drawing(content)
        if drawing == self._drawn and not self._picture.isNull():
            return
        self._drawn = drawing
        picture = QPixmap(self.size() * self.devicePixelRatioF())
        picture.setDevicePixelRatio(self.devicePixelRatioF())
        scene = self.main.graph_scene
        theme = scene.style.theme
        picture.fill(theme.background.darker(118) if theme.name == "dark" else theme.background.darker(105))
        if content.isEmpty():
            self._picture, self._to_map = picture, QTransform()
            self.update()
            return
        area = content.adjusted(-40.0, -40.0, 40.0, 40.0)
        width, height = self.width(), self.height()
        scale = min((width - 2 * PAD) / area.width(), (height - 2 * PAD) / area.height())
        dx = (width - area.width() * scale) / 2.0 - area.left() * scale
        dy = (height - area.height() * scale) / 2.0 - area.top() * scale
        self._to_map = QTransform(scale, 0.0, 0.0, scale, dx, dy)
        painter = QPainter(picture)
        painter.setTransform(self._to_map)
        for backdrop in scene.backdrops.values():
            color = QColor(backdrop.color)
            color.setAlpha(70)
            painter.fillRect(backdrop.scene_rect(), color)
        wire = QPen(theme.edge, 0)
        painter.setPen(wire)
        # The whole graph, items built or not: wires end to end from the placement index's arrays, nodes built
        # on the canvas in their colours, the others flat.
        placement = scene.placement
        rects = placement.rects
        ends = placement.wire_ends
        if len(ends):
            a, b = rects[ends[:, 0]], rects[ends[:, 1]]
            wires = np.column_stack((a[:, 2], (a[:, 1] + a[:, 3]) / 2.0, b[:, 0], (b[:, 1] + b[:, 3]) / 2.0))
            painter.drawLines([QLineF(*row) for row in wires.tolist()])
        built = scene.nodes.built
        flat = []
        for nid, (left, top, right, bottom) in zip(placement.ids, rects.tolist(), strict=True):
            item = built.get(nid)
            look = item.look if item is not None else None
            if look is None:
                flat.append(QRectF(left, top, right - left, bottom - top))
                continue
            color = theme.edge_error if look.errors else QColor(look.color)
            painter.fillRect(QRectF(item.x(), item.y(), look.width, look.height), color)
        if flat:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.edge)
            painter.drawRects(flat)
        painter.end()
        self._picture = picture
        self.update()

    # -- placement and the outline -------------------------------------------------------------------
    def fits(self) -> bool:
        """Whether the canvas is big enough for the minimap (see :func:`size_for`)."""
        viewport = self.main.viewport()
        return size_for(viewport.width(), viewport.height()) is not None

    def place(self) -> None:
        """Size the minimap for the canvas and put it in the bottom-right corner."""
        viewport = self.main.viewport()
        size = size_for(viewport.width(), viewport.height())
        if size is None:
            return  # update_visible_rect hides it
        if size != (self.width(), self.height()):
            self.setFixedSize(*size)
            self._stale = True
        self.move(viewport.x() + viewport.width() - size[0] - MARGIN,
                  viewport.y() + viewport.height() - size[1] - MARGIN)

    @property
    def enabled(self) -> bool:
        """Whether it is switched on for this canvas: the user's choice, else whether the canvas is roomy."""
        if self.choice is not None:
            return self.choice
        viewport = self.main.viewport()
        return roomy(viewport.width(), viewport.height())

    def update_visible_rect(self) -> None:
        """Called when the main view scrolls, zooms or resizes: show, hide or move the outline."""
        enabled = self.enabled
        if enabled != self._switched_on:
            self._switched_on = enabled
            self.switched.emit(enabled)
        content = self.main.content_rect()
        visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
        want = enabled and len(self.main.graph_scene.nodes) > 1 and not visible.contains(content) and self.fits()
        if want and self._stale and self.isVisible():
            self.refit()  # resized with the canvas: redraw the picture at the new size
        if want == self.isHidden():  # isHidden, not isVisible: the main view itself may not be shown yet
            self.setHidden(not want)
            if want:
                self.place()
                self.raise_()
                if self._stale:
                    self.refit()
        self._visible_rect = visible
        if want:
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt names this
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture)
        theme = self.main.graph_scene.style.theme
        frame = QRectF(0.5, 0.5, self.width() - 1, self.height() - 1)
        outline = self._to_map.mapRect(self._visible_rect).intersected(frame)
        fill = QColor(theme.accent)
        fill.setAlpha(45)
        painter.setPen(QPen(theme.accent, 1.0))
        painter.setBrush(fill)
        painter.drawRect(outline)
        painter.setPen(QPen(theme.node_border, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(frame)
        painter.end()

    # -- navigation ----------------------------------------------------------------------------------
    def scene_point(self, pos: QPointF) -> QPointF:
        inverse, ok = self._to_map.inverted()
        return inverse.map(pos) if ok else QPointF()

    def _navigate(self, event: QMouseEvent) -> None:
        self.main.centerOn(self.scene_point(event.position()))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt names this
        if event.button() == Qt.MouseButton.LeftButton:
            self._navigate(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt names this
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._navigate(event)
        event.accept()
