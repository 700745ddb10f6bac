"""Render docs/screenshots/monitoring.png: the Monitoring view on two hours of a served model's history.

    python docs/make_monitoring_screenshot.py [--out DIR]        # offscreen; a few seconds on a CPU

The history is synthetic but shaped like a real one (``core.monitoring.demo``): version 1 serving, a 20 %
canary of version 2 from the middle of the window with a latency spike and a burst of errors, one input
feature drifting away from the training data in the last third, labels sent back for a quarter of the
requests. It is written into a throw-away store, which the view reads as it would a live one.
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
    from neuralforge_desktop.core.monitoring.demo import generate_demo_history
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.ui.monitoring import MonitoringView

    store_path = Path(tempfile.mkdtemp(prefix="nf-monitor-")) / "store.db"
    with Store(store_path) as store:
        history = generate_demo_history(store, "mnist", hours=2.0)
    view = MonitoringView(store_path, "dark")
    view.window_choice.setCurrentIndex(view.window_choice.count() - 1)  # everything: the two hours
    view.resize(*SIZE)
    view.show()
    view.refresh()
    deadline = time.monotonic() + 30
    # The view's first read (its default window) may still be under way: wait for the whole history.
    while (view.report is None or view.report["summary"]["count"] != history.requests) and time.monotonic() < deadline:
        settle(app, 0.1)
    settle(app)
    view.grab().save(str(out / "monitoring.png"))
    print(f"{out / 'monitoring.png'}: {history.requests:,} requests, "
          f"{len(view.report['alerts']['open']) if view.report else 0} open alerts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
