"""Insert with Parameters: one field per exposed parameter of a component, prefilled with its default.

Values are read as JSON (``64``, ``0.1``, ``true``, ``"gelu"``); a bare word is taken as text. Validation is
the component's own (each value must suit every inner parameter it sets), so errors name the layer.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from neuralforge_desktop.core.components.component import Component, ComponentError, instantiate


class ComponentParamsDialog(QDialog):
    def __init__(self, component: Component, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Insert {component.title}")
        self.component = component
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for p in component.params:
            edit = QLineEdit(json.dumps(p.default), self)
            edit.setToolTip(p.help + (f"\nsets {', '.join(p.targets)}" if p.targets else ""))
            form.addRow(p.name, edit)
            self.fields[p.name] = edit
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.values: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, edit in self.fields.items():
            text = edit.text().strip()
            try:
                values[name] = json.loads(text)
            except ValueError:
                values[name] = text
        return values

    def _check(self) -> None:
        values = self.read()
        try:
            instantiate(self.component, values)  # the same checks insertion makes, before the dialog closes
        except ComponentError as exc:
            self.error.setText(str(exc))
            return
        self.values = values
        self.accept()
