"""Render docs/screenshots/bundles.png and bundles-import.png: Team ▸ Share as Bundle… and Team ▸ Import Bundle….

    python docs/make_bundles_screenshot.py [--out DIR]        # offscreen; a few seconds

A junior's store gets three runs of the MNIST CNN as training creates them (graph artifact, config, params),
with loss and accuracy curves and a checkpoint, and comments on a run and on a node; the share dialog lists the
runs (the failed one unticked), and a senior's import dialog shows the written bundle after importing it. Files
live under /home/you (a neutral path for the picture) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: TID251
from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.theme import apply_theme

HOME = Path("/home/you")


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def finish(app: QApplication, dialog: object) -> None:
    """Wait for the dialog's worker (bundles are written and read off the UI thread)."""
    end = time.monotonic() + 60
    while getattr(dialog, "busy", False) and time.monotonic() < end:
        settle(app, 0.05)


def junior_store(folder: Path) -> tuple[Path, Path]:
    from neuralforge_desktop.core import zoo
    from neuralforge_desktop.core.ir.serialize import save_graph
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.team.comments import add_comment, graph_target_id
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.runner import prepare_run

    os.environ["NEURALFORGE_USER"] = "junior"
    folder.mkdir(parents=True, exist_ok=True)
    graph = zoo.build("mnist-cnn")
    graph_path = folder / "mnist-cnn.nfg"
    save_graph(graph, graph_path)
    store_path = folder / "store.db"
    with Store(store_path) as store:
        for i, (lr, batch, status) in enumerate(((0.01, 64, "finished"), (0.003, 64, "finished"),
                                                 (0.03, 128, "failed"))):
            config = TrainConfig(dataset="mnist-10k", epochs=5, batch_size=batch, lr=lr, seed=i, threads=1)
            run_id, _ = prepare_run(graph, config, store, "baseline", name=f"lr-{lr}-bs{batch}")
            steps = list(range(0, 800, 10))
            loss = [2.3 * math.exp(-s / (120 + 60 * i)) + 0.04 * (i + 1) for s in steps]
            store.log_series(run_id, "train/loss", steps, loss)
            store.log_series(run_id, "val/acc", [160, 320, 480, 640, 790],
                             [0.91 - 0.02 * i, 0.95 - 0.02 * i, 0.97 - 0.03 * i, 0.978 - 0.03 * i, 0.981 - 0.04 * i])
            store.log_artifact(run_id, os.urandom(2**16), "checkpoints/last.pt", kind="checkpoint")
            store.set_status(run_id, status)
            if i == 0:
                add_comment(store, "run", run_id, "@senior val/acc stalls at 0.98 after epoch 4: more epochs or a "
                            "wider conv2?")
        add_comment(store, "graph", graph_target_id(graph), "Is the second conv block needed for MNIST?",
                    anchor="conv2")
        save_graph(graph, graph_path)  # the graph keeps the id its comments are attached to
    return graph_path, store_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    apply_theme("dark", app)
    from neuralforge_desktop.core.edit.document import Document
    from neuralforge_desktop.ui import bundle_dialogs
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    made_home = not HOME.exists()
    junior, senior = HOME / "designs", HOME / "review"
    try:
        graph_path, store_path = junior_store(junior)
        settings = Settings(QSettings(str(HOME / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, recovery_dir=HOME / "recovery", document=Document.open(graph_path),
                            store_path=store_path)
        window.resize(1280, 800)
        share = bundle_dialogs.share_bundle(window)
        share.resize(900, 360)
        share.runs.item(0).setCheckState(Qt.CheckState.Unchecked)  # the newest, failed run stays at home
        share.export()
        finish(app, share)
        settle(app)
        share.grab().save(str(out / "bundles.png"))

        os.environ["NEURALFORGE_USER"] = "senior"
        senior.mkdir(parents=True, exist_ok=True)
        window.store_path = senior / "store.db"
        dialog = bundle_dialogs.import_bundle_dialog(window)
        dialog.resize(900, 400)
        dialog.bundle.setText(str(junior / "mnist-cnn.nfbundle"))
        dialog.graph_dir.setText(str(senior))
        dialog.inspect()
        finish(app, dialog)
        dialog.run_import()
        finish(app, dialog)
        settle(app)
        dialog.grab().save(str(out / "bundles-import.png"))
        print(f"{out / 'bundles.png'}: {share.message.text()}")
        window.close()
    finally:
        shutil.rmtree(junior, ignore_errors=True)
        shutil.rmtree(senior, ignore_errors=True)
        if made_home:
            shutil.rmtree(HOME, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
