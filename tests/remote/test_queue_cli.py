"""The queue from the command line, with a real local training: `train --queue/--priority` records a queued run,
`queue list|priority|cancel` change the order, `queue run --until-empty` trains what is left on this machine
(a real worker process) and the job and its run end finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.serialize import save_graph
from neuralforge_desktop.core.remote.queue import queue_training
from neuralforge_desktop.core.store import Store
from neuralforge_desktop.core.training.config import TrainConfig

from training_graphs import digits_mlp


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_queue_reorder_cancel_and_dispatch_a_real_local_run(capsys, tmp_path: Path, remote_home: Path) -> None:
    graph = tmp_path / "digits.nfg"
    save_graph(digits_mlp(), graph)
    store = str(tmp_path / "store.db")
    train = ("train", str(graph), "--dataset", "digits", "--epochs", "1", "--limit", "200", "--store", store)
    for extra in (("--queue", "--name", "low"), ("--priority", "5", "--name", "high"),
                  ("--queue", "--name", "dropped")):
        status, out, err = cli(capsys, *train, *extra)
        assert status == 0, err
        assert "queued as job" in out and "for this machine" in out

    status, out, _ = cli(capsys, "queue", "list", "--json", "--store", store)
    jobs = json.loads(out)
    assert [j["run_name"] for j in jobs] == ["high", "low", "dropped"]
    assert [j["priority"] for j in jobs] == [5, 0, 0] and {j["state"] for j in jobs} == {"queued"}
    assert jobs[0]["note"] == "room on this machine: starts when `neuralforge queue run` runs"
    assert jobs[1]["note"] == "waits for 1 free slot on this machine (0 free)"
    ids = {j["run_name"]: j for j in jobs}
    status, out, _ = cli(capsys, "runs", "list", "--status", "queued", "--store", store)
    assert status == 0 and out.count(" queued ") == 3  # queued runs show in the runs list at once

    status, out, _ = cli(capsys, "queue", "priority", str(ids["low"]["id"]), "9", "--store", store)
    assert status == 0 and "0 waiting jobs before it" in out
    for name in ("dropped", "high"):  # by run id, and by job number
        ref = ids[name]["run_id"] if name == "dropped" else str(ids[name]["id"])
        status, out, _ = cli(capsys, "queue", "cancel", ref, "--store", store)
        assert status == 0 and f"job {ids[name]['id']} cancelled" in out
    status, _, err = cli(capsys, "queue", "cancel", str(ids["high"]["id"]), "--store", store)
    assert status == 1 and "has already ended: cancelled" in err
    status, _, err = cli(capsys, "queue", "priority", "12345", "1", "--store", store)
    assert status == 1 and "no job 12345" in err

    status, out, err = cli(capsys, "queue", "run", "--until-empty", "--interval", "0.2", "--store", store)
    assert status == 0, err
    assert f"job {ids['low']['id']}: started run {ids['low']['run_id']} (low) on local" in out
    assert f"job {ids['low']['id']}: epoch 1/1" in out
    assert f"job {ids['low']['id']}: run {ids['low']['run_id']} finished" in out
    assert out.rstrip().endswith("nothing left to start")

    with Store(store) as s:
        run = s.get_run(ids["low"]["run_id"])
        assert run.status == "finished" and run.tags["host"] == "local" and run.metrics["val/acc"].value > 0.1
        assert run.started is not None and run.started >= ids["low"]["created"]  # it started when dispatched
        assert s.get_run(ids["dropped"]["run_id"]).status == "stopped"
        assert {e.run_name: e.state for e in s.list_queue(None)} == {
            "low": "finished", "high": "cancelled", "dropped": "cancelled"}
    status, out, _ = cli(capsys, "queue", "list", "--store", store)
    assert out.startswith("no jobs in the queue")


def test_a_job_that_could_never_start_is_refused_before_its_run_is_recorded(tmp_path: Path, remote_home: Path,
                                                                            capsys) -> None:
    config = TrainConfig(dataset="digits", epochs=1)
    with Store(tmp_path / "store.db") as s:
        with pytest.raises(UserError, match="cannot queue the run for 'nowhere': host 'nowhere' is not registered"):
            queue_training(s, digits_mlp(), config, host="nowhere")
        with pytest.raises(UserError, match="no remote host is registered"):
            queue_training(s, digits_mlp(), config, host="any")
        with pytest.raises(UserError, match="the job asks for 2 GPUs; this machine has 1 slot"):
            queue_training(s, digits_mlp(), config, gpus=2)
        assert s.list_runs() == []
    with pytest.raises(SystemExit) as stopped:  # argparse refuses it before the command runs
        main(["queue", "priority", "1", "lots", "--store", str(tmp_path / "store.db")])
    assert stopped.value.code == 2 and "must be a whole number" in capsys.readouterr().err
