"""The Pipeline view shows each stage's status from the store, live, read off the UI thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.ui.pipeline.diagram import StageBox
from neuralforge_desktop.ui.pipeline.view import PipelineView

STAGES = [("train", "train", "f1"), ("validate", "validate", "f2"), ("export", "export", "f3"),
          ("package", "package", "f4")]


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.db") as s:
        yield s


def make_run(store: Store, name: str = "mnist-release") -> str:
    run = store.create_pipeline_run(name=name, file="/home/you/pipeline.yaml", content_sha256="0" * 64, spec={},
                                    work_dir="/home/you/pipelines/x", stages=STAGES)
    return run.id


def test_the_view_shows_each_stage_status_and_follows_changes(qtbot, store: Store) -> None:
    pipeline_id = make_run(store)
    store.update_stage(pipeline_id, 0, status="passed", started=100.0, ended=112.5,
                       outputs={"run_id": "abc123", "val/acc": 0.97})
    store.update_stage(pipeline_id, 1, status="running", started=112.5)
    view = PipelineView(store.path)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: len(view.diagram.boxes) == 4, timeout=10_000)
    assert [b.status for b in view.diagram.boxes] == ["passed", "running", "pending", "pending"]
    assert view.diagram.boxes[0] == StageBox("train", "train", "passed", 12.5, False)
    assert view.diagram.selected == 1  # the running stage is shown until the user picks another
    assert threading.get_ident() not in view.poller.read_in  # the store was read off the UI thread
    assert pipeline_id in view.title.text() and "running" in view.title.text()

    checks = [{"condition": "val/acc >= 0.99", "output": "val/acc", "actual": 0.9712, "passed": False}]
    store.update_stage(pipeline_id, 1, status="failed", ended=130.0, outputs={"val/acc": 0.9712}, checks=checks,
                       message="pass condition val/acc >= 0.99 failed: val/acc = 0.9712")
    store.finish_pipeline_run(pipeline_id, "failed", "stage 'validate' failed")
    view.refresh()
    qtbot.waitUntil(lambda: view.diagram.boxes[1].status == "failed", timeout=10_000)
    details = view.details.toPlainText()
    assert "pass condition val/acc >= 0.99 failed: val/acc = 0.9712" in details and "✗" in details
    assert "failed" in view.title.text()

    qtbot.mouseClick(view.diagram, Qt.MouseButton.LeftButton, pos=view.diagram.box_rect(0).center().toPoint())
    assert view.diagram.selected == 0
    details = view.details.toPlainText()
    assert "run_id" in details and "abc123" in details and "0.97" in details
    qtbot.mouseClick(view.diagram, Qt.MouseButton.LeftButton, pos=view.diagram.box_rect(3).center().toPoint())
    assert "Not run yet" in view.details.toPlainText()


def test_a_new_run_is_followed_and_an_older_one_can_be_chosen(qtbot, store: Store) -> None:
    first = make_run(store, "first")
    store.finish_pipeline_run(first, "passed")
    view = PipelineView(store.path)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.record is not None and view.record.id == first, timeout=10_000)
    second = make_run(store, "second")
    view.refresh()
    qtbot.waitUntil(lambda: view.record.id == second, timeout=10_000)
    assert view.chooser.count() == 3  # "Newest run" and the two runs
    index = view.chooser.findData(first)
    view.chooser.setCurrentIndex(index)
    view.chooser.activated.emit(index)
    qtbot.waitUntil(lambda: view.record.id == first, timeout=10_000)


def test_an_empty_store_says_how_to_start(qtbot, tmp_path: Path) -> None:
    view = PipelineView(tmp_path / "store.db")
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: "No pipeline runs" in view.title.text(), timeout=10_000)
    assert view.diagram.boxes == []


def test_run_file_runs_the_pipeline_in_a_child_process_and_shows_it_live(qtbot, tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not really a model, but a file to package")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text("name: two-packages\nstages:\n"
                        "  - {name: first, kind: package, inputs: {model: model.onnx}, pass: ['files >= 2']}\n"
                        "  - {name: second, kind: package, inputs: {model: missing.onnx}}\n", encoding="utf-8")
    view = PipelineView(tmp_path / "store.db")
    qtbot.addWidget(view)
    process = view.run_file(pipeline)
    assert process.pid != os.getpid() and view.stop_button.isEnabled()
    qtbot.waitUntil(lambda: [b.status for b in view.diagram.boxes] == ["passed", "failed"], timeout=60_000)
    assert process.wait(30) == 1  # the pipeline failed, so its command did
    assert "key 'inputs.model': no such model file" in view.details.toPlainText()
    assert (tmp_path / "pipelines").is_dir()  # its folders are beside the store
    view.refresh()
    assert not view.stop_button.isEnabled()


def test_train_menu_opens_the_pipeline_view_on_the_windows_store(qtbot, store: Store, tmp_path: Path,
                                                                  monkeypatch) -> None:
    import shiboken6
    from PySide6.QtCore import QSettings

    from neuralforge_desktop.ui.main_window import MainWindow
    from neuralforge_desktop.ui.settings import Settings

    pipeline_id = make_run(store)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", store_path=store.path)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    qtbot.addWidget(window)
    window.commands["train.pipelines"].trigger()
    view = window.findChild(PipelineView)
    assert view is not None and view.isVisible()
    qtbot.waitUntil(lambda: view.record is not None and view.record.id == pipeline_id, timeout=10_000)
    view.close()
    assert shiboken6.isValid(window)


def test_a_store_that_cannot_be_read_is_reported_and_polling_goes_on(qtbot, tmp_path: Path) -> None:
    from neuralforge_desktop.ui.pipeline.poller import PipelinePoller

    (tmp_path / "store.db").write_bytes(b"not a database, a file of other bytes" * 100)
    poller = PipelinePoller(tmp_path / "store.db")
    seen: list = []
    poller.snapshot.connect(seen.append)
    poller.request(None)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert seen[0].runs == [] and seen[0].shown is None
    assert "store.db" in seen[0].error or "database" in seen[0].error  # the view shows why
    poller.request(None)  # the poll thread still answers
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    poller.stop()
