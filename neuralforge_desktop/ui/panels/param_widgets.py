"""One editor widget per :class:`ParamSpec`, generated from the schema (no per-layer UI code).

Each field emits ``committed(value)`` only with a value that already passed ``ParamSpec.validate``; text
that does not parse, or parses but breaks the schema (out of range, wrong length), is shown inline under the
field (red border + message) and never leaves the widget. Values are emitted in their saved (JSON) form:
``3`` stays ``3``, ``"3, 5"`` becomes ``[3, 5]``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.catalog.spec import ParamSpec
from neuralforge_desktop.core.diagnostics import ParamError
from neuralforge_desktop.ui.theme import DEFAULT_THEME, roles

INT_MIN, INT_MAX = -(2**31) + 1, 2**31 - 1  # QSpinBox is 32-bit
FLOAT_LIMIT = 1e15
_SEPARATORS = re.compile(r"[,;\s×]+")
_NONE_WORDS = {"", "none", "auto", "default"}


# -- parsing -------------------------------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    """``"[1, 28, 28]"``, ``"(3, 3)"``, ``"3 3"`` and ``"1×28×28"`` all give the same tokens."""
    text = text.strip()
    if text[:1] in "[(" and text[-1:] in "])":
        text = text[1:-1]
    return [t for t in _SEPARATORS.split(text) if t]


def _int(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise ValueError(f"{token!r} is not a whole number") from None


def parse_text(spec: ParamSpec, text: str) -> Any:
    """Turn what the user typed into the saved value; raises ValueError with a short reason."""
    if spec.kind == "str":
        return text
    if text.strip().lower() in _NONE_WORDS:
        if spec.optional:
            return None
        raise ValueError("a value is required")
    if spec.kind == "int":
        return _int(text.strip())
    if spec.kind == "float":
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError("enter a finite number")
        return value
    tokens = _tokens(text)
    if not tokens:
        raise ValueError("a value is required")
    if spec.kind == "int_or_tuple":
        values = [_int(t) for t in tokens]
        return values[0] if len(values) == 1 else values
    if spec.kind == "ints":
        return [_int(t) for t in tokens]
    if spec.kind == "dims":
        dims: list[int | str] = []
        for token in tokens:
            if token.isidentifier():
                dims.append(token)  # a named dimension such as T (sequence length)
            else:
                dims.append(_int(token))
        return dims
    raise ValueError(f"cannot edit a {spec.kind!r} parameter as text")


def check_text(spec: ParamSpec, text: str) -> tuple[Any, str | None]:
    """(value, None) when ``text`` is a valid value for ``spec``; (None, reason) otherwise."""
    try:
        value = parse_text(spec, text)
        spec.validate(value)
    except ValueError as exc:
        return None, str(exc)
    except ParamError as exc:
        return None, exc.message
    return value, None


def format_value(value: Any) -> str:
    """The saved value as editable text (lists as ``1, 28, 28``; None as empty)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def same_value(spec: ParamSpec, a: Any, b: Any) -> bool:
    """True when two saved values mean the same (``3`` and ``[3, 3]`` for a 2-D kernel)."""
    try:
        return spec.validate(a) == spec.validate(b)
    except ParamError:
        return a == b


def placeholder(spec: ParamSpec) -> str:
    if spec.optional:
        return "none (automatic)" if spec.default is None else f"none · default {format_value(spec.default)}"
    return {"int_or_tuple": "e.g. 3 or 3, 3", "ints": "e.g. 0, 2, 1", "dims": "e.g. 1, 28, 28"}.get(spec.kind, "")


# -- widgets ---------------------------------------------------------------------------------------------
class ParamField(QWidget):
    """An editor plus the inline message under it. Subclasses wire the editor to ``_commit``."""

    committed = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._theme = DEFAULT_THEME
        self._local_error: str | None = None  # from what the user typed
        self._outside_error: str | None = None  # from the document (e.g. a bad value in the file)
        self._message = QLabel(self)
        self._message.setWordWrap(True)
        self._message.hide()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)

    def _finish(self, editor: QWidget) -> None:
        self.editor = editor
        editor.setToolTip(self.spec.help)
        self._layout.addWidget(editor)
        self._layout.addWidget(self._message)
        self._restyle()

    # -- interface used by the inspector -----------------------------------------------------------------
    def set_value(self, value: Any) -> None:
        """Show ``value`` without pushing an edit (each field kind below says how)."""
        raise TypeError(f"{type(self).__name__} must define set_value")  # only a new field kind could miss it

    def is_editing(self) -> bool:
        """True while the user has focus in the editor: the inspector must not overwrite it."""
        return self.editor.hasFocus() or any(w.hasFocus() for w in self.editor.findChildren(QWidget))

    def set_outside_error(self, message: str | None) -> None:
        self._outside_error = message
        self._restyle()

    def error(self) -> str | None:
        return self._local_error or self._outside_error

    def set_theme(self, name: str) -> None:
        self._theme = name
        self._restyle()

    # -- internals ---------------------------------------------------------------------------------------
    def _set_local_error(self, message: str | None) -> None:
        self._local_error = message
        self._restyle()

    def _commit(self, value: Any) -> None:
        try:
            self.spec.validate(value)
        except ParamError as exc:
            self._set_local_error(exc.message)
            return
        self._set_local_error(None)
        self.committed.emit(value)

    def _restyle(self) -> None:
        c = roles(self._theme)
        message = self.error()
        self._message.setVisible(bool(message))
        self._message.setText(message or "")
        self._message.setStyleSheet(f"color: {c.error}; font-size: 11px;")
        editor = getattr(self, "editor", None)
        if editor is not None:
            name = type(editor).__name__
            if isinstance(editor, QLineEdit):
                name = "QLineEdit"
            editor.setProperty("invalid", bool(message))
            # A red frame only when invalid; otherwise the host's style applies untouched.
            editor.setStyleSheet(f"{name} {{ border: 1px solid {c.error}; border-radius: 3px; padding: 2px; }}"
                                 if message else "")


