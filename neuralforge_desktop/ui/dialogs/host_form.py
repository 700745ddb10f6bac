"""The form for a new remote host (Remote Hosts ▸ Add…): where to connect and how to log in."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.remote.hosts import DEFAULT_WORKDIR, Host


class HostForm(QDialog):
    def __init__(self, jump_hosts: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a Remote Host")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("a100-box")
        self.address = QLineEdit(self)
        self.address.setPlaceholderText("gpu.example.org or 10.0.0.12")
        self.port = QSpinBox(self)
        self.port.setRange(1, 65535)
        self.port.setValue(22)
        self.user = QLineEdit(self)
        self.user.setPlaceholderText("your user name here")
        self.key = QLineEdit(self)
        self.key.setPlaceholderText("empty: the keys of your ssh-agent")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(browse)
        self.jump = QComboBox(self)
        self.jump.addItem("(none)", "")
        for name in jump_hosts:
            self.jump.addItem(name, name)
        self.cost = QDoubleSpinBox(self)
        self.cost.setRange(0.0, 10_000.0)
        self.cost.setDecimals(2)
        self.cost.setSpecialValueText("not charged")
        self.workdir = QLineEdit(DEFAULT_WORKDIR, self)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Address", self.address)
        form.addRow("Port", self.port)
        form.addRow("User", self.user)
        form.addRow("Key file", key_row)
        form.addRow("Jump host", self.jump)
        form.addRow("Cost per GPU-hour", self.cost)
        form.addRow("Work folder", self.workdir)
        note = QLabel("NeuralForge logs in once to check the host's key before the host is added. No password "
                      "or passphrase is written to disk.", self)
        note.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e06c75")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())
        self.result_host: Host | None = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SSH key file", str(Path.home() / ".ssh"))
        if path:
            self.key.setText(path)

    def host(self) -> Host:
        """The host the form describes; a UserError names the field at fault."""
        key = self.key.text().strip()
        if key:
            key = str(Path(key).expanduser().absolute())
            if not Path(key).is_file():
                raise UserError(f"Key file: {key} does not exist")
        return Host(self.name.text().strip(), self.address.text().strip(), port=self.port.value(),
                    user=self.user.text().strip(), key_file=key, jump=str(self.jump.currentData() or ""),
                    cost_per_gpu_hour=self.cost.value(), workdir=self.workdir.text().strip() or DEFAULT_WORKDIR)

    def _accept(self) -> None:
        try:
            self.result_host = self.host()
        except UserError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
