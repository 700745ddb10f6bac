"""Training on a host over SSH, against the real sshd on 127.0.0.1 (tests/remote/sshd.py). The "host" is this
machine: its NeuralForge Python is the one running the tests, and its work dir is the test's own folder. The
worker runs detached there, and everything reaches the local store through what the host writes."""

from __future__ import annotations

import dataclasses
import sys
import uuid

import numpy as np
import pytest
from safetensors.torch import load_file

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.remote.dispatch import RemoteTrainingProcess, remembered
from neuralforge_desktop.core.remote.hosts import HostRegistry
from neuralforge_desktop.core.store.sqlite_store import Store
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import FinishedEvent, PausedEvent, ResumedEvent, StepEvent
from neuralforge_desktop.core.training.runner import TrainingProcess, prepare_run
from tests.training_graphs import digits_mlp


@pytest.fixture
def gpu_box(ssh_host):
    """The registered host with its NeuralForge Python set (as `hosts bootstrap` would)."""
    return HostRegistry().update(dataclasses.replace(ssh_host, python=sys.executable))


def _steps(store, run_id, name="train/loss_step"):
    return [int(s) for s in store.metric_history(run_id, name).steps]


@pytest.mark.slow
def test_remote_run_survives_dropped_connections_and_equals_the_local_run(gpu_box, sshd, tmp_path):
    """The MNIST CNN trained through SSH: every SSH connection is cut mid-run, the run carries on, and the
    store holds every logged step exactly once, the same weights and accuracy as the same run trained here."""
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="mnist-10k", epochs=2, limit=1200, batch_size=32, log_every=2, seed=3)
    graph = zoo.build("mnist-cnn")
    remote_id, remote_dir = prepare_run(graph, config, store, name="remote")
    process = RemoteTrainingProcess(remote_dir, gpu_box, store=store).start()
    cut = 0
    events = []
    for event in process.events():
        events.append(event)
        if isinstance(event, StepEvent) and cut < 2 and process.link.reconnects == cut:
            sshd.kill_connections()  # the follower's connection dies; the detached worker does not
            cut += 1
    assert process.wait(60) == 0, repr(process.error)
    assert cut == 2 and process.link.reconnects >= 2
    assert isinstance(events[-1], FinishedEvent)
    logged = _steps(store, remote_id)
    total = events[-1].steps
    assert logged == list(range(2, total + 1, 2))  # no gap, no duplicate across the two drops
    run = store.get_run(remote_id)
    assert run.status == "finished" and run.tags["host"] == "local-ssh"
    assert run.cpu_seconds > 0 and run.checksum and run.hostname == "ssh:local-ssh"

    local_id, local_dir = prepare_run(graph, config, store, name="local")
    local = TrainingProcess(local_dir).start()
    local_events = list(local.events())
    assert local.wait() == 0
    local_run = store.get_run(local_id)
    assert local_run.metrics["val/acc"].value == run.metrics["val/acc"].value
    assert _steps(store, local_id) == logged
    remote_weights = load_file(store.artifact_path(remote_id, "model.safetensors"))
    local_weights = load_file(store.artifact_path(local_id, "model.safetensors"))
    assert remote_weights.keys() == local_weights.keys()
    for key in local_weights:
        assert np.array_equal(remote_weights[key].numpy(), local_weights[key].numpy()), key
    assert local_events[-1].best == events[-1].best
    assert (remote_dir / "checkpoints" / "latest.json").exists()  # fetched: export --run and resume work here


def test_pause_resume_stop_and_resume_on_the_host(gpu_box, tmp_path):
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=40, batch_size=16, log_every=1)
    run_id, folder = prepare_run(digits_mlp(), config, store)
    process = RemoteTrainingProcess(folder, gpu_box, store=store).start()
    seen = []
    for event in process.events():
        seen.append(event)
        if isinstance(event, StepEvent) and not any(isinstance(e, PausedEvent) for e in seen):
            process.pause()
        elif isinstance(event, PausedEvent):
            assert store.get_run(run_id).status == "paused"
            process.resume_training()
        elif isinstance(event, ResumedEvent):
            process.stop()
    assert process.wait(60) == 0, (process.error, process.stderr_tail())
    assert seen[-1].kind == "stopped" and store.get_run(run_id).status == "stopped"
    stopped_at = seen[-1].step
    assert remembered(folder)["host"] == "local-ssh"

    # Resumed where it runs: the host's checkpoint, the same store rows continued.
    again = RemoteTrainingProcess(folder, "local-ssh", resume=True, store=store).start()
    again.stop()
    rest = list(again.events())
    assert again.wait(60) == 0, (again.error, again.stderr_tail())
    assert rest[-1].kind == "stopped"
    steps = _steps(store, run_id)
    assert steps == sorted(set(steps)) and steps[-1] >= stopped_at


