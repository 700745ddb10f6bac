"""Render docs/screenshots/portfolio.png (the Portfolio view at 1280×800) and docs/executive-report-page1.png (the
first page of the Q4 2026 executive report at 80 dpi) from the demo team store.

    python docs/make_portfolio_pictures.py [--theme dark|light]      # offscreen; a few seconds

The store is :func:`neuralforge_desktop.core.team.demo_data.make_demo_store` (five projects, three people, four
months of remote runs, budgets, a registry), made in a throw-away folder as of 3 December 2026.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme

DOCS = Path(__file__).resolve().parent


def build_store(folder: Path) -> Path:
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.demo_data import demo_now, make_demo_store

    path = folder / "store.db"
    with Store(path) as store:
        make_demo_store(store, now=demo_now())
    return path


def settle(app: QApplication, until: object = None, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and until is not None and not until():  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def report_page(store_path: Path, target: Path) -> None:
    from neuralforge_desktop.core.reports.portfolio_report import write_portfolio_report
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.demo_data import demo_now
    from neuralforge_desktop.core.team.spend import parse_period

    with tempfile.TemporaryDirectory() as tmp, Store(store_path) as store:
        pdf, pages = write_portfolio_report(store, parse_period("2026-Q4"), Path(tmp) / "q4.pdf", fmt="pdf",
                                            now=demo_now())
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(Path(tmp) / "page")], check=True)
        shutil.copyfile(Path(tmp) / "page.png", target)
    print(f"{target} (page 1 of {pages})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", default="dark", choices=("dark", "light"))
    args = parser.parse_args(argv)
    store_path = build_store(Path(tempfile.mkdtemp(prefix="nf-portfolio-")))
    app = create_application([])
    apply_theme(args.theme, app)
    from neuralforge_desktop.core.team.demo_data import demo_now
    from neuralforge_desktop.ui.portfolio.view import PortfolioView

    view = PortfolioView(store_path, now=demo_now())
    view.resize(1280, 800)
    view.show()
    settle(app, lambda: view.portfolio is not None)
    target = DOCS / "screenshots" / "portfolio.png"
    view.grab().save(str(target))
    view.close()
    settle(app)
    print(target)
    report_page(store_path, DOCS / "executive-report-page1.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
