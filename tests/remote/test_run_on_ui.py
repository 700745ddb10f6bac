"""The Train panel's "Run on" offscreen, against the real sshd: a registered host is offered with what its
probe found, and a run started on it from the panel streams its curves here and lands in the store with its
host, like a local run."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.training import TrainPanel

from training_graphs import digits_mlp


def _panel(qtbot: Any, store) -> TrainPanel:
    panel = TrainPanel(DocumentBridge(Document(digits_mlp())), store)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    assert panel.dataset.set_dataset("digits")
    panel.epochs.setValue(2)
    panel.batch_size.setValue(32)
    return panel


@pytest.mark.slow
def test_a_run_started_on_a_host_from_the_train_panel(qtbot: Any, ssh_host, tmp_path) -> None:
    HostRegistry().update(dataclasses.replace(ssh_host, python=sys.executable,
                                              probe={"gpus": [{"name": "NVIDIA A10G", "memory_mb": 23028}]}))
    panel = _panel(qtbot, tmp_path / "store.db")
    panel.run_on.refresh()
    labels = [panel.run_on.itemText(i) for i in range(panel.run_on.count())]
    assert labels == ["This computer", "local-ssh (1 GPU)"]
    panel.run_on.set_host("local-ssh")
    with qtbot.waitSignal(panel.run_started, timeout=10_000) as launched:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    run_id = launched.args[0]
    with qtbot.waitSignal(panel.run_finished, timeout=120_000) as finished:
        pass
    assert finished.args == [run_id, "finished"], (panel.last_error, panel.pump.process._process.error)
    assert panel.curves.point_count("", "train/loss") == 2 and panel.curves.point_count("", "val/acc") == 2
    run = Store(tmp_path / "store.db").get_run(run_id)
    assert run.status == "finished" and run.tags["host"] == "local-ssh" and run.cpu_seconds > 0


def test_a_host_that_cannot_start_the_run_fails_it_with_the_reason(qtbot: Any, ssh_host, tmp_path) -> None:
    panel = _panel(qtbot, tmp_path / "store.db")  # the host was never bootstrapped (no NeuralForge there)
    panel.run_on.refresh()
    assert panel.run_on.itemText(1) == "local-ssh (CPU, not bootstrapped)"
    panel.run_on.set_host("local-ssh")
    with qtbot.waitSignal(panel.run_started, timeout=10_000) as launched:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.run_finished, timeout=60_000) as finished:
        pass
    assert finished.args == [launched.args[0], "failed"]
    assert "hosts bootstrap local-ssh" in panel.status_text() + panel.last_error
    assert Store(tmp_path / "store.db").get_run(launched.args[0]).status == "failed"
