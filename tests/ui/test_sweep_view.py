"""The Sweep view on a sweep that really ran (started the way the Sweep dialog starts one: ``neuralforge sweep``
in its own process): its trials in the table, the study's best-so-far values on the curve, and a double-click
opening the trial's run in the Runs dock and its graph in the editor."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.edit.document import Document
from neuralforge_desktop.core.ir.serialize import dumps
from neuralforge_desktop.core.sweeps.follow import SweepLaunch, SweepWatch, list_sweeps, start_sweep
from neuralforge_desktop.core.sweeps.sweep_file import sweep_dir
from neuralforge_desktop.ui.main_window import MainWindow
from neuralforge_desktop.ui.settings import Settings
from neuralforge_desktop.ui.training.sweep_view import SweepChooser, SweepView, number_text

from training_graphs import digits_mlp

pytestmark = pytest.mark.slow
SWEEP_ID = "viewtest"
SPACE = "lr: {log_uniform: [1e-3, 3e-2]}\nfc1.out_features: [16, 32]\n"


class Sweep:
    def __init__(self, store, process) -> None:
        self.store, self.process = store, process

    def finished(self):
        assert self.process.wait(timeout=240) == 0, SweepWatch(self.store, SWEEP_ID).log_tail(20)
        return self.store


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Three trials, two at once, of the digits MLP (one epoch on 200 examples), started as the dialog starts
    one; the first test follows it while it runs, the others wait for its end."""
    folder = tmp_path_factory.mktemp("sweep")
    store = folder / "store.db"
    launch = SweepLaunch(store, SWEEP_ID, "digits", trials=3, parallel=2, pruner="none",
                         train_args=["--epochs", "1", "--limit", "200", "--batch-size", "32"])
    sweep = Sweep(store, start_sweep(launch, dumps(digits_mlp()), SPACE))
    yield sweep
    if sweep.process.poll() is None:
        sweep.process.kill()
        sweep.process.wait()


@pytest.fixture
def finished_sweep(sweep):
    return sweep.finished()


def test_the_view_follows_the_running_sweep_until_it_ends(sweep, qtbot):
    view = SweepView(sweep.store, SWEEP_ID, sweep.process)
    qtbot.addWidget(view)
    states_seen: set[str] = set()

    def all_told() -> bool:
        if view.summary is not None:
            states_seen.update(t["state"] for t in view.summary["trials"])
        return (sweep.process.poll() is not None and view.summary is not None
                and view.summary["counts"] == {"complete": 3})

    qtbot.waitUntil(all_told, timeout=240_000)  # the view's own timer reads the journal as it grows
    assert "running" in states_seen  # it showed trials before they finished (a trial takes seconds, a poll 1 s)
    qtbot.waitUntil(lambda: not view.stop_button.isEnabled(), timeout=5_000)
    assert "the sweep process has ended" in view.status.text()
    assert view.table.rowCount() == 3


def study_trials(store):
    storage = JournalStorage(JournalFileBackend(str(sweep_dir(store, SWEEP_ID) / "study.journal")))
    return optuna.load_study(study_name=SWEEP_ID, storage=storage).get_trials()


def test_the_view_shows_every_trial_and_the_studys_best_so_far(finished_sweep, qtbot):
    view = SweepView(finished_sweep, SWEEP_ID)
    qtbot.addWidget(view)
    trials = study_trials(finished_sweep)
    assert len(trials) == 3 and view.table.rowCount() == 3
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert headers[:6] == ["#", "state", "run", "lr", "fc1.out_features", "val/acc"]
    for trial in trials:
        row = view.trial_row(trial.number)
        assert view.table.item(row, 1).text() == "complete"
        assert view.table.item(row, 2).text() == trial.user_attrs["run_id"]
        assert view.table.item(row, 4).text() == str(trial.params["fc1.out_features"])
        assert view.table.item(row, headers.index("MACs")).text() == number_text(trial.user_attrs["cost"]["macs"])

    done = sorted((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.number)
    expected, best = [], None
    for t in done:
        best = t.values[0] if best is None else max(best, t.values[0])
        expected.append(best)
    x, y = view.best_plot.best.getData()
    assert list(x) == [t.number for t in done]
    assert list(y) == pytest.approx(expected)
    assert y[-1] == pytest.approx(max(t.values[0] for t in done))
    # importance comes from `sweep show --json` in a child process: two settings, three completed trials
    qtbot.waitUntil(lambda: bool(view.summary["importance"]), timeout=60_000)
    assert set(view.summary["importance"]) == {"lr", "fc1.out_features"}
    assert list(view.importance_plot.bars.opts["width"]) == sorted(view.summary["importance"].values())
    assert len(view.parallel_plot.lines) == 3
    assert view.refresh() is False  # the journal did not grow: nothing is read again


def test_double_clicking_a_trial_opens_its_run_and_its_graph(finished_sweep, qtbot, tmp_path, monkeypatch):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, recovery_dir=tmp_path / "recovery", document=Document(digits_mlp()),
                        store_path=finished_sweep)
    monkeypatch.setattr(window.files, "ask_save_changes", lambda: "discard")
    window.show()
    qtbot.waitExposed(window)
    view = window.show_sweeps(SWEEP_ID)
    assert isinstance(view, SweepView) and view.isVisible()
    trial = study_trials(finished_sweep)[1]
    row = view.trial_row(trial.number)
    table = view.table
    rect = table.visualRect(table.model().index(row, 2))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert window.runs_panel.selected_run_ids() == [trial.user_attrs["run_id"]]
    document = window.bridge.document
    assert document.path is not None and document.path.name == f"trial-{trial.number}.nfg"
    assert document.graph.node("fc1").params["out_features"] == trial.params["fc1.out_features"]
    window.close()
    window.deleteLater()


def test_sweep_show_and_the_chooser_list_the_same_sweep(finished_sweep, capsys, qtbot):
    assert main(["sweep", "show", SWEEP_ID, "--json", "--store", str(finished_sweep)]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [p["trial"] for p in data["best_so_far"]] == sorted(t["number"] for t in data["trials"])
    assert [row["sweep"] for row in list_sweeps(finished_sweep)] == [SWEEP_ID]
    assert list_sweeps(finished_sweep)[0]["space"] == ["lr", "fc1.out_features"]
    chooser = SweepChooser(finished_sweep)  # Train ▸ Sweeps…: the sweeps beside the store, newest first
    qtbot.addWidget(chooser)
    assert chooser.list.count() == 1 and chooser.chosen() == SWEEP_ID
