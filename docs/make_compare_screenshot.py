"""Render docs/screenshots/compare-diff.png: the Compare window's Architecture tab for two real runs.

    python docs/make_compare_screenshot.py [--out DIR]        # offscreen; a few seconds on a CPU

It trains the zoo's tabular MLP (sized for iris: 4 features, 3 classes) and a variant of it (a wider second
layer, the second batch norm removed, an extra dropout before the head) for two epochs each on iris, in this
process, into a throw-away store; then opens the Compare window on both runs, shows the Architecture tab and
grabs it.
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


def iris_mlp():
    """The zoo's tabular MLP with iris's 4 features in and its 3 classes out."""
    from neuralforge_desktop.core.zoo import build

    graph = build("tabular-mlp")
    graph.set_param("features", "shape", [4])
    graph.set_param("fc3", "out_features", 3)
    return graph


def iris_mlp_variant():
    """A wider fc2, no bn2, and one more dropout before the head."""
    graph = iris_mlp()
    graph.set_param("fc2", "out_features", 128)
    graph.remove_node("bn2", rewire=True)
    x, y = graph.node("dropout2").position
    graph.add_node("Dropout", "dropout3", {"p": 0.3}, position=(x + 120, y + 110))
    graph.disconnect("fc3", "x")
    graph.connect("dropout2", "y", "dropout3", "x")
    graph.connect("dropout3", "y", "fc3", "x")
    return graph


def train(folder: Path):
    """Train both graphs; returns (store, run ids)."""
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    store = Store(folder / "store.db")
    ids = []
    for name, graph in (("tabular-mlp", iris_mlp()), ("tabular-mlp wider", iris_mlp_variant())):
        cfg = TrainConfig(dataset="iris", epochs=2, batch_size=16, optimizer="adam", lr=1e-2, seed=0, threads=1,
                          diagnostics="off")
        run_id, run_dir = prepare_run(graph, cfg, store, "screenshots", name)
        result = Trainer(graph, cfg, run_id, run_dir, lambda event: None, store).run()
        if result.status != "finished":
            raise SystemExit(f"training {name} ended as {result.status}")
        ids.append(run_id)
    return store, ids


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
    from neuralforge_desktop.ui.training.compare_view import CompareWindow

    store, ids = train(Path(tempfile.mkdtemp(prefix="nf-compare-")))
    window = CompareWindow(store, ids, "dark")
    window.resize(*SIZE)
    window.tabs.setCurrentWidget(window.diff)
    window.show()
    settle(app)
    window.diff.left.fit()
    window.diff.right.fit()
    settle(app)
    window.grab().save(str(out / "compare-diff.png"))
    print(f"{out / 'compare-diff.png'}: runs {', '.join(ids)}; {len(window.diff.diff.lines())} changes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
