"""Render docs/screenshots/sweep-view.png and sweep-dialog.png: the Sweep view of a real finished sweep, and the
Sweep dialog on the MNIST CNN template.

    python docs/make_sweep_screenshots.py [--out DIR] [--store STORE --sweep ID]   # offscreen

Without ``--store``/``--sweep`` it first runs a 10-trial sweep of a digits MLP (two at once, two epochs on 600
examples: several minutes on two cores) into a throw-away store, started the way the dialog starts one.
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

VIEW_SIZE = (1400, 900)
DIALOG_SIZE = (1150, 700)
SPACE = ("lr: {log_uniform: [1e-3, 3e-2]}\nfc1.out_features: [16, 32, 64, 128]\ndrop.p: {uniform: [0.0, 0.5]}\n"
         "optimizer: [adam, sgd]\n")


def digits_mlp():
    from neuralforge_desktop.core.ir.compose import Composer

    c = Composer("digits-mlp")
    x = c.layer("Flatten", c.input("image", [1, 8, 8]), "flat")
    x = c.layer("ReLU", c.layer("Linear", x, "fc1", out_features=32), "relu")
    logits = c.layer("Linear", c.layer("Dropout", x, "drop", p=0.1), "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


def run_sweep(folder: Path) -> tuple[Path, str]:
    from neuralforge_desktop.core.ir.serialize import dumps
    from neuralforge_desktop.core.sweeps.follow import SweepLaunch, SweepWatch, start_sweep

    store = folder / "store.db"
    launch = SweepLaunch(store, "3f9c2a17", "digits", trials=10, parallel=2, pruner="none",
                         train_args=["--epochs", "2", "--limit", "600", "--batch-size", "32"])
    if start_sweep(launch, dumps(digits_mlp()), SPACE).wait() != 0:
        raise SystemExit(SweepWatch(store, launch.sweep_id).log_tail(20))
    return store, launch.sweep_id


def settle(app: QApplication) -> None:
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def dialog_shot(app: QApplication, path: Path) -> None:
    from neuralforge_desktop.cli.graph_source import load_graph_arg
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.ui.dialogs.sweep_dialog import SweepDialog

    graph = load_graph_arg("zoo:mnist-cnn")
    dialog = SweepDialog(graph, Path(tempfile.mkdtemp(prefix="nf-sweep-dialog-")) / "store.db",
                         selected=["conv1"], base=TrainConfig(dataset="mnist-10k", epochs=2, lr=1e-3))
    dialog.add_setting_row("batch_size")
    dialog.add_setting_row("optimizer")
    dialog.add_node_field_row("conv1.out_channels")  # what "Add selected node's field…" adds for conv1
    dialog.add_node_field_row("dropout.p")
    dialog.add_row("conv1.out_chanels", [16, 32])  # a typo: refused, naming its row
    dialog.max_macs.setText("5e6")
    dialog.check()
    dialog.resize(*DIALOG_SIZE)
    dialog.show()
    settle(app)
    dialog.grab().save(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    parser.add_argument("--store", help="a store with a finished sweep (default: run one)")
    parser.add_argument("--sweep", help="that sweep's id")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme("dark", app)
    from neuralforge_desktop.ui.training.sweep_view import SweepView

    if args.store and args.sweep:
        store, sweep_id = Path(args.store), args.sweep
    else:
        store, sweep_id = run_sweep(Path(tempfile.mkdtemp(prefix="nf-sweep-")))
    view = SweepView(store, sweep_id, theme="dark")
    view.resize(*VIEW_SIZE)
    view.show()
    deadline = time.monotonic() + 120
    while not (view.summary or {}).get("importance") and time.monotonic() < deadline:  # from a child process
        settle(app)
    settle(app)
    view.grab().save(str(out / "sweep-view.png"))
    dialog_shot(app, out / "sweep-dialog.png")
    print(f"{out / 'sweep-view.png'}, {out / 'sweep-dialog.png'}: sweep {sweep_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
