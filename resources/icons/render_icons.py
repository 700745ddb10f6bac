"""Render neuralforge.svg into the PNG sizes desktops ask for (Qt, offscreen), and pack those into
neuralforge.ico (Windows) and neuralforge.icns (macOS) with Pillow: ``python resources/icons/render_icons.py``.
Rerun after editing the SVG and commit the results (the bundles read them; nothing is rendered at build or
run time)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def write(image: QImage, path: Path, fmt: str) -> None:
    writer = QImageWriter(str(path), fmt.encode())
    if not writer.write(image):
        raise SystemExit(f"cannot write {path}: {writer.errorString()}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / "neuralforge.svg"))
    if not renderer.isValid():
        raise SystemExit("neuralforge.svg does not parse")
    for size in SIZES:
        write(render(renderer, size), HERE / f"neuralforge-{size}.png", "png")
    del app
    from PIL import Image

    largest = Image.open(HERE / f"neuralforge-{SIZES[-1]}.png")
    largest.save(HERE / "neuralforge.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(HERE / "neuralforge.icns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
