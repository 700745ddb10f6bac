"""Render docs/screenshots/pipeline.png: the Pipeline view of a real pipeline run with passed, failed and pending
stages.

    python docs/make_pipeline_screenshot.py [--out DIR] [--store STORE | --work DIR]   # offscreen

Without ``--store`` it first runs docs/examples/pipeline.yaml into a throw-away store with the validate stage's
condition raised to ``val/acc >= 0.99``, which one epoch of training does not reach: training passes, validation
fails with its measured accuracy, and the stages after it stay pending (a few minutes on two cores). ``--work``
keeps that store (in DIR) for another screenshot with ``--store DIR/store.db``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme

HERE = Path(__file__).resolve().parent
VIEW_SIZE = (1480, 560)  # seven stages side by side


def run_example(folder: Path) -> Path:
    text = (HERE / "examples" / "pipeline.yaml").read_text(encoding="utf-8")
    pipeline = folder / "pipeline.yaml"
    pipeline.write_text(text.replace("val/acc >= 0.9", "val/acc >= 0.99"), encoding="utf-8")
    store = folder / "store.db"
    subprocess.run([sys.executable, "-m", "neuralforge_desktop", "pipeline", "run", str(pipeline), "--store",
                    str(store)], check=False)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--work", type=Path, help="run the example here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    app = create_application([])
    apply_theme("dark", app)
    from neuralforge_desktop.ui.pipeline.view import PipelineView

    with tempfile.TemporaryDirectory() as tmp:
        if args.work is not None:
            args.work.mkdir(parents=True, exist_ok=True)
        store = args.store or run_example(args.work or Path(tmp))
        view = PipelineView(store)
        view.resize(*VIEW_SIZE)
        view.show()
        deadline = time.monotonic() + 20
        while view.record is None and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        args.out.mkdir(parents=True, exist_ok=True)
        view.grab().save(str(args.out / "pipeline.png"))
        view.close()
        QApplication.processEvents()
    print(args.out / "pipeline.png")


if __name__ == "__main__":
    main()
