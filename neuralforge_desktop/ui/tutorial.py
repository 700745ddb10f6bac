"""The guided first steps (``core/tutorial.py``) in a card at the canvas's top-right corner.

It lists the steps, shows how to do the current one, and ticks each as soon as the document has it: it re-checks
on every change of the document, so undoing a step un-ticks it. Training, the last step, is ticked by the window
when a run starts. Closing the card ends the tutorial; the graph built so far stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from neuralforge_desktop.core.tutorial import STEPS, steps_done
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView

WIDTH = 330
MARGIN = 12


class TutorialCard(QFrame):
    closed = Signal()

    def __init__(self, view: GraphView, bridge: DocumentBridge, theme: str = DEFAULT_THEME) -> None:
        super().__init__(view)
        self.setObjectName("TutorialCard")
        self.view = view
        self.bridge = bridge
        self.trained = False
        self.theme = theme
        self.setFixedWidth(WIDTH)
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 10, 10, 12)
        box.setSpacing(6)
        top = QHBoxLayout()
        self.heading = QLabel("First steps: an MNIST digit classifier")
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setToolTip("End the tutorial (the graph stays)")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.close)
        top.addWidget(self.heading, 1)
        top.addWidget(self.close_button)
        box.addLayout(top)
        self.progress = QLabel()
        box.addWidget(self.progress)
        self.rows: list[tuple[QLabel, QLabel, QLabel]] = []
        for number, step in enumerate(STEPS, start=1):
            row = QWidget()
            grid = QHBoxLayout(row)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(8)
            mark = QLabel(str(number))
            mark.setFixedWidth(18)
            mark.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            text = QVBoxLayout()
            text.setSpacing(2)
            title = QLabel(step.title)
            how = QLabel(step.how)
            how.setWordWrap(True)
            text.addWidget(title)
            text.addWidget(how)
            grid.addWidget(mark)
            grid.addLayout(text, 1)
            box.addWidget(row)
            self.rows.append((mark, title, how))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        bridge.changed.connect(self.refresh)
        bridge.replaced.connect(self.refresh)
        view.installEventFilter(self)
        self.set_theme(theme)

    # -- state ---------------------------------------------------------------------------------------
    def done(self) -> int:
        """How many steps are done, from the first."""
        document = self.bridge.document
        return steps_done(document.graph, document.shapes, self.trained)

    def mark_trained(self) -> None:
        """A training run started (the last step)."""
        self.trained = True
        self.refresh()

    def refresh(self, *_args: object) -> None:
        c = roles(self.theme)
        done = self.done()
        finished = done == len(STEPS)
        self.progress.setText("Done: you built and trained a classifier. Close this card to carry on."
                              if finished else f"Step {done + 1} of {len(STEPS)}")
        self.progress.setStyleSheet(f"color: {c.ok if finished else c.muted};")
        for index, (mark, title, how) in enumerate(self.rows):
            state = "done" if index < done else "current" if index == done else "later"
            mark.setText("✓" if state == "done" else str(index + 1))
            color = {"done": c.ok, "current": c.accent, "later": c.muted}[state]
            mark.setStyleSheet(f"color: {color}; font-weight: 700;")
            title.setStyleSheet(f"color: {c.text if state == 'current' else c.muted};"
                                f"{' font-weight: 600;' if state == 'current' else ''}")
            how.setVisible(state == "current")
        self.place()

    def set_theme(self, name: str) -> None:
        self.theme = name
        c = roles(name)
        self.setStyleSheet(
            f"#TutorialCard {{ background: {c.card}; border: 1px solid {c.border}; border-radius: 10px; }}"
            f"QLabel {{ background: transparent; border: none; color: {c.text}; }}"
            f"QToolButton {{ color: {c.muted}; font-size: 16px; border: none; }}")
        self.heading.setStyleSheet(f"color: {c.text}; font-weight: 700;")
        self.refresh()

    # -- placement -----------------------------------------------------------------------------------
    def place(self) -> None:
        self.adjustSize()
        area = self.view.viewport().geometry()
        self.move(area.right() - self.width() - MARGIN, area.top() + MARGIN)
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self.place()
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt names this
        self.bridge.changed.disconnect(self.refresh)
        self.bridge.replaced.disconnect(self.refresh)
        self.view.removeEventFilter(self)
        self.closed.emit()
        super().closeEvent(event)
