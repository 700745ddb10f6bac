"""Render docs/screenshots/tutorial_step.png, ml101.png and settings.png: the first-steps tutorial half-way
through the MNIST CNN, Help ▸ ML 101 and Edit ▸ Preferences.

    python docs/make_onboarding_screenshots.py [--out DIR]        # offscreen; a few seconds

The tutorial shot is the real main window at 1280×800 after the user placed Input → Conv2D → ReLU → MaxPool2D and
then wired a Linear straight to the pooling (no Flatten): the card shows step 5 with its hint, the palette's
Flatten is outlined, and the shapes are caught part-way along the wires. Settings and hosts live in a throw-away
folder; nothing of the user's is read or written.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QSettings  # noqa: TID251
from PySide6.QtWidgets import QApplication  # noqa: TID251

from neuralforge_desktop.core.edit.edits import Connect
from neuralforge_desktop.core.remote import hosts
from neuralforge_desktop.core.remote.hosts import Host, HostRegistry
from neuralforge_desktop.ui.app import create_application
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.onboarding import open_ml101_view
from neuralforge_desktop.ui.onboarding.preferences import PreferencesDialog
from neuralforge_desktop.ui.settings import Settings

SIZE = (1280, 800)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def make_window(app: QApplication, folder: Path) -> MainWindow:
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=folder / "recovery", store_path=folder / "store.db")
    window.files.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    window.resize(*SIZE)
    window.show()
    settle(app)
    return window


def tutorial_step(app: QApplication, folder: Path, out: Path) -> None:
    window = make_window(app, folder)
    card = window.start_tutorial()
    assert card is not None
    ids: list[str] = []
    for type_name in ("Input", "Conv2d", "ReLU", "MaxPool2d", "Linear"):
        ids.append(window.add_layer(type_name))
        if len(ids) > 1:
            window.edits.push_edit(Connect(ids[-2], "y", ids[-1], "x"))
    window.selection.clear()
    window.view.set_layout_direction("vertical")  # a column, clear of the card at the canvas's right
    window.view.auto_layout()
    settle(app, 0.2)
    window.view.fit_all()
    settle(app)
    content, viewport = window.view.graph_scene.content_rect(), window.view.viewport().rect()
    free = (viewport.width() - card.width() - 24) / 2 / window.view.zoom  # half the canvas left of the card
    window.view.centerOn(QPointF(content.center().x() - free + viewport.width() / 2 / window.view.zoom,
                                 content.center().y()))
    card.play_shapes()
    card.flow.animation.setCurrentTime(int(card.flow.animation.duration() * 0.38))  # the wave part-way
    card.flow.hold()
    card.spotlight.place()
    settle(app)
    card.spotlight.strength = 1.0
    card.spotlight.update()
    settle(app, 0.1)
    window.grab().save(str(out / "tutorial_step.png"))
    window.close()


def ml101(app: QApplication, folder: Path, out: Path) -> None:
    window = make_window(app, folder)
    view = open_ml101_view(window)
    view.list.setCurrentRow(0)
    settle(app)
    view.grab().save(str(out / "ml101.png"))
    view.close()
    window.close()


def preferences(app: QApplication, folder: Path, out: Path) -> None:
    hosts.default_hosts_path = lambda: folder / "hosts.json"  # type: ignore[assignment]
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")  # the example password goes to a throwaway file
    for name, address in (("lab-a100", "a100.example.com"), ("gpu-box", "gpu.example.com")):
        HostRegistry().add(Host(name=name, address=address, user="you"))
    window = make_window(app, folder)
    s = window.settings
    s.default_device, s.mixed_precision, s.default_host = "cuda:0", True, "lab-a100"
    s.mlflow_folder, s.tensorboard_folder = "/home/you/experiments/mlruns", "/home/you/experiments/tensorboard"
    s.store_url = "postgresql://alice:example-password@db.example.com:5432/neuralforge"
    dialog = PreferencesDialog(s, window)
    dialog.show()
    settle(app)
    dialog.grab().save(str(out / "settings.png"))
    dialog.close()
    window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = create_application([])
    for shot in (tutorial_step, ml101, preferences):
        with tempfile.TemporaryDirectory() as folder:
            shot(app, Path(folder), out)
    print(f"wrote tutorial_step.png, ml101.png and settings.png to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
