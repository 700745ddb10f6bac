"""The training UI offscreen: the train panel runs real workers on the built-in digits set; the runs panel,
curves and confusion matrix read what they left in the store."""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QObject, Qt, QThread
from PySide6.QtWidgets import QApplication

from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.datasets.types import DatasetInfo
from neuralforge_desktop.core.training.events import EpochEvent, Event, FinishedEvent, StartedEvent, StepEvent
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.theme import palette
from neuralforge_desktop.ui.training import (
    ConfusionMatrixWidget,
    CurvesWidget,
    EventPump,
    RunsPanel,
    TrainPanel,
    load_confusion,
)
from neuralforge_desktop.ui.training.runs_model import COLUMNS
from neuralforge_desktop.ui.training.train_form import DecadeSpinBox

WORKER_TIMEOUT_MS = 120_000  # a worker imports torch and loads the data before its first step
SHOTS = Path(tempfile.gettempdir())  # screenshots for a person to look at


def digits_graph(name: str = "digits-mlp") -> Any:
    """Flatten → Linear 32 → ReLU → Linear 10 → Output, with a CrossEntropyLoss fed by a target Input."""
    c = Composer(name)
    x = c.input("image", [1, 8, 8])
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc1", out_features=32)
    x = c.layer("ReLU", x, "relu")
    logits = c.layer("Linear", x, "fc2", out_features=10)
    c.output(logits, "logits")
    label = c.input("label", [], dtype="int64", role="target")
    c.layer("CrossEntropyLoss", {"input": logits, "target": label}, "loss")
    return c.done()


@pytest.fixture
def dark(qapp: QApplication) -> Any:
    """The dark look the app ships, for the screenshots."""
    before = qapp.palette()
    p = palette("dark")
    qapp.setPalette(p)
    yield p
    qapp.setPalette(before)


def make_panel(qtbot: Any, store: Path, graph: Any = None, **settings: Any) -> TrainPanel:
    panel = TrainPanel(DocumentBridge(Document(graph or digits_graph())), store)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    assert panel.dataset.set_dataset("digits")
    panel.batch_size.setValue(settings.get("batch_size", 32))
    panel.lr.setValue(settings.get("lr", 3e-3))
    panel.epochs.setValue(settings.get("epochs", 3))
    panel.seed.setValue(settings.get("seed", 7))
    return panel


def add_fake_run(store: Store, name: str, lr: float, final_acc: float, status: str = "finished",
                 epochs: int = 10, experiment: str = "sweep", tags: dict[str, str] | None = None) -> str:
    """A run as a worker would leave it (metrics per epoch, a step-loss series, checksum, status)."""
    run = store.create_run(experiment, name, params={"lr": lr, "epochs": epochs, "optimizer": "adam",
                                                     "dataset": "digits"}, tags=tags or {}, environment={})
    steps = np.arange(1, epochs + 1) * 50
    rate = 1.0 + math.log10(lr / 1e-4)  # higher learning rates converge faster
    acc = final_acc - (final_acc - 0.1) * np.exp(-rate * np.arange(1, epochs + 1) / epochs * 3)
    loss = 2.3 * np.exp(-rate * np.arange(1, epochs + 1) / epochs * 2) + 0.05
    store.log_series(run.id, "val/acc", steps, acc)
    store.log_series(run.id, "val/loss", steps, loss * 1.1)
    store.log_series(run.id, "train/loss", steps, loss)
    store.log_series(run.id, "epoch_seconds", steps, np.full(epochs, 0.5))
    store.update_run(run.id, checksum=hashlib.sha256(name.encode()).hexdigest())
    store.set_status(run.id, status)  # type: ignore[arg-type]
    return run.id


