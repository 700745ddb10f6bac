"""Edit ▸ New Custom Layer: write an nn.Module or a loss in Python and add it to the palette.

The dialog is a code editor with a template, the sample input shapes the layer is checked on and the values of
``__init__`` arguments that have no default. Add runs :func:`user_layers.add_source`: the code is imported and
``forward`` runs on meta tensors of the samples; only a layer that passes is saved (as a user plugin in the user
data directory) and registered, and the palette shows it under "Custom" at once. What the check found wrong is
shown in the dialog, never raised into the app.
"""

from __future__ import annotations

import ast
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.ui.panels.code_view import PythonHighlighter
from neuralforge_desktop.ui.theme import DEFAULT_THEME

MODULE_TEMPLATE = '''\
import torch
from torch import nn


class ScaledResidual(nn.Module):
    """y = x + scale · conv(x): a residual branch with a learned 3×3 convolution."""

    def __init__(self, channels: int, scale: float = 0.5, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.scale = scale

    def forward(self, x):
        return x + self.scale * self.conv(x)
'''

LOSS_FUNCTION_TEMPLATE = '''\
import torch


def huber_loss(input, target):
    """Squared error for small misses, absolute error for large ones (robust to outliers)."""
    miss = (input - target).abs()
    return torch.where(miss < 1.0, 0.5 * miss**2, miss - 0.5).mean()
'''

LOSS_CLASS_TEMPLATE = '''\
import torch
from torch import nn
from torch.nn import functional as F


class FocalLoss(nn.Module):
    """Cross-entropy that down-weights examples the model already gets right (Lin et al., 2017)."""

    def __init__(self, gamma: float = 2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, input, target):
        logp = F.log_softmax(input, dim=1).gather(1, target[:, None]).squeeze(1)
        return (-((1 - logp.exp()) ** self.gamma) * logp).mean()
'''

# template name → (source, sample inputs, __init__ values)
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "Layer (nn.Module)": (MODULE_TEMPLATE, "N, 16, 32, 32", "channels=16"),
    "Loss (function)": (LOSS_FUNCTION_TEMPLATE, "N, 10; N, 10", ""),
    "Loss (nn.Module class)": (LOSS_CLASS_TEMPLATE, "N, 10; N: int64", ""),
}


def defined_name(source: str) -> str:
    """The last top-level class or function in ``source`` (the layer a file ends with); "" when none parses."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    names = [n.name for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef)]
    return names[-1] if names else ""


def parse_init(text: str) -> dict[str, Any]:
    """``"channels=16, scale=0.5"`` → ``{"channels": 16, "scale": 0.5}`` (Python literals; other text stays text)."""
    values: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, raw = part.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UserError(f"__init__ values: expected NAME=VALUE, got {part.strip()!r}")
        try:
            value: Any = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        values[name.strip()] = value
    return values


class CustomLayerDialog(QDialog):
    """Code editor, template choice, sample shapes and Add; emits :attr:`layer_added` with the new type."""

    layer_added = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, cat: Catalog | None = None,
                 theme: str = DEFAULT_THEME) -> None:
        super().__init__(parent)
        self.setWindowTitle("New custom layer")
        self.setObjectName("custom_layer_dialog")
        self._catalog = cat or catalog()
        self.added = ""

        self.template = QComboBox(self)
        self.template.addItems(list(TEMPLATES))
        self.template.currentTextChanged.connect(self.use_template)
        self.name = QLineEdit(self)
        self.name.setToolTip("The class (or loss function) in the code to add; it becomes the layer type")
        self.inputs = QLineEdit(self)
        self.inputs.setToolTip("One shape per forward argument, separated by ';'. Names such as N or T are "
                               "symbolic; ': int64' gives a dtype (class labels)")
        self.init = QLineEdit(self)
        self.init.setPlaceholderText("e.g. channels=16 (needed for __init__ arguments without a default)")
        self.editor = QPlainTextEdit(self)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)  # where the system names no fixed font, still pick one
        self.editor.setFont(font)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setTabChangesFocus(False)
        self._highlighter = PythonHighlighter(self.editor.document(), theme)
        self.editor.textChanged.connect(self._follow_name)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Template", self.template)
        form.addRow("Name", self.name)
        form.addRow("Sample inputs", self.inputs)
        form.addRow("__init__ values", self.init)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.add_button = buttons.addButton("Add to palette", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.add)
        buttons.rejected.connect(self.reject)
        note = QLabel("Parameters come from __init__'s signature (int, float, bool, str); shapes, parameter "
                      "counts and MACs from running forward on the meta device. The code is saved in your "
                      "user data folder and runs whenever a graph uses the layer.", self)
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.editor, 1)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(760, 620)
        self.use_template(self.template.currentText())

    def use_template(self, key: str) -> None:
        source, inputs, init = TEMPLATES[key]
        self.editor.setPlainText(source)
        self.inputs.setText(inputs)
        self.init.setText(init)
        self.status.clear()

    def _follow_name(self) -> None:
        found = defined_name(self.editor.toPlainText())
        if found:
            self.name.setText(found)

    def add(self) -> bool:
        """Check and save the layer; True when it was added (the dialog then closes)."""
        from neuralforge_desktop.core.catalog import user_layers

        name = self.name.text().strip()
        samples = [s for s in self.inputs.text().split(";") if s.strip()]
        self.add_button.setEnabled(False)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # the first check imports torch
        try:
            layer = user_layers.add_source(self.editor.toPlainText(), name, self._catalog,
                                           inputs=samples or None, init=parse_init(self.init.text()))
        except UserError as exc:
            self._fail(str(exc))
            return False
        except Exception as exc:  # the user's code may fail in ways no check names; the app must stay up
            self._fail(f"{type(exc).__name__}: {exc}")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
            self.add_button.setEnabled(True)
        self.added = layer.type
        self.layer_added.emit(layer.type)
        self.accept()
        return True

    def _fail(self, message: str) -> None:
        self.status.setStyleSheet("color: #c0392b;")
        self.status.setText(message)
