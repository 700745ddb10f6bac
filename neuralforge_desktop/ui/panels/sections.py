"""Small layout pieces of the inspector: headed (optionally collapsible) sections and aligned forms."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from neuralforge_desktop.ui.theme import section_style


class NotesEdit(QPlainTextEdit):
    """Multi-line notes that commit when focus leaves (QPlainTextEdit has no editingFinished)."""

    editing_finished = Signal()

    def focusOutEvent(self, event) -> None:  # Qt names this method
        super().focusOutEvent(event)
        self.editing_finished.emit()


class Section(QWidget):
    """A heading and a body; collapsible ones toggle the body with an arrow button."""

    def __init__(self, title: str, theme: str, collapsible: bool = False, expanded: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.body = QWidget(self)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(4)
        if collapsible:
            self.toggle = QToolButton(self)
            self.toggle.setText(title)
            self.toggle.setCheckable(True)
            self.toggle.setChecked(expanded)
            self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
            self.toggle.setAutoRaise(True)
            self.toggle.setStyleSheet(section_style(theme) + " border: none;")
            self.toggle.toggled.connect(self._toggled)
            self.body.setVisible(expanded)
            layout.addWidget(self.toggle)
        else:
            heading = QLabel(title.upper(), self)
            heading.setStyleSheet(section_style(theme) + " font-size: 10px;")
            layout.addWidget(heading)
        layout.addWidget(self.body)

    def _toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)


LABEL_WIDTH = 92  # one label column width for every form, so the sections line up


def make_form() -> QFormLayout:
    form = QFormLayout()
    form.setContentsMargins(0, 0, 0, 0)
    form.setHorizontalSpacing(10)
    form.setVerticalSpacing(6)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return form


def form_label(text: str, tooltip: str = "") -> QLabel:
    label = QLabel(text)
    label.setMinimumWidth(LABEL_WIDTH)
    label.setToolTip(tooltip)
    return label
