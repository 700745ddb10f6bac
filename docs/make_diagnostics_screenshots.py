"""Render docs/screenshots/gradient-flow.png and histograms.png: the Diagnostics view of a real run.

    python docs/make_diagnostics_screenshots.py [--out DIR]        # offscreen; about half a minute on a CPU

It trains a small CNN on the 8×8 digits in this process (five 3×3 convolutions with sigmoids, then a linear
head; 8 epochs at diagnostics level "full") into a throw-away store, reads the run's diagnostics back the way
the Runs dock does, and grabs the gradient-flow and histogram tabs. Sigmoids between the convolutions make
gradients shrink towards the input, which is what the gradient-flow tab is for.
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

SIZE = (1400, 820)


def sigmoid_cnn():
    from neuralforge_desktop.core.ir.compose import Composer

    c = Composer("digits-sigmoid-cnn")
    x = c.input("image", [1, 8, 8])
    for i in range(1, 6):
        x = c.layer("Conv2d", x, f"conv{i}", out_channels=8, kernel_size=3, padding=1)
        x = c.layer("Sigmoid", x, f"sig{i}")
    x = c.layer("Flatten", x, "flat")
    logits = c.layer("Linear", x, "fc", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def train(folder: Path):
    """Train the CNN; returns (store, run id)."""
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    store = Store(folder / "store.db")
    graph = sigmoid_cnn()
    cfg = TrainConfig(dataset="digits", epochs=8, batch_size=32, optimizer="adam", lr=3e-3, seed=0, threads=1,
                      diagnostics="full")
    run_id, run_dir = prepare_run(graph, cfg, store, "screenshots", "digits-sigmoid-cnn")
    result = Trainer(graph, cfg, run_id, run_dir, lambda event: None, store).run()
    if result.status != "finished":
        raise SystemExit(f"training ended as {result.status}")
    return store, run_id


def settle(app: QApplication) -> None:
    for _ in range(30):
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
    from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics
    from neuralforge_desktop.ui.training.diagnostics_views import DiagnosticsDialog
    from neuralforge_desktop.ui.training.runs_panel import run_label

    store, run_id = train(Path(tempfile.mkdtemp(prefix="nf-diagnostics-")))
    diag = load_run_diagnostics(store, run_id)
    if diag is None:
        raise SystemExit("the run recorded no diagnostics")
    dialog = DiagnosticsDialog(diag, run_label(store.get_run(run_id)), theme="dark")
    dialog.resize(*SIZE)
    dialog.show()
    settle(app)
    dialog.grab().save(str(out / "gradient-flow.png"))
    dialog.view.select_tab("Histograms")
    dialog.view.show_histograms("fc", "grad")  # the whole run: the distribution narrows as the loss falls
    settle(app)
    dialog.grab().save(str(out / "histograms.png"))
    print(f"{out / 'gradient-flow.png'}, {out / 'histograms.png'}: run {run_id}, {len(diag.layers)} samples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