class _NoWheelMixin:
    """Scrolling the inspector must not change a value under the mouse by accident."""

    def wheelEvent(self, event) -> None:  # Qt names this method
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


class _IntSpin(_NoWheelMixin, QSpinBox):
    pass


class _FloatSpin(_NoWheelMixin, QDoubleSpinBox):
    """Shows ``1e-05`` and ``0.1`` as typed instead of a fixed number of decimals."""

    def textFromValue(self, value: float) -> str:  # Qt names this method
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # Qt names this method
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:  # Qt names this method
        try:
            float(text)
            return QValidator.State.Acceptable
        except ValueError:
            return QValidator.State.Intermediate


class _NoWheelCombo(_NoWheelMixin, QComboBox):
    pass


class IntField(ParamField):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        spin = _IntSpin(self)
        low = INT_MIN if spec.minimum is None else max(INT_MIN, int(math.ceil(spec.minimum)))
        high = INT_MAX if spec.maximum is None else min(INT_MAX, int(spec.maximum))
        spin.setRange(low, high)
        spin.setKeyboardTracking(False)  # one edit per finished value, not one per keystroke
        spin.setAccelerated(True)
        spin.valueChanged.connect(self._commit)
        self.spin = spin
        self._finish(spin)

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.spin.setValue(int(value))
        self.spin.blockSignals(False)


class FloatField(ParamField):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        spin = _FloatSpin(self)
        spin.setDecimals(12)
        spin.setRange(-FLOAT_LIMIT if spec.minimum is None else spec.minimum,
                      FLOAT_LIMIT if spec.maximum is None else spec.maximum)
        if spec.maximum is not None and spec.minimum is not None and spec.maximum - spec.minimum <= 1:
            spin.setSingleStep(0.05)  # probabilities and rates
        else:
            spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(self._commit)
        self.spin = spin
        self._finish(spin)

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.spin.setValue(float(value))
        self.spin.blockSignals(False)


class BoolField(ParamField):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QCheckBox(self)
        self.box.toggled.connect(self._commit)
        self._finish(self.box)

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class ChoiceField(ParamField):
    """A combo box for ``choice`` params, and for optional booleans (automatic / true / false)."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = _NoWheelCombo(self)
        options: list[tuple[str, Any]] = [(str(c), c) for c in spec.choices]
        if spec.kind == "bool":
            options = [("true", True), ("false", False)]
        if spec.optional:
            options.insert(0, ("automatic", None))
        for text, value in options:
            self.combo.addItem(text, value)
        self._values = [value for _, value in options]
        self.combo.activated.connect(lambda index: self._commit(self._values[index]))
        self._finish(self.combo)

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        for i, option in enumerate(self._values):
            if option == value and type(option) is type(value):
                self.combo.setCurrentIndex(i)
                break
        self.combo.blockSignals(False)


class TextField(ParamField):
    """Line edit for lists, shapes, ``3`` / ``3, 3`` tuples, text and optional numbers; validated as typed."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(placeholder(spec))
        self.line.textEdited.connect(self._check)
        self.line.editingFinished.connect(self._finish_editing)
        self._shown: str | None = None
        self._finish(self.line)

    def set_value(self, value: Any) -> None:
        text = format_value(value)
        self._shown = text
        if self.line.text() != text:
            self.line.setText(text)
        self._set_local_error(None)

    def _check(self, text: str) -> None:
        self._set_local_error(check_text(self.spec, text)[1])

    def _finish_editing(self) -> None:
        text = self.line.text()
        value, problem = check_text(self.spec, text)
        if problem is not None:
            self._set_local_error(problem)
            return
        if text != self._shown:
            self._shown = text
            self._commit(value)


def make_field(spec: ParamSpec, parent: QWidget | None = None) -> ParamField:
    """The widget for one parameter, chosen from its kind (and whether None is allowed)."""
    if spec.kind == "choice" or (spec.kind == "bool" and spec.optional):
        return ChoiceField(spec, parent)
    if spec.kind == "bool":
        return BoolField(spec, parent)
    if spec.kind == "int" and not spec.optional:
        return IntField(spec, parent)
    if spec.kind == "float" and not spec.optional:
        return FloatField(spec, parent)
    return TextField(spec, parent)
