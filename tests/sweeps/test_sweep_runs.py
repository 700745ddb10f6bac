"""Sweeps that train: every trial a finished run in the store with its settings as params, K at once."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.analysis.cost import estimate_cost
from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.training.runner import runs_root

from .helpers import FAST, sweep_json, sweep_runs, write_graph, write_space

pytestmark = pytest.mark.slow


def check_trials_are_runs(data: dict, store: Path) -> dict[str, object]:
    """Every completed trial is a finished run of the sweep's experiment whose params and graph are the
    trial's settings; returns the runs by id."""
    runs = {r.id: r for r in sweep_runs(store, data["experiment"])}
    complete = [t for t in data["trials"] if t["state"] == "complete"]
    assert {t["run_id"] for t in complete} <= set(runs)
    for trial in complete:
        run = runs[trial["run_id"]]
        assert run.status == "finished" and run.tags["sweep"] == data["sweep"]
        assert run.tags["sweep_trial"] == str(trial["number"])
        graph = load_graph(runs_root(store) / run.id / "graph.nfg")
        for name, value in trial["params"].items():
            if "." in name:
                node, field = name.split(".")
                assert run.params[name] == value and graph.node(node).params[field] == value
            else:
                assert run.params[name] == pytest.approx(value)
    return runs


def start_sweep(tmp_path: Path, store: Path, *args: str) -> subprocess.Popen:
    """``neuralforge sweep`` in its own process (to be killed or interrupted), its progress on stdout."""
    argv = [sys.executable, "-m", "neuralforge_desktop.cli.main", "sweep", str(write_graph(tmp_path)), *FAST,
            "--space", str(tmp_path / "space.yaml"), "--parallel", "2", "--pruner", "none", "--store", str(store),
            *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def the_sweep_id(store: Path) -> str:
    (sweep_id,) = [p.name for p in (store.parent / "sweeps").iterdir()]
    return sweep_id


def test_a_random_sweep_killed_with_sigkill_resumes_without_repeating_finished_trials(tmp_path, capsys):
    store = tmp_path / "store.db"
    write_space(tmp_path, "lr: {log_uniform: [1e-3, 3e-2]}\nfc1.out_features: [16, 32]\n"
                          "drop.p: {uniform: [0.0, 0.3]}\n")
    sweep = start_sweep(tmp_path, store, "--trials", "6", "--sampler", "random")
    assert sweep.stdout is not None
    finished_before = 0
    for line in sweep.stdout:  # two trials finish, then the sweep process dies without a word
        finished_before += " complete: " in line
        if finished_before == 2:
            break
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait()
    sweep.stdout.close()
    assert 2 <= len([r for r in sweep_runs(store, f"sweep-{the_sweep_id(store)}") if r.status == "finished"]) < 6

    data = sweep_json(capsys, ["sweep", "resume", the_sweep_id(store), "--store", str(store)])
    assert data["counts"]["complete"] == 6 and set(data["counts"]) <= {"complete", "interrupted"}
    runs = check_trials_are_runs(data, store)
    finished = [r for r in runs.values() if r.status == "finished"]
    assert len(finished) == 6  # none trained twice: the two finished before the kill were kept
    assert {r.id for r in finished} == {t["run_id"] for t in data["trials"] if t["state"] == "complete"}
    assert data["best"]["run_id"] in runs
    assert data["best"]["value"] == max(t["value"] for t in data["trials"] if t["state"] == "complete")
    assert set(data["importance"]) == {"lr", "fc1.out_features", "drop.p"}
    assert len(data["parallel_coordinates"]["rows"]) == 6
    assert data["pareto_front"] and all(t["cost"]["macs"] > 0 for t in data["pareto_front"])


def test_a_grid_sweep_stopped_with_ctrl_c_continues_its_trials_and_trains_each_point_once(tmp_path, capsys):
    store = tmp_path / "store.db"
    write_space(tmp_path, "batch_size: [16, 32]\nfc1.out_features: {int: [8, 10]}\n")
    sweep = start_sweep(tmp_path, store, "--trials", "10", "--sampler", "grid")
    assert sweep.stdout is not None
    started = 0
    for line in sweep.stdout:
        started += " started: run " in line
        if started == 2:  # both workers are starting: Ctrl+C stops them at their first step, checkpointed
            break
    sweep.send_signal(signal.SIGINT)
    rest = sweep.stdout.read()
    assert sweep.wait() == 130, rest
    assert f"neuralforge sweep resume {the_sweep_id(store)}" in rest
    experiment = f"sweep-{the_sweep_id(store)}"
    assert {r.status for r in sweep_runs(store, experiment)} <= {"stopped", "finished"}

    data = sweep_json(capsys, ["sweep", "resume", the_sweep_id(store), "--store", str(store)])
    assert data["counts"] == {"complete": 6}  # the grid has 6 points: not 10 trials
    runs = check_trials_are_runs(data, store)
    assert len(runs) == 6  # the stopped trials went on in their own runs
    points = {(r.params["batch_size"], r.params["fc1.out_features"]) for r in runs.values()}
    assert points == set(itertools.product([16, 32], [8, 9, 10]))


def test_a_budgeted_search_never_trains_a_variant_over_budget(tmp_path, capsys):
    store = tmp_path / "store.db"
    # fc1 of 8 or 16 units fits 2,000 params; 64 and 128 do not.
    space = write_space(tmp_path, "fc1.out_features: [8, 16, 64, 128]\nlr: {log_uniform: [1e-3, 3e-2]}\n")
    data = sweep_json(capsys, ["sweep", str(write_graph(tmp_path)), *FAST, "--space", str(space), "--trials", "3",
                               "--parallel", "2", "--max-params", "2000", "--store", str(store)])
    assert data["sampler"] == "nsga2" and data["objectives"] == ["val/acc", "params"]
    assert data["counts"]["complete"] == 3
    runs = check_trials_are_runs(data, store)
    assert len(runs) == 3
    for run in runs.values():  # from the store: the graph each run trained, costed again
        assert run.params["cost/params"] <= 2000
        assert estimate_cost(load_graph(runs_root(store) / run.id / "graph.nfg")).params <= 2000
    for trial in data["trials"]:
        if trial["state"] == "skipped":
            assert trial["run_id"] is None and "over budget" in trial["reason"]
    assert data["pareto_front"]
    # Any point of the front opens as a graph: the trial's architecture, written as a graph file.
    point = data["pareto_front"][-1]
    out = tmp_path / "point.nfg"
    assert main(["sweep", "show", data["sweep"], "--trial", str(point["number"]), "-o", str(out),
                 "--store", str(store)]) == 0
    assert load_graph(out).node("fc1").params["out_features"] == point["params"]["fc1.out_features"]
    capsys.readouterr()
    assert main(["sweep", "list", "--store", str(store), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["sweep"] == data["sweep"] and listed["counts"]["complete"] == 3


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    store = tmp_path / "store.db"
    space = write_space(tmp_path, "fc1.out_features: [16, 32]\n")
    data = sweep_json(capsys, ["sweep", str(write_graph(tmp_path)), *FAST, "--space", str(space), "--trials", "2",
                               "--parallel", "2", "--objective", "val/nothing:max", "--store", str(store)])
    assert data["counts"] == {"failed": 2} and data["best"] is None
    for trial in data["trials"]:
        assert "the run logged no val/nothing (its metrics:" in trial["reason"] and "val/acc" in trial["reason"]
