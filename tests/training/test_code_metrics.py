"""A metric name never imports code on its own: built-ins and installed plugins' metrics work as they are,
"module:function" only with --trust-code (a warning names the module, the config records the consent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training import metrics
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import FailedEvent
from neuralforge_desktop.core.training.metrics import MetricError, check_metrics, resolve_metric
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run

from training_graphs import digits_mlp


@pytest.fixture
def code_metric(tmp_path):
    """A module on PYTHONPATH whose import creates a marker file; its metric is always 0.25."""
    folder, marker = tmp_path / "lib", tmp_path / "imported"
    folder.mkdir()
    (folder / "team_metrics.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                           "def quarter(outputs, targets):\n    return 0.25\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}
    return env, marker


def cli(env, cwd, *argv):
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_train_refuses_a_code_metric_without_trust_code(tmp_path, code_metric):
    env, marker = code_metric
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    proc = cli(env, tmp_path, "train", str(graph), "--dataset", "digits", "--epochs", "1", "--metric",
               "team_metrics:quarter", "--store", str(tmp_path / "s.db"))
    assert proc.returncode != 0 and not marker.exists()
    [line] = proc.stderr.strip().splitlines()  # one line, no traceback
    assert line.endswith(
        "metric 'team_metrics:quarter' would import and run code from module 'team_metrics'; pass --trust-code "
        "to allow it (only for code you trust), or install it as a plugin (entry point group neuralforge.metrics)")


@pytest.mark.slow
def test_train_with_trust_code_warns_runs_the_metric_and_records_the_consent(tmp_path, code_metric):
    env, marker = code_metric
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    store = tmp_path / "s.db"
    proc = cli(env, tmp_path, "train", str(graph), "--dataset", "digits", "--epochs", "1", "--limit", "64",
               "--metric", "team_metrics:quarter", "--trust-code", "--json", "--store", str(store))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning: running code from team_metrics: only do this for code you trust" in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    epoch = next(e for e in events if e["event"] == "epoch")
    assert epoch["metrics"]["val/team_metrics:quarter"] == 0.25 and marker.exists()
    run = Store(store).get_run(events[0]["run_id"])
    assert run.params["trust_code"] is True and run.params["metrics"] == ["team_metrics:quarter"]


@pytest.mark.slow
def test_a_run_folder_that_says_trust_code_is_not_enough_for_the_worker(tmp_path, code_metric, monkeypatch):
    env, marker = code_metric
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    cfg = TrainConfig(dataset="digits", epochs=1, limit=64, metrics=["team_metrics:quarter"], trust_code=True)
    store = Store(tmp_path / "s.db")
    run_id, folder = prepare_run(digits_mlp(), cfg, store, "tests")  # e.g. a run folder in a shared store
    events = list(TrainingProcess(folder).start().events())  # started without the user's --trust-code
    assert isinstance(events[-1], FailedEvent) and events[-1].user_error
    assert "--trust-code" in events[-1].error and not marker.exists()


def test_resume_asks_for_trust_code_again(tmp_path, code_metric):
    env, marker = code_metric
    cfg = TrainConfig(dataset="digits", epochs=2, metrics=["team_metrics:quarter"], trust_code=True)
    store = Store(tmp_path / "s.db")
    run_id, folder = prepare_run(digits_mlp(), cfg, store, "tests")
    store.set_status(run_id, "stopped")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "latest.json").write_text('{"tag": "epoch-0001"}')  # as a stopped run leaves it
    proc = cli(env, tmp_path, "resume", run_id, "--store", str(tmp_path / "s.db"))
    [line] = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and "metric 'team_metrics:quarter'" in line and "--trust-code" in line
    assert not marker.exists()


def test_unknown_names_are_refused_with_what_is_known():
    with pytest.raises(MetricError, match=r"metric 'f2': unknown; built-ins and plugins: f1_macro, mae, rmse"):
        check_metrics(["f1_macro", "f2"], trust_code=True)
    with pytest.raises(MetricError, match="--trust-code"):
        resolve_metric("os:getcwd")
    assert check_metrics(["mae", "os.path:join"], trust_code=True) == ["os.path"]
    assert resolve_metric("os.path:join", trust_code=True) is os.path.join


@dataclass
class _EntryPoint:
    name: str
    value: object

    def load(self):
        return self.value


def test_a_plugins_metric_needs_no_trust_code(monkeypatch):
    def median_error(outputs, targets):
        return 0.5

    installed = [_EntryPoint("median_error", median_error), _EntryPoint("team:score", median_error)]
    monkeypatch.setattr(metrics, "entry_points", lambda group, **select: [
        ep for ep in installed if group == metrics.PLUGIN_GROUP and select.get("name", ep.name) == ep.name])
    assert check_metrics(["median_error", "team:score"], trust_code=False) == []
    assert resolve_metric("median_error") is median_error and resolve_metric("team:score") is median_error
