"""`neuralforge train … --host`, `runs list`, `resume` and `queue run` for a host reached over SSH (the real sshd
on 127.0.0.1; the host's NeuralForge Python is the one running the tests)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.remote.hosts import HostRegistry

from training_graphs import digits_mlp


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _add_host(capsys, sshd) -> None:
    address = ("hosts", "add", "local-ssh", "--host", "127.0.0.1", "--port", str(sshd.port), "--user", sshd.user,
               "--key", str(sshd.client_key))
    status, out, err = cli(capsys, *address)
    assert status == 1 and sshd.host_fingerprint in err  # unknown key: refused, its fingerprint shown
    status, out, err = cli(capsys, *address, "--trust-fingerprint", sshd.host_fingerprint)
    assert status == 0, err
    registry = HostRegistry()
    registry.update(dataclasses.replace(registry.get("local-ssh"), python=sys.executable))


@pytest.mark.slow
def test_train_on_a_host_and_see_it_in_runs_list(capsys, sshd, remote_home, tmp_path: Path) -> None:
    _add_host(capsys, sshd)
    store = str(tmp_path / "store.db")
    status, out, err = cli(capsys, "train", "zoo:mnist-cnn", "--dataset", "mnist-10k", "--epochs", "1",
                           "--limit", "600", "--host", "local-ssh", "--json", "--store", store)
    assert status == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "started" and events[-1]["event"] == "finished"
    run_id = events[-1]["run_id"]

    status, out, err = cli(capsys, "runs", "list", "--json", "--store", store)
    assert status == 0, err
    (row,) = json.loads(out)
    assert row["id"] == run_id and row["status"] == "finished" and row["host"] == "local-ssh"
    assert row["cpu_seconds"] > 0 and row["gpu_seconds"] == 0

    from neuralforge_desktop.core.store.sqlite_store import Store
    from neuralforge_desktop.core.training.coach.stored import load_run_diagnostics

    with Store(store) as local:  # the diagnostics captured on the host arrive with the metrics
        diagnostics = load_run_diagnostics(local, run_id)
        assert diagnostics is not None and diagnostics.layers and diagnostics.inputs
        assert "conv1" in diagnostics.layers[-1].layers
    status, out, err = cli(capsys, "coach", run_id, "--json", "--store", store)
    assert status == 0 and json.loads(out)["status"] == "finished", err

    status, out, err = cli(capsys, "resume", run_id, "--store", store)
    assert status == 2 and "already finished" in err


def test_a_queued_job_for_a_host_runs_there(capsys, sshd, remote_home, tmp_path: Path) -> None:
    _add_host(capsys, sshd)
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    store = str(tmp_path / "store.db")
    status, out, err = cli(capsys, "train", str(graph), "--dataset", "digits", "--epochs", "1", "--limit", "300",
                           "--host", "local-ssh", "--queue", "--store", store)
    assert status == 0, err
    assert "for host local-ssh" in out
    status, out, err = cli(capsys, "queue", "run", "--until-empty", "--interval", "0.2", "--store", store)
    assert status == 0, err
    assert "on local-ssh" in out and "finished" in out
    status, out, err = cli(capsys, "runs", "list", "--json", "--store", store)
    (row,) = json.loads(out)
    assert row["status"] == "finished" and row["host"] == "local-ssh"
