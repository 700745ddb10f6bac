"""The app's whole route: Train ▸ Sweep… starts ``neuralforge sweep`` in its own process and opens a Sweep view
following it; Stop there stops it as Ctrl+C would (the running trials stop at a checkpoint, the sweep says how
to resume it) and the view shows it ended."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.training.sweep_view import SweepView

from training_graphs import digits_mlp

pytestmark = pytest.mark.slow


def test_the_dialog_starts_a_sweep_the_view_follows_and_stop_ends_it_at_a_checkpoint(qtbot, tmp_path):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    store = tmp_path / "store.db"
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()),
                        store_path=store)
    window.show()
    qtbot.waitExposed(window)
    window.selection.set(["fc1"])
    dialog = window.show_sweep_dialog()
    dialog.add_node_field_row("fc1.out_features")
    dialog.dataset.set_dataset("digits")
    dialog.epochs.setValue(20)
    dialog.limit.setValue(200)
    dialog.batch_size.setValue(16)
    dialog.trials.setValue(6)
    dialog.parallel.setValue(2)
    dialog.pruner.setCurrentText("none")
    assert dialog.start(), dialog.message.text()
    process = dialog.process
    view = window.findChild(SweepView)
    assert view is not None and view.process is process and view.watch.sweep_id == dialog.sweep_id
    try:
        def both_training() -> bool:
            trials = (view.summary or {}).get("trials", [])
            return sum(1 for t in trials if t["state"] == "running" and t["run_id"]) == 2

        qtbot.waitUntil(both_training, timeout=120_000)
        assert set(view.summary["trials"][0]["params"]) == {"lr", "fc1.out_features"}
        assert view.stop_button.isEnabled()
        view.stop_button.click()
        assert process.wait(timeout=120) == 130  # as after Ctrl+C
    finally:
        if process.poll() is None:
            process.kill()
    assert f"neuralforge sweep resume {dialog.sweep_id}" in view.watch.log_tail(5)
    qtbot.waitUntil(lambda: not view.stop_button.isEnabled(), timeout=5_000)
    with Store(store) as opened:
        statuses = {run.status for run in opened.list_runs(f"sweep-{dialog.sweep_id}")}
    assert statuses <= {"stopped", "finished"} and "stopped" in statuses
    window.close()
    window.deleteLater()