def test_a_restarted_app_follows_the_run_again_without_duplicates(gpu_box, tmp_path):
    """This machine stops following mid-run (the app closed, the laptop slept); following again later picks up
    from the bytes the store already holds."""
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=6, batch_size=16, log_every=1)
    run_id, folder = prepare_run(digits_mlp(), config, store)
    first = RemoteTrainingProcess(folder, gpu_box, store=store).start()
    for event in first.events():
        if isinstance(event, StepEvent) and event.step >= 20:
            break
    first.close()  # the follower loses its link for good, as when the process that owned it ends
    first.wait(30)
    assert store.get_run(run_id).status == "running"  # owned by the host's worker: not marked crashed here
    assert store.mark_crashed_runs() == []

    second = RemoteTrainingProcess.attach(folder, store=store)
    events = list(second.events())
    assert second.wait(60) == 0, (second.error, second.stderr_tail())
    assert isinstance(events[-1], FinishedEvent)
    assert _steps(store, run_id) == list(range(1, events[-1].steps + 1))
    assert store.get_run(run_id).status == "finished"


def test_shell_metacharacters_in_paths_run_nothing(ssh_host, tmp_path, remote_home):
    """A work dir and a dataset file name carrying `; touch …` and `$(touch …)` reach the host as names."""
    marker = f"pwned-{uuid.uuid4().hex[:8]}"
    workdir = remote_home / f"work; touch {marker}"
    host = HostRegistry().update(dataclasses.replace(ssh_host, python=sys.executable, workdir=str(workdir)))
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = tmp_path / f"x$(touch {marker});y.npz"
    np.savez(data, x=digits.images[:200].astype("float32")[:, None], y=digits.target[:200])
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(digits_mlp(), TrainConfig(dataset=str(data), epochs=1, batch_size=32), store)
    process = RemoteTrainingProcess(folder, host, store=store).start()
    events = list(process.events())
    assert process.wait(60) == 0, process.stderr_tail()
    assert isinstance(events[-1], FinishedEvent)
    assert (workdir / "runs" / run_id / "events.jsonl").exists()
    import pathlib

    planted = [p for root in (pathlib.Path.home(), remote_home, tmp_path, pathlib.Path.cwd())
               for p in root.glob(f"**/{marker}") if p.name == marker]
    assert planted == []


def test_an_unreachable_host_fails_with_the_reason_instead_of_waiting_forever(gpu_box, tmp_path):
    from tests.remote.sshd import free_port

    down = HostRegistry().update(dataclasses.replace(gpu_box, port=free_port()))
    store = Store(tmp_path / "store.db")
    run_id, folder = prepare_run(digits_mlp(), TrainConfig(dataset="digits", epochs=1), store)
    from neuralforge_desktop.core.remote.ssh import Unreachable

    with pytest.raises(Unreachable, match="cannot reach host 'local-ssh'.*tried for 2 s"):
        RemoteTrainingProcess(folder, down, store=store, first_timeout=2.0).start()


@pytest.mark.slow
def test_two_process_data_parallel_run_through_the_host(gpu_box, tmp_path):
    """torchrun with gloo started on the host over SSH: one run in the local store, its world size and per-rank
    throughput, both ranks ending with the same weights (that two ranks follow one process's path is
    tests/training/test_distributed.py's)."""
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=2, batch_size=32, limit=1000, val_fraction=0.2, procs=2, seed=1)
    graph = digits_mlp(dropout=0.0)
    run_id, folder = prepare_run(graph, config, store)
    process = RemoteTrainingProcess(folder, gpu_box, store=store).start()
    events = list(process.events())
    assert process.wait(120) == 0, process.stderr_tail()
    assert isinstance(events[-1], FinishedEvent)
    run = store.get_run(run_id)
    assert run.tags["world_size"] == "2" and run.tags["ranks_agree"].lower() == "true"
    assert run.tags["host"] == "local-ssh"

    assert store.metric_history(run_id, "train/samples_per_s_per_rank").values[-1] > 0


@pytest.mark.slow
def test_one_job_over_two_hosts(gpu_box, sshd, remote_home, tmp_path):
    """`--hosts a,b`: node 0 on the first host, node 1 on the second (both this machine through the sshd, each
    with its own work dir); they meet at the first; one run in the store with a world of two."""
    second = HostRegistry().add(dataclasses.replace(gpu_box, name="second-box",
                                                    workdir=str(remote_home / "second-work")))
    store = Store(tmp_path / "store.db")
    config = TrainConfig(dataset="digits", epochs=1, batch_size=32, limit=1000, val_fraction=0.2, seed=2)
    run_id, folder = prepare_run(digits_mlp(dropout=0.0), config, store)
    process = RemoteTrainingProcess(folder, gpu_box, store=store, extra_hosts=[second.name]).start()
    events = list(process.events())
    assert process.wait(120) == 0, process.stderr_tail()
    assert isinstance(events[-1], FinishedEvent)
    run = store.get_run(run_id)
    assert run.tags["world_size"] == "2" and run.tags["ranks_agree"].lower() == "true"
    assert (remote_home / "second-work" / "runs" / run_id / "worker.log").exists()
    assert remembered(folder)["nodes"][0]["host"] == "second-box"
