"""Render docs/screenshots/fairness.png: the Fairness view on the bundled synthetic credit example.

    python docs/make_fairness_screenshot.py [--out DIR]        # offscreen; ~20 s on a CPU

The example (``core.fairness.example``) is written into a throw-away folder, a small network is trained on
its training table as a real run, and the view evaluates it on ``example:credit`` for the sensitive column
``group`` with demographic-parity mitigation, as a user would from View ▸ Fairness….
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme

SIZE = (1400, 900)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme("dark", app)
    from neuralforge_desktop.core.fairness.example import train_example, write_example
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.ui.fairness import FairnessView

    folder = Path(tempfile.mkdtemp(prefix="nf-fairness-"))
    files = write_example(folder / "data")
    with Store(folder / "store.db") as store:
        run = train_example(store, files)
    view = FairnessView(folder / "store.db", "dark")
    view.resize(*SIZE)
    view.model.setCurrentText(run)
    view.data.setText("example:credit")
    view.sensitive.setCurrentText("group")
    view.mitigation.setCurrentIndex(view.mitigation.findData("demographic_parity"))
    view.show()
    view.evaluate()
    deadline = time.monotonic() + 120
    while view.report is None and time.monotonic() < deadline:
        settle(app, 0.1)
    settle(app)
    view.grab().save(str(out / "fairness.png"))
    print(f"{out / 'fairness.png'}: {view.status.text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
