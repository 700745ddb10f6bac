"""The inspector's explanation of the selected layer: what it does in plain words, the typeset formula, the
longer help, and what it does to the tensors at this node (its input and output shapes).

Everything comes from the layer's catalog entry (``LayerDef.description``, ``math``, ``help``) and the node's
inferred shapes; the formula is the same mathtext the canvas typesets in Concept Mode.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from neuralforge_desktop.core.analysis.shapes import NodeShapes
from neuralforge_desktop.core.catalog.spec import LayerDef
from neuralforge_desktop.core.ir.types import format_shape
from neuralforge_desktop.ui.formula import formula_pixmap, layout
from neuralforge_desktop.ui.theme import roles

FORMULA_PX = 16.0


class FormulaView(QWidget):
    """A typeset formula that wraps to the widget's width, in the palette's text colour (drawn from a cached
    pixmap per width and colour)."""

    def __init__(self, source: str, px: float = FORMULA_PX, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.px = px
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        shape = layout(source, px)
        self.setAccessibleName(shape.plain)
        self.setToolTip(shape.plain)

    def plain_text(self) -> str:
        return layout(self.source, self.px).plain

    def hasHeightForWidth(self) -> bool:  # Qt names this
        return True

    def heightForWidth(self, width: int) -> int:  # Qt names this
        return math.ceil(layout(self.source, self.px, max(40.0, width - 2.0)).height) + 6

    def sizeHint(self) -> QSize:  # Qt names this
        shape = layout(self.source, self.px)
        return QSize(min(360, math.ceil(shape.width) + 4), math.ceil(shape.height) + 6)

    def minimumSizeHint(self) -> QSize:  # Qt names this
        return QSize(60, self.heightForWidth(max(60, self.width())))

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt names this
        color = self.palette().color(QPalette.ColorRole.WindowText)
        pixmap = formula_pixmap(self.source, self.px, color, max(40.0, self.width() - 2.0), self.devicePixelRatioF())
        painter = QPainter(self)
        painter.drawPixmap(1, 3, pixmap)
        painter.end()


class Explanation(QWidget):
    """Plain words, formula, help and this node's shapes for one layer type."""

    def __init__(self, layer: LayerDef, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        colors = roles(theme)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.words = QLabel(layer.description, self)
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.words)
        self.formula = FormulaView(layer.math, parent=self) if layer.math else None
        if self.formula is not None:
            box.addWidget(self.formula)
        self.help = QLabel(layer.help, self)
        self.help.setWordWrap(True)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help.setStyleSheet(f"color: {colors.muted};")
        self.help.setVisible(bool(layer.help))
        box.addWidget(self.help)
        self.shapes = QLabel(self)
        self.shapes.setWordWrap(True)
        self.shapes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.shapes)
        self.set_shapes(None)

    def set_shapes(self, result: NodeShapes | None) -> None:
        """Say what this node does to its tensors: ``x N×1×28×28 → y N×32×28×28``."""
        if result is None or not (result.inputs or result.outputs):
            self.shapes.setText("")
            self.shapes.hide()
            return
        ins = ", ".join(f"{port} {format_shape(spec.shape)}" for port, spec in result.inputs.items())
        outs = ", ".join(f"{port} {format_shape(spec.shape)}" for port, spec in result.outputs.items())
        text = f"Here: {ins or 'no input'} → {outs or 'unknown until its errors are fixed'}"
        self.shapes.setText(text)
        self.shapes.show()

    def texts(self) -> list[str]:
        """What the explanation says, in reading order (tests and accessibility read it)."""
        parts = [self.words.text()]
        if self.formula is not None:
            parts.append(self.formula.plain_text())
        parts += [label.text() for label in (self.help, self.shapes) if label.text()]
        return parts
