"""train / runs / resume / demo from the command line, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neuralforge_desktop.core.ir.serialize import save_graph

from training_graphs import digits_mlp


def cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuralforge_desktop", *argv], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_train_json_events_then_runs_list_and_show(tmp_path):
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    store = str(tmp_path / "store.db")
    proc = cli("train", str(graph), "--dataset", "digits", "--epochs", "2", "--seed", "3", "--json",
               "--store", store, "--experiment", "cli")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "started" and events[-1]["event"] == "finished"
    run_id = events[0]["run_id"]
    listed = json.loads(cli("runs", "list", "--json", "--store", store).stdout)
    assert listed[0]["id"] == run_id and listed[0]["status"] == "finished"
    assert len(listed[0]["checksum"]) == 64 and listed[0]["environment"]["python"].startswith("3.11")
    shown = cli("runs", "show", run_id, "--store", store)
    assert "val/acc" in shown.stdout and "model.safetensors" in shown.stdout


@pytest.mark.slow
def test_train_progress_output_and_final_line(tmp_path):
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    proc = cli("train", str(graph), "--dataset", "digits", "--epochs", "1", "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert "finished: best val accuracy" in last and "checksum" in last


@pytest.mark.slow
def test_train_refuses_a_graph_that_does_not_fit(tmp_path):
    proc = cli("train", "zoo:mnist-cnn", "--dataset", "digits", "--epochs", "1", "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 1
    assert "Input 'image' has shape (1, 28, 28) but dataset digits gives (1, 8, 8)" in proc.stderr
    assert "no runs in" in cli("runs", "list", "--store", str(tmp_path / "s.db")).stdout  # refused before a run


def test_resume_refuses_finished_and_unknown_runs(tmp_path):
    store = str(tmp_path / "s.db")
    proc = cli("resume", "nope", "--store", store)
    assert proc.returncode == 2 and "no run 'nope'" in proc.stderr


@pytest.mark.slow
def test_demo_builds_summarises_trains_and_lists_the_run(tmp_path):
    proc = cli("demo", "--out", str(tmp_path / "demo"), "--store", str(tmp_path / "store.db"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "421,642" in out  # the summary
    assert "finished: best val accuracy" in out
    assert (tmp_path / "demo" / "mnist-cnn.nfg").exists() and (tmp_path / "demo" / "mnist_cnn_model.py").exists()
    assert "demo" in out.split("5. The run")[1]


def test_datasets_list_says_where_each_comes_from():
    proc = cli("datasets", "list", "--json")
    data = {d["name"]: d for d in json.loads(proc.stdout)}
    assert data["mnist-10k"]["available"]
    assert "apt-get install dataset-fashion-mnist" in data["fashion-mnist"]["how_to_get"] or \
        data["fashion-mnist"]["available"]
