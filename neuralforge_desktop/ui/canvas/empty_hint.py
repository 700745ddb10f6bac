"""What an empty canvas says: where to start. Shown in the middle of the canvas while the graph has no node.

Three ways in (a template from the gallery, a file, the guided first steps) and the two gestures that add a
layer (drag from the Layers panel, Tab on the canvas). It watches the canvas itself (its size, its content) and
hides as soon as a node exists; the window connects its three requests to the file and tutorial commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout

from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.view import GraphView

WIDTH = 380


class EmptyCanvasHint(QFrame):
    template_requested = Signal()
    open_requested = Signal()
    tutorial_requested = Signal()

    def __init__(self, view: GraphView) -> None:
        super().__init__(view)
        self.setObjectName("EmptyCanvasHint")
        self.view = view
        self.setFixedWidth(WIDTH)
        box = QVBoxLayout(self)
        box.setContentsMargins(24, 20, 24, 20)
        box.setSpacing(8)
        self.heading = QLabel("Start a network")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self.heading)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip, signal in (
                ("template", "Start from a template…", "Pick an architecture from the gallery (File ▸ New from "
                 "Template)", self.template_requested),
                ("open", "Open a file…", "Open a saved graph (File ▸ Open)", self.open_requested),
                ("tutorial", "Take the tutorial", "Build and train a CNN that reads MNIST digits, in seven guided "
                 "steps (Help ▸ First Steps)", self.tutorial_requested)):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab on the canvas keeps opening the layer search
            button.clicked.connect(signal.emit)
            box.addWidget(button)
            self.buttons[key] = button
        self.gestures = QLabel("or drag a layer from the Layers panel onto the canvas,\n"
                               "or click the canvas and press Tab to search for one")
        self.gestures.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self.gestures)
        self.set_theme(DEFAULT_THEME)
        view.installEventFilter(self)
        view.graph_scene.content_changed.connect(self.sync)  # nodes came or went, or a new document
        self.sync()

    def set_theme(self, name: str) -> None:
        c = roles(name)
        self.setStyleSheet(
            f"#EmptyCanvasHint {{ background: {c.card}; border: 1px solid {c.border}; border-radius: 10px; }}"
            f"QLabel {{ background: transparent; border: none; color: {c.muted}; }}"
            f"QPushButton {{ background: {c.control}; color: {c.text}; border: 1px solid {c.border};"
            " border-radius: 6px; padding: 7px 12px; font-size: 13px; }"
            f"QPushButton:hover {{ border-color: {c.accent}; color: {c.accent}; }}")
        self.heading.setStyleSheet(f"color: {c.text}; font-size: 16px; font-weight: 600;")

    def sync(self, *_args: object) -> None:
        """Shown exactly while the canvas has no node; kept in the middle of the canvas."""
        empty = not self.view.graph_scene.nodes
        if empty != self.isVisible():
            self.setVisible(empty)
        if empty:
            self.place()

    def place(self) -> None:
        self.adjustSize()
        area = self.view.viewport().geometry()
        self.move(area.center().x() - self.width() // 2, area.center().y() - self.height() // 2)
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt names this
        if watched is self.view and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.place()
        return super().eventFilter(watched, event)
