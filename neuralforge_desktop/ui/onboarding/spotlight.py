"""A pulsing outline over a part of the window (a palette entry, an inspector field, the Start button) that the
tutorial wants the user to use next.

The outline is a transparent widget laid over the window, so it never takes a click from what it points at.
Where it goes is asked of a locator a few times a second (the palette may scroll, a dock may be moved or
closed): a cheap rectangle lookup, no repaint unless it moved. The pulse is one QVariantAnimation on the UI
thread's timer; with reduced motion the outline stays still.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEasingCurve, QPoint, QRect, Qt, QTimer, QVariantAnimation
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

# The widget to outline and the rectangle in its coordinates; None while it is not on screen.
Locator = Callable[[], tuple[QWidget, QRect] | None]
FOLLOW_MS = 250
PULSE_MS = 1100
PAD = 4


class Spotlight(QWidget):
    def __init__(self, window: QWidget, color: str, reduce_motion: bool = False) -> None:
        super().__init__(window)
        self.setObjectName("TutorialSpotlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.color = QColor(color)
        self.locator: Locator | None = None
        self.strength = 1.0
        self.reduce_motion = reduce_motion
        self.pulse = QVariantAnimation(self)
        self.pulse.setStartValue(0.35)
        self.pulse.setKeyValueAt(0.5, 1.0)
        self.pulse.setEndValue(0.35)
        self.pulse.setDuration(PULSE_MS)
        self.pulse.setLoopCount(-1)
        self.pulse.setEasingCurve(QEasingCurve.Type.InOutSine)
        self.pulse.valueChanged.connect(self._pulsed)
        self.follow = QTimer(self)
        self.follow.setInterval(FOLLOW_MS)
        self.follow.timeout.connect(self.place)
        self.hide()

    def point_at(self, locator: Locator | None) -> None:
        """Outline what ``locator`` finds from now on (None: nothing)."""
        self.locator = locator
        if locator is None:
            self.follow.stop()
            self.pulse.stop()
            self.hide()
            return
        self.follow.start()
        if not self.reduce_motion and self.pulse.state() != QVariantAnimation.State.Running:
            self.pulse.start()
        self.place()

    def target_rect(self) -> QRect | None:
        """Where the outline is drawn, in the window's coordinates (None: nothing to point at now)."""
        found = self.locator() if self.locator is not None else None
        if found is None:
            return None
        widget, rect = found
        if not widget.isVisible() or rect.isEmpty():
            return None
        parent = self.parentWidget()
        top_left = widget.mapTo(parent, rect.topLeft()) if parent is not None else rect.topLeft()
        return QRect(top_left - QPoint(PAD, PAD), rect.size() + QRect(0, 0, 2 * PAD, 2 * PAD).size())

    def place(self) -> None:
        rect = self.target_rect()
        if rect is None:
            self.hide()
            return
        if rect != self.geometry():
            self.setGeometry(rect)
        if not self.isVisible():
            self.show()
        self.raise_()

    def _pulsed(self, value: object) -> None:
        self.strength = float(value)  # type: ignore[arg-type]
        if self.isVisible():
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # Qt names this
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        glow = QColor(self.color)
        glow.setAlphaF(0.18 * self.strength)
        painter.setPen(QPen(glow, 6))
        painter.drawRoundedRect(self.rect().adjusted(3, 3, -3, -3), 6, 6)
        line = QColor(self.color)
        line.setAlphaF(0.45 + 0.55 * self.strength)
        painter.setPen(QPen(line, 2))
        painter.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)
