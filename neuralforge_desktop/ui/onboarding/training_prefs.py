"""Edit ▸ Preferences taking effect in training: the Train panel starts at the preferred device, mixed precision
and remote host, and each run that finishes is also written to the MLflow and TensorBoard folders chosen there.

The export runs in a daemon thread on a store of its own (SQLite connections stay in the thread that made
them), so a long run's thousands of points never hold up the window; its one-line outcome comes back to the UI
thread through a signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from neuralforge_desktop.ui.ui_thread import emitter

if TYPE_CHECKING:
    from neuralforge_desktop.ui.settings import Settings
    from neuralforge_desktop.ui.training import TrainPanel


def panel_device(preferred: str) -> str:
    """The Train panel's Device for a preferred device: a GPU by index runs as "cuda" (the worker takes the
    first GPU it sees; the index is kept in the preferences for when runs can pick one)."""
    return "cuda" if preferred.startswith("cuda") else preferred


def export_run(store_path: Path | None, run_id: str, mlflow: str, tensorboard: str) -> list[str]:
    """Write run ``run_id`` to the MLflow tracking folder and the TensorBoard folder (either may be "");
    returns one line per target, saying where it went or why it could not."""
    from neuralforge_desktop.core.store.sqlite_store import Store

    said: list[str] = []
    store = Store(store_path)
    try:
        run = store.get_run(run_id)
        if mlflow:
            try:
                from neuralforge_desktop.core.interop.mlflow_export import export_to_mlflow

                export_to_mlflow(store, mlflow, [run])
                said.append(f"run {run_id} written to MLflow in {mlflow}")
            except (ImportError, OSError, ValueError) as exc:
                said.append(f"run {run_id} not written to MLflow: {exc}")
        if tensorboard:
            try:
                from neuralforge_desktop.core.interop.tensorboard_export import export_to_tensorboard

                export_to_tensorboard(store, tensorboard, [run])
                said.append(f"run {run_id} written to TensorBoard in {tensorboard}")
            except (ImportError, OSError, ValueError) as exc:
                said.append(f"run {run_id} not written to TensorBoard: {exc}")
    finally:
        store.close()
    return said


class TrackingExport(QObject):
    """Exports each finished run of one Train panel to the folders the preferences name at that moment."""

    exported = Signal(str)  # one line per target, on the UI thread

    def __init__(self, panel: TrainPanel, settings: Settings) -> None:
        super().__init__(panel)
        self.panel = panel
        self.settings = settings
        self.threads: list[threading.Thread] = []
        panel.run_finished.connect(self._on_finished)

    def _on_finished(self, run_id: str, status: str) -> None:
        mlflow, tensorboard = self.settings.mlflow_folder, self.settings.tensorboard_folder
        if status == "crashed" or not (mlflow or tensorboard):
            return
        store_path = self.panel.store().path

        exported = emitter(self, "exported")  # the thread holds this object weakly, never the object itself

        def work() -> None:
            for line in export_run(store_path, run_id, mlflow, tensorboard):
                exported(line)

        thread = threading.Thread(target=work, name=f"export-{run_id}", daemon=True)
        self.threads.append(thread)
        thread.start()


def apply_defaults(panel: TrainPanel, settings: Settings) -> None:
    """Set ``panel``'s device, mixed precision and host to the preferred ones."""
    panel.device.set_device(panel_device(settings.default_device))
    panel.amp = None if settings.mixed_precision else False  # None: on where it helps (a GPU), off on a CPU
    panel.run_on.refresh()
    panel.run_on.set_host(settings.default_host)  # "" is this computer


def apply_training_preferences(panel: TrainPanel, settings: Settings,
                               message: Callable[[str], Any] | None = None) -> TrackingExport:
    """Start ``panel`` at the preferred device, mixed precision and host, and export its finished runs."""
    apply_defaults(panel, settings)
    export = TrackingExport(panel, settings)
    if message is not None:
        export.exported.connect(message)
    return export
