"""The tutorial's picture of shapes flowing through the network: when a step connects a layer, the wires from
the input to the new layer light up one after another, each with its tensor shape in a pill, as if the data ran
along them.

One QVariantAnimation drives it from the UI thread's timer (no thread, no per-frame allocation): it creates an
overlay per wire when the wave reaches it, then only changes the overlays' opacity; at the end the overlays go.
The wires and their own shape labels are left untouched. With reduced motion the overlays appear all at once
and go after a moment, without movement.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, QVariantAnimation
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QGraphicsSimpleTextItem

from neuralforge_desktop.ui.canvas.edge_item import EdgeItem

STEP_MS = 260  # the wave takes this long per wire
TAIL = 2.5  # a wire stays lit for this many wire-times after the wave passed it
STILL_MS = 1400  # reduced motion: how long the still overlays stay
MAX_WIRES = 40  # a longer path is not the tutorial's: light only its last wires


class _Overlay:
    """A lit copy of one wire and its shape in a pill, above the canvas's own items."""

    def __init__(self, scene: QGraphicsScene, edge: EdgeItem, text: str, color: QColor, text_color: QColor) -> None:
        wire = QGraphicsPathItem(edge.mapToScene(edge.path()))
        wire.setPen(QPen(color, 4.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        wire.setZValue(50.0)
        wire.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        label = QGraphicsSimpleTextItem(text)
        font = QFont()
        font.setPointSizeF(9.0)
        font.setBold(True)
        label.setFont(font)
        label.setBrush(QBrush(text_color))
        box = label.boundingRect().adjusted(-7.0, -3.0, 7.0, 3.0)
        pill_path = QPainterPath()
        pill_path.addRoundedRect(QRectF(box), box.height() / 2.0, box.height() / 2.0)
        pill = QGraphicsPathItem(pill_path)
        pill.setBrush(QBrush(color))
        pill.setPen(QPen(Qt.PenStyle.NoPen))
        pill.setZValue(51.0)
        pill.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        label.setParentItem(pill)
        middle = edge.label.scenePos()
        pill.setPos(middle.x() - box.center().x(), middle.y() - 25.0 - box.center().y())
        scene.addItem(wire)
        scene.addItem(pill)
        self.items: tuple[QGraphicsItem, ...] = (wire, pill)
        self.text = text

    def set_opacity(self, value: float) -> None:
        for item in self.items:
            item.setOpacity(value)

    def remove(self) -> None:
        for item in self.items:
            if not shiboken6.isValid(item):
                continue  # the scene was rebuilt (another document) and took the overlay with it
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)


class ShapeFlow(QObject):
    """Plays the wave over ``scene``; ``play`` on a new path stops the last one first."""

    def __init__(self, scene: QGraphicsScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.color = QColor("#3d7eff")
        self.text_color = QColor("#ffffff")
        self.reduce_motion = False
        self.edges: list[tuple[EdgeItem, str]] = []
        self.overlays: list[_Overlay] = []
        self.shown: list[str] = []  # the shapes lit so far, in order (what a test or screenshot can read)
        self.animation = QVariantAnimation(self)
        self.animation.valueChanged.connect(self._advance)
        self.animation.finished.connect(self.clear)
        self.still = QTimer(self)
        self.still.setSingleShot(True)
        self.still.timeout.connect(self.clear)

    @property
    def running(self) -> bool:
        return self.animation.state() == QVariantAnimation.State.Running or self.still.isActive()

    def set_colors(self, color: str, text_color: str) -> None:
        self.color, self.text_color = QColor(color), QColor(text_color)

    def play(self, edges: list[tuple[EdgeItem, str]]) -> None:
        """Light ``edges`` (wire items with their shape texts, from the input onwards) one after another."""
        self.clear()
        self.shown = []
        self.edges = edges[-MAX_WIRES:]
        if not self.edges:
            return
        if self.reduce_motion:
            for edge, text in self.edges:
                self._light(edge, text).set_opacity(1.0)
            self.still.start(STILL_MS)
            return
        count = len(self.edges)
        self.animation.setStartValue(0.0)
        self.animation.setEndValue(count + TAIL)
        self.animation.setDuration(int(STEP_MS * (count + TAIL)))
        self.animation.start()
        self._advance(0.0)  # the first wire lights at once, not on the timer's first tick

    def hold(self) -> None:
        """Stop the wave where it is and keep the lit wires shown (for a still picture)."""
        self.animation.pause()

    def _light(self, edge: EdgeItem, text: str) -> _Overlay:
        overlay = _Overlay(self.scene, edge, text, self.color, self.text_color)
        self.overlays.append(overlay)
        self.shown.append(text)
        return overlay

    def _advance(self, value: object) -> None:
        wave = float(value)  # type: ignore[arg-type]
        while len(self.overlays) < len(self.edges) and wave >= len(self.overlays):
            edge, text = self.edges[len(self.overlays)]
            if not shiboken6.isValid(edge) or edge.scene() is not self.scene:  # the wire went while the wave ran
                self.edges = self.edges[: len(self.overlays)]
                break
            self._light(edge, text)
        for index, overlay in enumerate(self.overlays):
            if not all(shiboken6.isValid(item) for item in overlay.items):
                continue
            behind = wave - index
            overlay.set_opacity(max(0.0, min(1.0, behind * 2.0, (TAIL + 1.0 - behind) / TAIL)))

    def clear(self) -> None:
        self.animation.stop()
        self.still.stop()
        for overlay in self.overlays:
            overlay.remove()
        self.overlays = []
        self.edges = []
