"""Render docs/screenshots/registry.png: the Registry view of a model with two versions, one in production.

    python docs/make_registry_screenshot.py [--out DIR]        # offscreen; about a minute on a CPU

It trains the zoo's MNIST CNN twice on MNIST digits (one short epoch, then three), in this process, into a
throw-away store; registers both runs as versions of ``mnist``; evaluates a policy's gates on each; approves
and promotes version 1 to production and version 2 to staging; then opens the Registry view and grabs it.
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
POLICY = {"require_approval": True, "checks": {
    "metrics": {"acc": {"min": 0.8}}, "export_parity": {"max_abs_diff": 1e-4, "samples": 64},
    "size": {"max_mb": 5}, "latency": {"max_ms": 10, "runs": 50}, "targets": ["tflite", "coreml"]}}


def build_registry(folder: Path) -> Path:
    from neuralforge_desktop.core import registry, zoo
    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.engine import Trainer
    from neuralforge_desktop.core.training.runner import prepare_run

    path = folder / "store.db"
    policy = registry.parse_policy(POLICY, "policy.yaml")
    with Store(path) as store:
        for epochs in (1, 3):
            graph = zoo.build("mnist-cnn")
            config = TrainConfig(dataset="mnist-10k", epochs=epochs, batch_size=64, limit=2000, seed=0, threads=1,
                                 diagnostics="off")
            run_id, run_dir = prepare_run(graph, config, store, "screenshots")
            if Trainer(graph, config, run_id, run_dir, lambda event: None, store).run().status != "finished":
                raise SystemExit(f"training for {epochs} epoch(s) did not finish")
            version = registry.register(store, run_id, "mnist", "handwritten digits, 28×28 grey")
            report = registry.evaluate_gates(store, version.ref, policy)
            print(f"{version.ref}: gates {'passed' if report.passed else 'failed'}")
        registry.approve(store, "mnist@1", "confusion matrix reviewed; fine for the pilot line")
        registry.promote(store, "mnist@1", "production", comment="pilot line")
        registry.promote(store, "mnist@2", "staging", comment="candidate: three epochs")
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
    from neuralforge_desktop.ui.registry import RegistryView

    view = RegistryView(build_registry(Path(tempfile.mkdtemp(prefix="nf-registry-"))))
    view.resize(*SIZE)
    view.show()
    view.select_version(1)
    settle(app)
    view.grab().save(str(out / "registry.png"))
    print(out / "registry.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