# -- the train panel, end to end --------------------------------------------------------------------------
@pytest.mark.slow
def test_train_panel_trains_digits_and_the_runs_panel_shows_the_run(qtbot: Any, tmp_path: Path, dark: Any) -> None:
    store_path = tmp_path / "store.db"
    panel = make_panel(qtbot, store_path)
    assert panel.pause_button.isEnabled() is False and panel.stop_button.isEnabled() is False
    events: list[Event] = []
    started = time.perf_counter()
    with qtbot.waitSignal(panel.run_started, timeout=10_000) as launched:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    run_id = launched.args[0]
    assert panel.pump is not None
    panel.pump.event.connect(events.append)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    with qtbot.waitSignal(panel.run_finished, timeout=WORKER_TIMEOUT_MS) as finished:
        pass
    assert finished.args == [run_id, "finished"], panel.last_error
    print(f"\ndigits run of the train panel: {time.perf_counter() - started:.1f} s")

    terminal = panel.pump.terminal
    assert isinstance(terminal, FinishedEvent) and terminal.best is not None
    best = terminal.best
    assert best > 0.8
    assert f"best val acc {best:.2%}" in panel.status_text()
    assert panel.status_text().startswith("Finished") and "3/3 epochs" in panel.status_text()
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()

    curves = panel.curves
    assert curves.point_count("", "train/loss_step") > 5
    assert curves.point_count("", "val/acc") == 3 and curves.point_count("", "train/loss") == 3
    steps, values = curves.series_data("", "val/acc")
    assert values[-1] == pytest.approx(best * 100) and list(steps) == sorted(steps)
    assert curves.series_count() == 5

    panel.grab().save(str(SHOTS / "nf_train_panel.png"))

    # Two earlier runs of a sweep, then the runs panel over the same store.
    store = Store(store_path)
    other = [add_fake_run(store, "lr-0.01", 0.01, 0.91), add_fake_run(store, "lr-0.0003", 3e-4, 0.83)]
    store.close()
    runs = RunsPanel(store_path)
    qtbot.addWidget(runs)
    runs.resize(900, 700)
    runs.show()
    assert set(runs.visible_run_ids()) == {run_id, *other}
    assert runs.cell_text(run_id, "status") == "finished"
    assert runs.cell_text(run_id, "val acc") == f"{best:.2%}"
    assert runs.cell_text(run_id, "epochs") == "3/3"
    assert len(runs.cell_text(run_id, "checksum")) == 12
    assert not runs.auto_refreshing  # nothing is running

    runs.select_runs([*other, run_id])
    assert len(runs.curves.runs()) == 3 and runs.curves.series_count() == 6
    conf = runs.confusion.confusion  # the current run is the last selected: the real one
    assert conf is not None and runs.confusion.matrix_shape() == (10, 10)
    started_event = next(e for e in events if isinstance(e, StartedEvent))
    assert sum(map(sum, conf.matrix)) == started_event.dataset["val"]
    assert conf.matrix == terminal.final["confusion_matrix"]
    assert conf.class_names == [str(d) for d in range(10)]
    runs.grab().save(str(SHOTS / "nf_runs_panel.png"))
    runs.tabs.setCurrentIndex(1)
    runs.grab().save(str(SHOTS / "nf_runs_confusion.png"))


