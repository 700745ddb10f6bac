"""Render docs/screenshots/explain_overlay.png: the Explain view with integrated gradients over an MNIST digit.

    python docs/make_explain_screenshot.py [--out DIR] [--sample I]    # offscreen; under a minute on a CPU

It trains the zoo's MNIST CNN for two epochs on 4,000 MNIST digits, in this process, into a throw-away store;
then opens the Explain view on that run, picks integrated gradients and validation example I (default 7, a 3),
waits for the explanation (computed in the view's worker thread) and grabs the view.
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

SIZE = (1100, 640)
TIMEOUT_S = 120


def train(folder: Path) -> Path:
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    path = folder / "store.db"
    graph = zoo.build("mnist-cnn")
    config = TrainConfig(dataset="mnist-10k", epochs=2, batch_size=64, limit=4000, seed=0, threads=2)
    with Store(path) as store:
        run_id, run_dir = prepare_run(graph, config, store, "screenshots")
        if Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status != "finished":
            raise SystemExit("training did not finish")
    return path


def wait_for(app: QApplication, condition) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the explanation did not arrive in time")
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    parser.add_argument("--sample", type=int, default=7)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    from neuralforge_desktop.ui.explain import ExplainView

    view = ExplainView(train(Path(tempfile.mkdtemp(prefix="nf-explain-"))))
    view.resize(*SIZE)
    view.show()
    shown: list = []
    view.explained.connect(shown.append)
    wait_for(app, lambda: bool(shown))  # the view explains the first example by itself
    view.method_box.setCurrentIndex(view.method_box.findData("ig"))
    view.examples.setCurrentRow(args.sample)
    wait_for(app, lambda: shown[-1].sample == args.sample and shown[-1].method == "ig")
    for _ in range(20):
        app.processEvents()
    view.grab().save(str(out / "explain_overlay.png"))
    print(out / "explain_overlay.png", shown[-1].prediction, shown[-1].figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
