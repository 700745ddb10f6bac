"""``python -m neuralforge_desktop.ui.cards.pdf_writer IN.html OUT.pdf [TITLE]``: lay out HTML with QTextDocument and
print it to an A4 PDF with QPdfWriter (what :func:`neuralforge_desktop.core.cards.pdf.write_pdf` runs)."""

from __future__ import annotations

import sys
from pathlib import Path


def write(html: str, target: str, title: str = "Model card") -> None:
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    app = QGuiApplication.instance() or QGuiApplication([])
    writer = QPdfWriter(target)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle(title)
    document = QTextDocument()
    document.setHtml(html)
    document.print_(writer)
    del app


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m neuralforge_desktop.ui.cards.pdf_writer IN.html OUT.pdf [TITLE]", file=sys.stderr)
        return 2
    write(Path(argv[0]).read_text(encoding="utf-8"), argv[1], *argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
