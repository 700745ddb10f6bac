"""Stop in the Sweep view stops a sweep the app started as Ctrl+C would: the running trials stop at a
checkpoint, the sweep process says how to resume it, and the view shows it ended."""

from __future__ import annotations

import pytest

from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.sweeps.follow import SweepLaunch, start_sweep
from neuralforge_desktop.ui.training.sweep_view import SweepView

from training_graphs import digits_mlp

pytestmark = pytest.mark.slow


def test_stop_ends_the_sweep_at_a_checkpoint_and_it_can_resume(qtbot, tmp_path):
    store = tmp_path / "store.db"
    launch = SweepLaunch(store, "stopme", "digits", trials=6, parallel=2, pruner="none",
                         train_args=["--epochs", "20", "--limit", "200", "--batch-size", "16"])
    process = start_sweep(launch, dumps(digits_mlp()), "lr: {log_uniform: [1e-3, 3e-2]}\n")
    view = SweepView(store, "stopme", process)
    qtbot.addWidget(view)
    try:
        def both_training() -> bool:
            trials = (view.summary or {}).get("trials", [])
            return sum(1 for t in trials if t["state"] == "running" and t["run_id"]) == 2

        qtbot.waitUntil(both_training, timeout=120_000)
        assert view.stop_button.isEnabled()
        view.stop_button.click()
        assert process.wait(timeout=120) == 130  # as after Ctrl+C
    finally:
        if process.poll() is None:
            process.kill()
    assert "neuralforge sweep resume stopme" in view.watch.log_tail(5)
    qtbot.waitUntil(lambda: not view.stop_button.isEnabled(), timeout=5_000)
    with Store(store) as opened:
        statuses = {run.status for run in opened.list_runs("sweep-stopme")}
    assert statuses <= {"stopped", "finished"} and "stopped" in statuses
