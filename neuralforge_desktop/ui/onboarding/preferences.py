"""Edit ▸ Preferences…: the settings that are not a menu tick, on one page, a section per subject.

- GPU and training: the default device (auto, cpu or a GPU by index), mixed precision, and the remote host runs start
  on (from the registered hosts); the Train panel starts at these (see ``training_prefs``).
- Experiment tracking: an MLflow folder and a TensorBoard folder; each run that finishes in the app is also written
  there (what ``neuralforge runs export --to mlflow|tensorboard DIR`` does by hand).
- Team store: the team store's ``postgresql://`` URL (empty: the personal store on this computer). The password has a
  field of its own that echoes dots, and the URL is never shown with it.
- Appearance: reduce motion (the tutorial's animations).

OK checks everything first and saves nothing while a field is wrong; the field at fault says why.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.ui.onboarding.store_url import check_store_url, with_password
from neuralforge_desktop.ui.settings import Settings, valid_device

if TYPE_CHECKING:
    from neuralforge_desktop.ui.main_window import MainWindow

GPU_CHOICES = 4  # cuda:0 … cuda:3 listed; any other index can be typed


def registered_hosts() -> list[str]:
    from neuralforge_desktop.core.remote.hosts import HostRegistry

    try:
        return [host.name for host in HostRegistry().all()]
    except (OSError, ValueError, UserError):
        return []  # an unreadable hosts file: the Hosts dialog reports it; here, no host to offer


class FolderField(QWidget):
    """A folder path with Browse…; empty means off."""

    def __init__(self, path: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.line = QLineEdit(path)
        self.line.setPlaceholderText("off")
        self.line.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.line, 1)
        row.addWidget(browse)

    def text(self) -> str:
        return self.line.text().strip()

    def browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.title, self.text())
        if chosen:
            self.line.setText(chosen)


LABEL_WIDTH = 130  # every section's labels as wide, so their fields line up down the page


def _form(page: QWidget) -> QFormLayout:
    form = QFormLayout(page)
    form.setContentsMargins(0, 0, 0, 0)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return form


def _align_labels(dialog: QWidget) -> None:
    for form in dialog.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            label = item.widget() if item is not None else None
            if label is not None:
                label.setMinimumWidth(LABEL_WIDTH)
            elif form.itemAt(row, QFormLayout.ItemRole.FieldRole) is not None:
                spacer = QLabel()  # a row without a label (a check box, a note) lines up with the others
                spacer.setMinimumWidth(LABEL_WIDTH)
                form.setWidget(row, QFormLayout.ItemRole.LabelRole, spacer)


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("role", "note")
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.sections: dict[str, QGroupBox] = {}
        pages = (("GPU and training", self._training_page()), ("Experiment tracking", self._tracking_page()),
                 ("Team store", self._team_page()), ("Appearance", self._appearance_page()))
        self.error = QLabel()
        self.error.setObjectName("PreferencesError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for title, page in pages:
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            inner.setContentsMargins(10, 6, 10, 6)
            inner.addWidget(page)
            layout.addWidget(box)
            self.sections[title] = box
        layout.addStretch(1)
        _align_labels(self)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(640, 580)

    # -- pages ---------------------------------------------------------------------------------------
    def _training_page(self) -> QWidget:
        s = self.settings
        page = QWidget()
        form = _form(page)
        self.device = QComboBox()
        self.device.setEditable(True)
        self.device.addItems(["auto", "cpu", *(f"cuda:{i}" for i in range(GPU_CHOICES))])
        self.device.setCurrentText(s.default_device)
        self.device.setToolTip("auto: a GPU if torch sees one, else the CPU; cuda:N: the GPU with that index")
        self.amp = QCheckBox("Mixed precision (AMP) on a GPU")
        self.amp.setChecked(s.mixed_precision)
        self.amp.setToolTip("Half-precision maths where it is safe: faster training and less GPU memory. "
                            "Never used on a CPU.")
        self.host = QComboBox()
        self.host.addItem("This computer", "")
        for name in registered_hosts():
            self.host.addItem(name, name)
        if s.default_host and self.host.findData(s.default_host) < 0:
            self.host.addItem(f"{s.default_host} (not registered)", s.default_host)
        self.host.setCurrentIndex(max(0, self.host.findData(s.default_host)))
        form.addRow("Default device", self.device)
        form.addRow("", self.amp)
        form.addRow("Run on", self.host)
        form.addRow("", _note("The Train panel starts at these whenever it opens; hosts are added with Train ▸ "
                              "Remote Hosts. A GPU index is kept for runs on this computer; the worker trains "
                              "on the first GPU it sees."))
        return page

    def _tracking_page(self) -> QWidget:
        s = self.settings
        page = QWidget()
        form = _form(page)
        self.mlflow = FolderField(s.mlflow_folder, "MLflow tracking folder")
        self.tensorboard = FolderField(s.tensorboard_folder, "TensorBoard log folder")
        form.addRow("MLflow folder", self.mlflow)
        form.addRow("TensorBoard folder", self.tensorboard)
        form.addRow("", _note("Each run that finishes in the app is also written there: an MLflow tracking "
                              "folder (mlflow ui --backend-store-uri FOLDER) and TensorBoard event files "
                              "(tensorboard --logdir FOLDER). Empty: off. The command line does the same with "
                              "neuralforge runs export --to mlflow|tensorboard FOLDER."))
        return page

    def _team_page(self) -> QWidget:
        page = QWidget()
        form = _form(page)
        bare = self.settings.store_url
        password = _saved_password(bare)
        self.store_url = QLineEdit(bare)
        self.store_url.setPlaceholderText("postgresql://user@host:5432/database  (empty: your personal store)")
        self.store_url.setClearButtonEnabled(True)
        self.store_password = QLineEdit(password)
        self.store_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.store_password.setPlaceholderText("none")
        form.addRow("Team store URL", self.store_url)
        form.addRow("Password", self.store_password)
        form.addRow("", _note("Runs, models and notes are kept in this PostgreSQL database, shared with your team. "
                              "Empty: the personal store on this computer. The password is kept apart from "
                              "the settings, in a password file only you can read, and is never shown."))
        return page

    def _appearance_page(self) -> QWidget:
        page = QWidget()
        form = _form(page)
        self.reduce_motion = QCheckBox("Reduce motion")
        self.reduce_motion.setChecked(self.settings.reduce_motion)
        self.reduce_motion.setToolTip("No moving highlights in the tutorial: shapes and pointers show without "
                                      "animation")
        form.addRow("", self.reduce_motion)
        return page

    # -- saving --------------------------------------------------------------------------------------
    def values(self) -> dict[str, object]:
        """What OK would save; raises UserError naming the field at fault."""
        device = self.device.currentText().strip()
        if not valid_device(device):
            raise UserError(f"default device: {device!r} is not auto, cpu or cuda:N (a GPU's index, like cuda:0)")
        url = check_store_url(self.store_url.text())
        url = with_password(url, self.store_password.text()) if url else ""
        return {"default_device": device, "mixed_precision": self.amp.isChecked(),
                "default_host": str(self.host.currentData() or ""), "mlflow_folder": self.mlflow.text(),
                "tensorboard_folder": self.tensorboard.text(), "store_url": url,
                "reduce_motion": self.reduce_motion.isChecked()}

    def accept(self) -> None:
        try:
            values = self.values()
        except UserError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        for name, value in values.items():
            setattr(self.settings, name, value)
        if values["store_url"] and not self.store_password.text():
            _forget_password(str(values["store_url"]))  # the field was cleared: the saved one goes too
        self.settings.sync()
        self.error.hide()
        super().accept()


def _saved_password(url: str) -> str:
    from neuralforge_desktop.core.store.location import is_url, parse
    from neuralforge_desktop.core.store.passwords import saved_password

    try:
        return (saved_password(parse(url)) or "") if is_url(url) else ""
    except (ValueError, UserError):  # an address saved by hand that cannot be read: no password to show
        return ""


def _forget_password(url: str) -> None:
    from neuralforge_desktop.core.store.location import parse
    from neuralforge_desktop.core.store.passwords import forget_password

    with contextlib.suppress(UserError):  # not an address a password could be saved for
        forget_password(parse(url))


def open_preferences(window: MainWindow) -> PreferencesDialog:
    """Edit ▸ Preferences…; once saved, a Train panel already open takes the training defaults at once."""
    dialog = PreferencesDialog(window.settings, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def saved() -> None:
        if window.train_host.built:
            from neuralforge_desktop.ui.onboarding.training_prefs import apply_defaults

            apply_defaults(window.train_panel, window.settings)
        window.show_message("Preferences saved")

    dialog.accepted.connect(saved)
    dialog.open()
    window.preferences_dialog = dialog  # type: ignore[attr-defined]
    return dialog
