"""The validation examples as list items: a thumbnail for an image, the values of a table row, the words of a
text."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from neuralforge_desktop.core.explain.subject import IMAGE, TABULAR, Subject

MAX_LISTED = 200  # the first examples of the split: enough to pick from, quick to draw
THUMBNAIL = 56


def thumbnail(image: Any) -> QIcon:
    """A C×H×W model input as a greyscale (or RGB) icon, scaled to fill 0 … 255."""
    import numpy as np

    array = np.asarray(image, dtype=np.float64)
    low, high = float(array.min()), float(array.max())
    scaled = ((array - low) / (high - low) * 255 if high > low else np.zeros_like(array)).astype(np.uint8)
    if scaled.shape[0] == 3:
        pixels = np.ascontiguousarray(scaled.transpose(1, 2, 0))
        picture = QImage(pixels.data, pixels.shape[1], pixels.shape[0], 3 * pixels.shape[1],
                         QImage.Format.Format_RGB888)
    else:
        pixels = np.ascontiguousarray(scaled.mean(axis=0).astype(np.uint8))
        picture = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.shape[1],
                         QImage.Format.Format_Grayscale8)
    return QIcon(QPixmap.fromImage(picture.copy()).scaled(THUMBNAIL, THUMBNAIL))


def describe(subject: Subject, index: int) -> str:
    label = f"  [{subject.class_name(int(subject.labels[index]))}]" if subject.labels is not None else ""
    if subject.kind == TABULAR:
        row = subject.inputs[0][index]
        return f"#{index}{label}  " + ", ".join(f"{v:.2f}" for v in row[:8]) + (" …" if len(row) > 8 else "")
    if subject.kind == IMAGE:
        return f"#{index}{label}"
    vocab = subject.vocab or []
    words = [vocab[int(i)] if 0 <= int(i) < len(vocab) else str(int(i)) for i in subject.inputs[0][index] if i]
    return f"#{index}{label}  " + " ".join(words[:14]) + (" …" if len(words) > 14 else "")


def fill(widget: QListWidget, subject: Subject) -> None:
    widget.clear()
    images = subject.kind == IMAGE
    widget.setViewMode(QListWidget.ViewMode.IconMode if images else QListWidget.ViewMode.ListMode)
    for index in range(min(len(subject), MAX_LISTED)):
        item = QListWidgetItem(describe(subject, index))
        item.setData(Qt.ItemDataRole.UserRole, index)
        if images:
            item.setIcon(thumbnail(subject.inputs[0][index]))
        widget.addItem(item)
