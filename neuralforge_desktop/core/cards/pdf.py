"""A card's HTML as a PDF, laid out by Qt's QTextDocument and written by QPdfWriter in a child process (the core
never imports Qt; the child runs :mod:`neuralforge_desktop.ui.cards.pdf_writer` on the offscreen platform)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from neuralforge_desktop.core.errors import UserError

_PAGE = re.compile(rb"/Type\s*/Page\b")


def write_pdf(html: str, path: str | Path, timeout: float = 120.0, *, title: str = "Model card") -> int:
    """Write ``html`` as the PDF ``path`` (atomically), ``title`` in its document information; returns its page
    count."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    with tempfile.TemporaryDirectory(prefix=".card-pdf-", dir=folder) as tmp:
        source, target = Path(tmp) / "card.html", Path(tmp) / "card.pdf"
        source.write_text(html, encoding="utf-8")
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM") or "offscreen"}
        argv = [sys.executable, "-m", "neuralforge_desktop.ui.cards.pdf_writer", str(source), str(target), title]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0 or not target.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise UserError(f"{path}: the PDF could not be written ({' '.join(tail) or f'exit {done.returncode}'})")
        pages = pdf_page_count(target)
        os.replace(target, path)
    return pages


def pdf_page_count(path: str | Path) -> int:
    """The number of pages of a PDF, checking its header; refuses a file that is not one."""
    data = Path(path).read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise UserError(f"{path}: not a complete PDF file (no %PDF- header or %%EOF trailer)")
    return len(_PAGE.findall(data))
