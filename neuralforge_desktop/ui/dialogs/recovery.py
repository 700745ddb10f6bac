"""The offer, at start, to reopen work a crash left unsaved. Non-modal: the window stays usable, and tests
drive it through :meth:`RecoveryDialog.recover_selected` / :meth:`discard_all` instead of clicking."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_PATH_ROLE = Qt.ItemDataRole.UserRole


def describe(path: Path) -> str:
    """'mnist.nfg — /home/me/models/mnist.nfg, 14:03' from the copy's own metadata (best effort)."""
    original = ""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
        # Only the meta block is needed; a full load (catalog, migrations) is not worth it for a label.
        original = str(json.loads(path.read_text("utf-8"))["graph"]["meta"].get("recovery_of", "") or "")
    when = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    name = Path(original).name if original else "untitled graph"
    where = f" — {original}" if original else ""
    return f"{name}{where}  (autosaved {when})"


class RecoveryDialog(QDialog):
    recover_requested = Signal(object)  # Path
    discard_requested = Signal(list)  # [Path]

    def __init__(self, files: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.setModal(False)
        self.files = list(files)
        intro = QLabel("NeuralForge closed before these graphs were saved. Open one to keep working on it "
                       "(it opens as unsaved), or discard them.")
        intro.setWordWrap(True)
        self.list = QListWidget()
        for path in self.files:
            item = QListWidgetItem(describe(path))
            item.setData(_PATH_ROLE, str(path))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.recover_button = QPushButton("Recover")
        self.recover_button.setDefault(True)
        discard = QPushButton("Discard all")
        later = QPushButton("Later")
        buttons = QHBoxLayout()
        buttons.addWidget(discard)
        buttons.addStretch(1)
        buttons.addWidget(later)
        buttons.addWidget(self.recover_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.recover_button.clicked.connect(self.recover_selected)
        self.list.itemDoubleClicked.connect(lambda _item: self.recover_selected())
        discard.clicked.connect(self.discard_all)
        later.clicked.connect(self.reject)  # the copies stay; they are offered again next start
        self.resize(560, 300)

    def recover_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.accept()
        self.recover_requested.emit(Path(item.data(_PATH_ROLE)))

    def discard_all(self) -> None:
        self.accept()
        self.discard_requested.emit(list(self.files))
