"""``python -m neuralforge_desktop.ui.cards.pdf_writer IN.html OUT.pdf``: lay out HTML with QTextDocument and
print it to an A4 PDF with QPdfWriter (what :func:`neuralforge_desktop.core.cards.pdf.write_pdf` runs)."""

from __future__ import annotations

import sys
from pathlib import Path


def write(html: str, target: str) -> None:
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    app = QGuiApplication.instance() or QGuiApplication([])
    writer = QPdfWriter(target)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle("Model card")
    document = QTextDocument()
    document.setHtml(html)
    document.print_(writer)
    del app


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m neuralforge_desktop.ui.cards.pdf_writer IN.html OUT.pdf", file=sys.stderr)
        return 2
    write(Path(argv[0]).read_text(encoding="utf-8"), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