@pytest.mark.slow
def test_pause_resume_then_stop_mid_run(qtbot: Any, tmp_path: Path, dark: Any) -> None:
    store_path = tmp_path / "store.db"
    panel = make_panel(qtbot, store_path, epochs=60)
    with qtbot.waitSignal(panel.run_started, timeout=10_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.curves.point_count("", "train/loss_step") > 0, timeout=WORKER_TIMEOUT_MS)
    assert panel.state == "running" and panel.pause_button.isEnabled()

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=20_000)
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    assert panel.status_text().startswith("Epoch ") and "samples/s" in panel.status_text()
    panel.grab().save(str(SHOTS / "nf_train_panel_paused.png"))
    assert Store(store_path).get_run(panel.run_id or "").status == "paused"
    held = panel.curves.point_count()

    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.curves.point_count() > held, timeout=20_000)
    with qtbot.waitSignal(panel.run_finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    run_id = panel.run_id
    assert finished.args == [run_id, "stopped"]
    assert panel.status_text().startswith("Stopped")
    run = Store(store_path).get_run(run_id or "")
    assert run.status == "stopped"
    assert (store_path.parent / "runs" / run.id / "checkpoints").is_dir()  # resumable


# -- start refused, worker crash ----------------------------------------------------------------------------
def test_start_refuses_a_graph_that_cannot_train_and_names_the_problem(qtbot: Any, tmp_path: Path) -> None:
    from neuralforge_desktop.core import zoo

    panel = make_panel(qtbot, tmp_path / "store.db", graph=zoo.build("mnist-cnn"))
    assert panel.start() is False
    assert panel.message.isVisible()
    assert "Input 'image' has shape (1, 28, 28) but dataset digits gives (1, 8, 8)" in panel.last_error
    assert panel.run_id is None and panel.state == "idle"

    panel._bridge.set_document(Document(Graph("empty")))
    assert panel.start() is False and "training needs a data Input" in panel.last_error

    panel._bridge.set_document(Document(digits_graph()))
    panel.lr.setValue(0.0)  # clamped to the spin box minimum, never 0
    panel.batch_size.setValue(0)
    assert panel.batch_size.value() == 1 and panel.lr.value() > 0


def test_worker_that_dies_without_reporting_is_recorded_as_crashed(qtbot: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralforge_desktop.core.training import runner

    class DyingProcess:
        def __init__(self, run_dir: Path, resume: bool = False) -> None:
            self.run_id = json.loads((Path(run_dir) / "run.json").read_text())["run_id"]

        def start(self) -> DyingProcess:
            return self

        def events(self) -> Any:
            yield StartedEvent(run_id=self.run_id, device="cpu", params=1, epochs=3, steps_per_epoch=10,
                               dataset={"name": "digits", "train": 1, "val": 1})
            yield StepEvent(run_id=self.run_id, epoch=1, step=1, loss=2.0, lr=0.1, samples_per_s=10.0)

        def wait(self, timeout: float | None = None) -> int:
            return -9

        def stderr_tail(self, lines: int = 20) -> str:
            return "Killed"

    monkeypatch.setattr(runner, "TrainingProcess", DyingProcess)
    panel = make_panel(qtbot, tmp_path / "store.db")
    with qtbot.waitSignal(panel.run_finished, timeout=10_000) as finished:
        assert panel.start()
    assert finished.args[1] == "crashed"
    assert "exited (-9) without finishing" in panel.last_error and panel.message.toolTip() == "Killed"
    assert Store(tmp_path / "store.db").get_run(finished.args[0]).status == "crashed"
    assert panel.start_button.isEnabled()


# -- pieces ------------------------------------------------------------------------------------------------
def test_panel_defaults_and_no_torch_import(tmp_path: Path) -> None:
    code = f"""
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.ui.bridge import DocumentBridge
from neuralforge_desktop.ui.theme import palette
from neuralforge_desktop.ui.training import TrainPanel, RunsPanel
panel = TrainPanel(DocumentBridge(Document()), {str(tmp_path / 'store.db')!r})
panel.show(); app.processEvents()
runs = RunsPanel({str(tmp_path / 'store.db')!r})
c = panel.config()
print((c.epochs, c.batch_size, c.lr, c.optimizer, c.schedule, c.weight_decay, c.seed, c.device, c.limit))
print('torch' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "(3, 64, 0.001, 'adam', 'none', 0.0, 0, 'auto', None)"
    assert lines[1] == "False"


def test_unavailable_datasets_are_disabled_with_how_to_get_them(qtbot: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralforge_desktop.core.training import datasets

    fake = [DatasetInfo("digits", "Digits (8×8)", "classification", "8×8 digits", True, "sklearn", "installed",
                        1797, (1, 8, 8), 10),
            DatasetInfo("cifar-10", "CIFAR-10", "classification", "tiny images", False, "web",
                        "apt-get install dataset-cifar10", 60000, (3, 32, 32), 10)]
    monkeypatch.setattr(datasets, "list_datasets", lambda: fake)
    panel = TrainPanel(DocumentBridge(Document(digits_graph())), tmp_path / "store.db")
    qtbot.addWidget(panel)
    model = panel.dataset.model()
    row = panel.dataset.findData("cifar-10")
    item = model.item(row)
    assert not item.isEnabled() and "apt-get install dataset-cifar10" in item.toolTip()
    assert panel.dataset.set_dataset("cifar-10") is False and panel.dataset.dataset() == "digits"
    assert [panel.dataset.itemText(r) for r in range(model.rowCount())][-2:] == ["Browse file…", "Browse folder…"]
    folder = tmp_path / "my-images"
    folder.mkdir()
    assert panel.dataset.set_dataset(str(folder)) and panel.dataset.dataset() == str(folder)
    assert panel.config().dataset == str(folder)


@pytest.mark.slow
def test_device_combo_asks_a_child_process_about_cuda(qtbot: Any) -> None:
    from neuralforge_desktop.ui.training.train_form import DeviceCombo

    combo = DeviceCombo()
    qtbot.addWidget(combo)
    assert combo.cuda_available is None  # not asked at construction
    answer = combo.wait_for_check()
    import torch

    assert answer is torch.cuda.is_available()
    if not answer:
        assert not combo.model().item(2).isEnabled()
        combo.setCurrentIndex(2)  # e.g. by keyboard
        assert combo.device() == "auto"


@pytest.mark.slow
def test_the_cuda_probe_never_imports_a_torch_py_from_the_working_directory(qtbot: Any, tmp_path: Path,
                                                                             monkeypatch: Any) -> None:
    from neuralforge_desktop.ui.training.train_form import DeviceCombo

    marker = tmp_path / "ran"
    (tmp_path / "torch.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                       "class cuda:\n    is_available = staticmethod(lambda: True)\n")
    monkeypatch.chdir(tmp_path)
    combo = DeviceCombo()
    qtbot.addWidget(combo)
    answer = combo.wait_for_check()
    import torch

    assert not marker.exists()
    assert answer is torch.cuda.is_available()


def test_decade_spin_box_steps_along_1_3_10() -> None:
    box = DecadeSpinBox(1e-3, minimum=1e-7)
    assert box.text() == "0.001"
    box.stepBy(1)
    assert box.value() == pytest.approx(3e-3)
    box.stepBy(1)
    assert box.value() == pytest.approx(1e-2)
    box.stepBy(-3)
    assert box.value() == pytest.approx(3e-4)
    assert box.valueFromText("3e-5") == pytest.approx(3e-5)
    decay = DecadeSpinBox(0.0, minimum=1e-6, zero_ok=True)
    decay.stepBy(1)
    assert decay.value() == pytest.approx(1e-6)
    decay.stepBy(-1)
    assert decay.value() == 0.0


def test_event_pump_delivers_every_event_on_the_ui_thread_then_finishes(qtbot: Any, qapp: QApplication) -> None:
    class SlowProcess:
        def events(self) -> Any:
            for i in range(200):
                if i % 50 == 0:
                    time.sleep(0.01)
                yield StepEvent(step=i, loss=1.0 / (i + 1))
            yield FinishedEvent(best=0.5)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    pump = EventPump(SlowProcess())
    seen: list[tuple[int, bool]] = []
    order: list[str] = []
    pump.event.connect(lambda e: (seen.append((getattr(e, "step", -1), QThread.currentThread() is qapp.thread())),
                                  order.append("event")))
    pump.finished.connect(lambda code: order.append(f"finished {code}"))
    with qtbot.waitSignal(pump.finished, timeout=10_000):
        pump.start()
    assert [s for s, _ in seen] == [*range(200), -1] and all(ui for _, ui in seen)
    assert order[-1] == "finished 0" and order.count("event") == 201
    assert isinstance(pump.terminal, FinishedEvent) and pump.terminal.best == 0.5 and pump.wait(2000)
    assert isinstance(pump, QObject)


def test_curves_stay_fast_at_200k_points(qtbot: Any, dark: Any) -> None:
    curves = CurvesWidget()
    qtbot.addWidget(curves)
    curves.resize(900, 600)
    curves.show()
    n = 200_000
    steps = np.arange(n)
    rng = np.random.default_rng(0)
    curves.add_series("run-a", "train/loss", steps, np.exp(-steps / 5e4) + 0.05 * rng.random(n))
    curves.add_series("run-a", "val/acc", steps, 1 - np.exp(-steps / 5e4))
    curves.add_series("run-b", "train/loss", steps, np.exp(-steps / 3e4) + 0.05 * rng.random(n))
    curves.flush()
    items = {key: s.item for key, s in curves._series.items()}
    for k in range(100):  # streaming: chunks to an overlay and step events to the live series
        first = n + k * 100
        curves.append("run-a", "train/loss", np.arange(first, first + 100), rng.random(100))
        curves.add_event(StepEvent(step=first, loss=0.5))
        if k % 10 == 0:
            curves.add_event(EpochEvent(epoch=k // 10 + 1, step=first, metrics={"train/loss": 0.4, "val/acc": 0.9}))
            curves.flush()
    curves.flush()
    assert curves.point_count("run-a", "train/loss") == n + 10_000
    assert curves.point_count("", "train/loss_step") == 100
    assert all(curves._series[key].item is item for key, item in items.items())  # updated in place
    assert len(curves._series["run-a", "train/loss"].buffer.x) == 262_144  # grown by doubling
    curves.grab()  # first paint builds caches
    times = []
    for _ in range(7):
        t = time.perf_counter()
        curves.grab()
        times.append(time.perf_counter() - t)
    print(f"\nrepaint with {curves.point_count():,} points: median {statistics.median(times) * 1000:.1f} ms, "
          f"best {min(times) * 1000:.1f} ms")
    assert statistics.median(times) < 0.05
    curves.clear()
    assert curves.series_count() == 0 and curves.point_count() == 0


def test_runs_filter_and_sort(qtbot: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    a = add_fake_run(store, "baseline", 1e-3, 0.95, tags={"note": "keep"})
    b = add_fake_run(store, "fast", 1e-2, 0.90, status="stopped")
    c = add_fake_run(store, "slow", 3e-4, 0.70, status="failed", experiment="other")
    store.close()
    runs = RunsPanel(tmp_path / "store.db")
    qtbot.addWidget(runs)

    def shown(text: str) -> set[str]:
        runs.set_filter(text)
        return set(runs.visible_run_ids())

    assert shown("") == {a, b, c}
    assert shown("status:finished") == {a}
    assert shown("lr=0.001") == {a} and shown("lr=1e-3") == {a}
    assert shown("lr!=0.001") == {b, c}
    assert shown("val/acc>0.8") == {a, b}
    assert shown("val/acc>0.8 status:stop") == {b}
    assert shown("experiment:other") == {c}
    assert shown("tag:keep") == {a} and shown("note=keep") == {a}
    assert shown("slo") == {c} and shown("nothing-like-this") == set()
    assert runs.count_label.text() == "0 of 3 runs"
    runs.set_filter("")
    runs.table.sortByColumn(COLUMNS.index("val acc"), Qt.SortOrder.DescendingOrder)
    assert runs.visible_run_ids() == [a, b, c]
    runs.table.sortByColumn(COLUMNS.index("name"), Qt.SortOrder.AscendingOrder)
    assert runs.visible_run_ids() == [a, b, c]
    runs.table.sortByColumn(COLUMNS.index("val acc"), Qt.SortOrder.AscendingOrder)
    assert runs.visible_run_ids() == [c, b, a]

    runs.select_runs([b])
    assert runs.selected_run_ids() == [b] and runs.confusion.confusion is None  # stopped: no matrix
    runs.refresh()
    assert runs.selected_run_ids() == [b]  # a refresh keeps the selection


def test_confusion_matrix_from_the_end_of_a_long_events_log(qtbot: Any, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    log = tmp_path / "runs" / "r1" / "events.jsonl"
    log.parent.mkdir(parents=True)
    matrix = [[(50 if i == j else (i * j) % 3) for j in range(10)] for i in range(10)]
    with log.open("w") as out:
        for step in range(30_000):
            out.write(json.dumps({"event": "step", "step": step, "loss": 1.0}, separators=(",", ":")) + "\n")
        final = {"split": "test", "acc": 0.9, "confusion_matrix": matrix, "class_names": list("abcdefghij")}
        out.write(json.dumps({"event": "finished", "best": 0.9, "final": final}, separators=(",", ":")) + "\n")
    conf = load_confusion(store, "r1")
    assert conf is not None and conf.matrix == matrix and conf.class_names == list("abcdefghij")
    assert conf.split == "test" and math.isclose(conf.accuracy or 0, 0.9)
    assert load_confusion(store, "missing") is None
    widget = ConfusionMatrixWidget()
    qtbot.addWidget(widget)
    widget.resize(500, 460)
    widget.set_confusion(conf)
    assert widget.matrix_shape() == (10, 10)
    image = widget.grab().toImage()
    assert image.width() == 500  # painted without errors


def test_runs_panel_refreshes_itself_while_a_run_is_active(qtbot: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    run = store.create_run("live", "training-now", params={"epochs": 5}, environment={})  # owned by us: alive
    store.log_series(run.id, "train/loss", [10, 20], [2.0, 1.5])
    runs = RunsPanel(tmp_path / "store.db")
    qtbot.addWidget(runs)
    assert runs.auto_refreshing and runs.cell_text(run.id, "status") == "running"
    runs.select_runs([run.id])
    item = runs.curves._series[runs.curves.runs()[0], "train/loss"].item
    assert runs.curves.point_count() == 2

    store.log_series(run.id, "train/loss", [30], [1.2])
    store.log_series(run.id, "val/acc", [30], [0.7])
    qtbot.waitUntil(lambda: runs.curves.point_count() == 4, timeout=5_000)
    assert runs.curves._series[runs.curves.runs()[0], "train/loss"].item is item  # updated in place
    store.set_status(run.id, "finished")
    qtbot.waitUntil(lambda: runs.cell_text(run.id, "status") == "finished", timeout=5_000)
    assert not runs.auto_refreshing and runs.selected_run_ids() == [run.id]
    store.close()
