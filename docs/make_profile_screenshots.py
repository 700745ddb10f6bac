"""Render docs/screenshots/profile_picker.png and profile_manager.png: the profile picker, and the main window as
the Manager profile arranges it (over a store of a few teams' runs, with GPU-hours and cost).

    python docs/make_profile_screenshots.py [--out DIR]        # offscreen; a few seconds

Settings (QSettings, the shared settings file) go to a throw-away folder: the user's own choices are untouched.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="nf-profiles-"))
os.environ["XDG_CONFIG_HOME"] = str(_TMP / "config")  # the shared settings file lands here, not in the user's

from PySide6.QtCore import QSettings  # noqa: E402, TID251
from PySide6.QtWidgets import QApplication  # noqa: E402, TID251

from neuralforge_desktop.ui.app import create_application  # noqa: E402
from neuralforge_desktop.ui.theme import apply_theme  # noqa: E402

SIZE = (1440, 900)
# (experiment, project, host, rate per GPU-hour, GPU-hours, user, status, accuracy)
RUNS = (
    ("defect-detector", "vision-line", "gpu-a100-1", 2.9, 6.5, "amira", "finished", 0.962),
    ("defect-detector", "vision-line", "gpu-a100-1", 2.9, 7.2, "amira", "finished", 0.971),
    ("defect-detector", "vision-line", "gpu-a100-2", 2.9, 3.1, "jonas", "running", 0.948),
    ("churn-model", "customer-analytics", "local", 0.0, 0.0, "li", "finished", 0.874),
    ("churn-model", "customer-analytics", "gpu-t4", 0.6, 1.8, "li", "finished", 0.889),
    ("churn-model", "customer-analytics", "gpu-t4", 0.6, 2.2, "li", "failed", 0.0),
    ("support-intent", "nlp-support", "gpu-a10g", 1.2, 4.4, "priya", "finished", 0.913),
    ("support-intent", "nlp-support", "gpu-a10g", 1.2, 5.0, "priya", "finished", 0.927),
    ("support-intent", "nlp-support", "gpu-a10g", 1.2, 2.6, "sam", "stopped", 0.901),
)


def build_store(path: Path) -> Path:
    from neuralforge_desktop.core.store.sqlite_store import Store

    with Store(path) as store:
        for index, (experiment, project, host, rate, hours, user, status, acc) in enumerate(RUNS):
            os.environ["NEURALFORGE_USER"] = user
            tags = {"host": host, "graph": experiment} | ({"cost_per_gpu_hour": rate} if rate else {})
            run = store.create_run(experiment, params={"lr": 3e-4 * (1 + index % 3), "batch_size": 64, "epochs": 10},
                                   tags=tags, environment={}, project=project)
            store.add_usage(run.id, cpu_seconds=hours * 3600 * 4, gpu_seconds=hours * 3600)
            if acc:
                for epoch in range(6 if status == "running" else 10):
                    store.log_metrics(run.id, {"val/acc": acc * (1 - 0.5 * 0.6 ** epoch), "epoch_seconds": hours * 360,
                                               "val/loss": 1.9 * 0.72 ** epoch + (1 - acc),
                                               "train/loss": 2.3 * 0.7 ** epoch + (1 - acc) / 2}, step=epoch)
            if status != "running":
                store.set_status(run.id, status)
    os.environ.pop("NEURALFORGE_USER", None)
    return path


def settle(app: QApplication, rounds: int = 40) -> None:
    for _ in range(rounds):
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
    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.profiles import apply_profile, open_profile_picker
    from neuralforge_desktop.ui.settings import Settings

    settings = Settings(QSettings(str(_TMP / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, recovery_dir=_TMP / "recovery",
                        store_path=build_store(_TMP / "store.db"))
    window.resize(*SIZE)
    window.show()
    settle(app)
    picker = open_profile_picker(window, first_start=True)
    picker.select("manager")
    settle(app)
    picker.grab().save(str(out / "profile_picker.png"))
    print(out / "profile_picker.png", picker.size().toTuple())
    picker.reject()
    apply_profile(window, "manager")
    settle(app)
    window.runs_panel.refresh()
    settle(app, 40)
    from neuralforge_desktop.ui.training.runs_model import RUN_ID_ROLE

    table = window.runs_panel.table
    window.runs_panel.select_runs([table.model().index(1, 0).data(RUN_ID_ROLE)])  # a finished run, in view
    settle(app, 80)
    window.grab().save(str(out / "profile_manager.png"))
    print(out / "profile_manager.png")
    window.files.discard_recovery()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
