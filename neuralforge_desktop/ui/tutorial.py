"""The guided first steps (``core/tutorial.py``) in a card at the canvas's top-right corner.

It lists the steps, shows how to do the current one, and ticks each as soon as the document has it: it re-checks
on every change of the document, so undoing a step un-ticks it. When the graph has something the step does not
accept (a wrong input size, a missing Flatten), a hint under the step says what. A pulsing outline points at the
part of the window the step is done in (the palette entry, the Inspector field, the Start button), and when a
step wires a new layer the shapes light up along the wires from the input to it. Training, the last step, is
ticked by the window when a run starts; the card then points at the live curves. Closing the card ends the
tutorial; the graph built so far stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from neuralforge_desktop.core.tutorial import STEPS, WATCH, Target, diagnose, focus, steps_done, trace
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.onboarding.shape_flow import ShapeFlow
from neuralforge_desktop.ui.onboarding.spotlight import Spotlight
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

if TYPE_CHECKING:
    from neuralforge_desktop.ui.canvas.edge_item import EdgeItem
    from neuralforge_desktop.ui.canvas.view import GraphView

WIDTH = 340
MARGIN = 12
FIRST_DATASETS = ("mnist-10k", "digits")  # the tutorial's dataset, then the smallest image set that ships


class TutorialCard(QFrame):
    closed = Signal()

    def __init__(self, view: GraphView, bridge: DocumentBridge, theme: str = DEFAULT_THEME) -> None:
        super().__init__(view)
        self.setObjectName("TutorialCard")
        self.view = view
        self.bridge = bridge
        self.trained = False
        self.theme = theme
        self.shown_done = 0  # how many steps were ticked at the last refresh (a new tick plays the shapes)
        self.target: Target | None = None
        self.setFixedWidth(WIDTH)
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 10, 10, 12)
        box.setSpacing(6)
        top = QHBoxLayout()
        self.heading = QLabel("First steps: an MNIST digit classifier")
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setToolTip("End the tutorial (the graph stays; Help ▸ First Steps Tutorial starts again)")
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
        self.hint = QLabel()  # what the graph has that the current step does not accept
        self.hint.setObjectName("TutorialHint")
        self.hint.setWordWrap(True)
        self.hint.hide()
        box.addWidget(self.hint)
        self.train_button = QPushButton("Open the Train panel")
        self.train_button.setToolTip("Show the Train panel with the MNIST dataset chosen; then press Start")
        self.train_button.clicked.connect(self.open_training)
        self.train_button.hide()
        box.addWidget(self.train_button)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        main = view.window()
        settings = getattr(main, "settings", None)
        reduce_motion = bool(getattr(settings, "reduce_motion", False))
        self.spotlight = Spotlight(main, roles(theme).accent, reduce_motion)
        self.flow = ShapeFlow(view.graph_scene, self)
        self.flow.reduce_motion = reduce_motion
        bridge.changed.connect(self.refresh)
        bridge.replaced.connect(self.flow.clear)  # before the refresh: the old wires are gone
        bridge.replaced.connect(self.refresh)
        view.installEventFilter(self)
        self.shown_done = self.done()
        self.set_theme(theme)

    # -- state ---------------------------------------------------------------------------------------
    def done(self) -> int:
        """How many steps are done, from the first."""
        document = self.bridge.document
        return steps_done(document.graph, document.shapes, self.trained)

    def current_hint(self) -> str:
        document = self.bridge.document
        return diagnose(document.graph, document.shapes, self.done())

    def mark_trained(self) -> None:
        """A training run started (the last step)."""
        self.trained = True
        self.refresh()

    def refresh(self, *_args: object) -> None:
        c = roles(self.theme)
        document = self.bridge.document
        done = self.done()
        finished = done == len(STEPS)
        self.progress.setText("Done: you built and trained a classifier." if finished
                              else f"Step {done + 1} of {len(STEPS)}")
        self.progress.setStyleSheet(f"color: {c.ok if finished else c.muted};")
        for index, (mark, title, how) in enumerate(self.rows):
            state = "done" if index < done else "current" if index == done else "later"
            mark.setText("✓" if state == "done" else str(index + 1))
            color = {"done": c.ok, "current": c.accent, "later": c.muted}[state]
            mark.setStyleSheet(f"color: {color}; font-weight: 700;")
            title.setStyleSheet(f"color: {c.text if state == 'current' else c.muted};"
                                f"{' font-weight: 600;' if state == 'current' else ''}")
            how.setVisible(state == "current")
        hint = WATCH if finished else diagnose(document.graph, document.shapes, done)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.hint.setStyleSheet(f"color: {c.ok if finished else c.warning};")
        self.train_button.setVisible(done == len(STEPS) - 1)
        self._aim(None if finished else focus(document.graph, document.shapes, done), finished)
        if done > self.shown_done and 2 <= done < len(STEPS):
            self.play_shapes()
        self.shown_done = done
        self.place()

    def play_shapes(self) -> list[str]:
        """Light the wires from the input along the classifier built so far; returns their shape texts."""
        document = self.bridge.document
        path = [node.id for node in trace(document.graph, document.shapes)]
        scene = self.view.graph_scene
        lit: list[tuple[EdgeItem, str]] = []
        for src, dst in zip(path, path[1:], strict=False):
            edge = next((e for e in document.graph.edges if e.src == src and e.dst == dst), None)
            item = scene.edges.built.get((edge.dst, edge.dst_port)) if edge is not None else None
            if edge is not None and item is not None:
                spec = document.shapes.edge_spec(edge)
                lit.append((item, str(spec) if spec is not None else "?"))
        self.flow.play(lit)
        return [text for _item, text in lit]

    # -- pointing at the window ----------------------------------------------------------------------
    def _main(self) -> Any:
        return self.view.window()

    def _aim(self, target: Target | None, finished: bool) -> None:
        """Point the spotlight at ``target`` (or, once trained, at the live curves)."""
        if finished:
            self.target = None
            self.spotlight.point_at(self._locate_curves)
            return
        if target != self.target and target is not None and target.kind == "palette":
            self._reveal_in_palette(target.name)
        self.target = target
        self.spotlight.point_at(None if target is None else lambda: self._locate(target))

    def _reveal_in_palette(self, type_name: str) -> None:
        palette = getattr(self._main(), "palette_panel", None)
        if palette is None:
            return
        item = palette.item_for(type_name)
        if item is not None and not item.isHidden():
            palette.tree().scrollToItem(item)

    def _locate(self, target: Target) -> tuple[QWidget, QRect] | None:
        main = self._main()
        if target.kind == "palette":
            palette = getattr(main, "palette_panel", None)
            if palette is None:
                return None
            item = palette.item_for(target.name)
            if item is None or item.isHidden():
                return None
            tree = palette.tree()
            rect = tree.visualItemRect(item)
            return (tree.viewport(), rect) if tree.viewport().rect().intersects(rect) else None
        if target.kind == "inspector":
            field = getattr(getattr(main, "inspector", None), "fields", {}).get(target.name)
            if field is not None and field.isVisible():
                return field, field.rect()
            return self._locate_scores_node()
        train_host = getattr(main, "train_host", None)
        if train_host is not None and train_host.built and main.train_panel.start_button.isVisible():
            button = main.train_panel.start_button
            return button, button.rect()
        return (self.train_button, self.train_button.rect()) if self.train_button.isVisible() else None

    def _locate_scores_node(self) -> tuple[QWidget, QRect] | None:
        """The Linear after the Flatten on the canvas: select it to see its out_features in the Inspector."""
        document = self.bridge.document
        path = trace(document.graph, document.shapes)
        linear = next((c for c in document.graph.consumers(path[-1].id)
                       if document.graph.nodes[c].type == "Linear"), None) if path else None
        item = self.view.graph_scene.nodes.built.get(linear) if linear is not None else None
        if item is None:
            return None
        rect = self.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        return self.view.viewport(), rect

    def _locate_curves(self) -> tuple[QWidget, QRect] | None:
        main = self._main()
        train_host = getattr(main, "train_host", None)
        if train_host is None or not train_host.built:
            return None
        curves = main.train_panel.curves
        return (curves, curves.rect()) if curves.isVisible() else None

    def open_training(self) -> None:
        """Show the Train panel with the tutorial's dataset chosen (the smallest image set if it is missing)."""
        main = self._main()
        show = getattr(main, "show_training", None)
        if not callable(show):
            return
        show()
        dataset = main.train_panel.dataset
        for name in FIRST_DATASETS:
            if dataset.is_available(name):
                dataset.set_dataset(name)
                break
        main.train_panel.start_button.setFocus()
        self.spotlight.place()

    def set_theme(self, name: str) -> None:
        self.theme = name
        c = roles(name)
        self.setStyleSheet(
            f"#TutorialCard {{ background: {c.card}; border: 1px solid {c.border}; border-radius: 10px; }}"
            f"QLabel {{ background: transparent; border: none; color: {c.text}; }}"
            f"QToolButton {{ color: {c.muted}; font-size: 16px; border: none; }}")
        self.heading.setStyleSheet(f"color: {c.text}; font-weight: 700;")
        self.spotlight.color = QColor(c.accent)
        self.flow.set_colors(c.accent, c.on_accent)
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
        self.bridge.replaced.disconnect(self.flow.clear)
        self.bridge.replaced.disconnect(self.refresh)
        self.view.removeEventFilter(self)
        self.flow.clear()
        self.spotlight.point_at(None)
        self.spotlight.deleteLater()
        self.closed.emit()
        super().closeEvent(event)
